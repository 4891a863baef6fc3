//! A small JSON Schema (2020-12) checker for the keywords our documented schemas use:
//! `type`, `const`, `enum`, `required`, `properties`, `additionalProperties` (boolean),
//! `items`, `minimum`, `$ref` to `#/$defs/…`; `$schema`, `$id`, `$defs`, `title` and
//! `description` are annotations. Any other keyword is an error, so a schema can never
//! use one that would silently go unchecked.

use serde_json::Value;

/// Every way `value` breaks `schema` (empty when it conforms), as `path: problem`.
pub fn check(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    walk(schema, schema, value, "$", &mut errors);
    errors
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn walk(root: &Value, schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else {
        errors.push(format!("{path}: the schema here is not an object"));
        return;
    };
    for (key, rule) in schema {
        match key.as_str() {
            "$schema" | "$id" | "$defs" | "title" | "description" => {}
            "$ref" => {
                let name = rule
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/$defs/"))
                    .unwrap_or_else(|| panic!("{path}: unsupported $ref {rule}"));
                walk(root, &root["$defs"][name], value, path, errors);
            }
            "type" => {
                let allowed: Vec<&str> = match rule {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => panic!("{path}: bad type rule {rule}"),
                };
                let actual = type_name(value);
                let ok = allowed.contains(&actual)
                    || (actual == "integer" && allowed.contains(&"number"));
                if !ok {
                    errors.push(format!("{path}: is {actual}, expected {allowed:?}"));
                }
            }
            "const" => {
                if value != rule {
                    errors.push(format!("{path}: is {value}, expected {rule}"));
                }
            }
            "enum" => {
                if !rule.as_array().unwrap().contains(value) {
                    errors.push(format!("{path}: {value} is not one of {rule}"));
                }
            }
            "minimum" => {
                if let (Some(v), Some(m)) = (value.as_f64(), rule.as_f64())
                    && v < m
                {
                    errors.push(format!("{path}: {v} is below the minimum {m}"));
                }
            }
            "required" => {
                if let Some(obj) = value.as_object() {
                    for name in rule.as_array().unwrap().iter().filter_map(Value::as_str) {
                        if !obj.contains_key(name) {
                            errors.push(format!("{path}: `{name}` is missing"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(obj) = value.as_object() {
                    for (name, sub) in rule.as_object().unwrap() {
                        if let Some(v) = obj.get(name) {
                            walk(root, sub, v, &format!("{path}.{name}"), errors);
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(obj) = value.as_object() {
                    let known = schema.get("properties").and_then(Value::as_object);
                    for (name, v) in obj {
                        if known.is_some_and(|k| k.contains_key(name)) {
                            continue;
                        }
                        match rule {
                            // A map's values: each checked against the schema given.
                            Value::Object(_) => {
                                walk(root, rule, v, &format!("{path}.{name}"), errors)
                            }
                            Value::Bool(false) => {
                                errors.push(format!("{path}: `{name}` is not in the schema"))
                            }
                            _ => panic!("{path}: additionalProperties must be false or a schema"),
                        }
                    }
                }
            }
            "items" => {
                if let Some(items) = value.as_array() {
                    for (i, v) in items.iter().enumerate() {
                        walk(root, rule, v, &format!("{path}[{i}]"), errors);
                    }
                }
            }
            other => panic!("{path}: the schema uses `{other}`, which this checker does not know"),
        }
    }
}
