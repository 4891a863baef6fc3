//! `EgressRule`: a bottle's per-host method and path rules (`egress.rules`): which methods
//! and which paths (globs) a host on the allowlist is open to. A host no rule names keeps
//! the allowlist's behaviour (every method and path); the rules of a host add up. Validated
//! from the manifest (strictly: every error names the JSON path); mitmproxy's addon
//! enforces them (nix/mitmproxy/bot_bottle_addon/rules.py, which checks the same pattern
//! form again). Pure.

use crate::config::host_pattern;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EgressRule {
    /// A host or `*.domain` pattern covered by the allowlist, lower case.
    pub host: String,
    /// Upper case, each once; `*` = any method. GET also allows HEAD (in the addon).
    pub methods: Vec<String>,
    /// Absolute path globs: `*` inside one segment, a `**` segment any number of them.
    pub paths: Vec<String>,
    /// Paths compared without regard to ASCII case (for hosts whose paths are
    /// case-insensitive; otherwise `/Repos` is a path no rule allows).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ignore_case: bool,
}

/// One rule as written. Parsed from a JSON value the caller has checked is an object
/// (serde would otherwise read a JSON array positionally).
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a rule object with \"host\", \"methods\", \"paths\" and optionally \"ignore_case\""
)]
struct RuleSpec {
    host: String,
    methods: Vec<String>,
    paths: Vec<String>,
    #[serde(default)]
    ignore_case: bool,
}

const HTTP_TOKEN_PUNCT: &str = "!#$%&'*+.^_`|~-";

/// Checks `egress.rules` against the bottle's allowlist. An error is `(path under egress,
/// message)`.
pub fn from_specs(
    specs: &[serde_json::Value],
    allowlist: &[String],
) -> Result<Vec<EgressRule>, (String, String)> {
    let mut rules = Vec::new();
    for (i, value) in specs.iter().enumerate() {
        let at = |field: &str| format!(".rules[{i}]{field}");
        if !value.is_object() {
            return Err((
                at(""),
                format!(
                    "expected a rule object like {{\"host\": \"api.github.com\", \"methods\": [\"GET\"], \"paths\": [\"/**\"]}}, found {}",
                    kind(value)
                ),
            ));
        }
        let spec: RuleSpec = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." {
                String::new()
            } else {
                format!(".{path}")
            };
            (at(&field), e.into_inner().to_string())
        })?;
        rules.push(rule(&spec, allowlist).map_err(|(f, m)| (at(&f), m))?);
    }
    Ok(rules)
}

fn rule(spec: &RuleSpec, allowlist: &[String]) -> Result<EgressRule, (String, String)> {
    let host = host_pattern::normalize(&spec.host).map_err(|m| (".host".to_string(), m))?;
    if !allowlist.iter().any(|a| host_pattern::covers(a, &host)) {
        return Err((
            ".host".into(),
            format!(
                "`{host}` is not on this bottle's allowlist; a rule narrows what an allowed host is open to and allows nothing by itself: add the host to egress.allowlist too"
            ),
        ));
    }
    if spec.methods.is_empty() {
        return Err((
            ".methods".into(),
            "an empty method list would allow nothing; list the methods the host is open to, like [\"GET\"], or [\"*\"] for any".into(),
        ));
    }
    let mut methods: Vec<String> = Vec::new();
    for (j, m) in spec.methods.iter().enumerate() {
        let ok = m == "*"
            || (!m.is_empty()
                && m.chars()
                    .all(|c| c.is_ascii_alphanumeric() || HTTP_TOKEN_PUNCT.contains(c))
                && !m.contains('*'));
        if !ok {
            return Err((
                format!(".methods[{j}]"),
                format!("`{m}` is not an HTTP method; use a name like GET or POST, or * for any"),
            ));
        }
        let upper = m.to_ascii_uppercase();
        if !methods.contains(&upper) {
            methods.push(upper);
        }
    }
    if spec.paths.is_empty() {
        return Err((
            ".paths".into(),
            "an empty path list would allow nothing; list path globs like \"/repos/acme/**\", or \"/**\" for every path".into(),
        ));
    }
    for (j, p) in spec.paths.iter().enumerate() {
        if let Err(why) = check_path_pattern(p) {
            return Err((format!(".paths[{j}]"), format!("`{p}` {why}")));
        }
    }
    Ok(EgressRule {
        host,
        methods,
        paths: spec.paths.clone(),
        ignore_case: spec.ignore_case,
    })
}

/// A path pattern in the form the addon judges paths in (rules.py `path_pattern_error`):
/// absolute, no query, no encoding, no empty or dot segments, no trailing `/`.
pub fn check_path_pattern(p: &str) -> Result<(), String> {
    if !p.starts_with('/') {
        return Err(
            "is not an absolute path: a path pattern starts with /, like /repos/acme/**".into(),
        );
    }
    if p.contains(['?', '#', '%', '\\']) || p.chars().any(|c| c.is_control()) {
        return Err("must be a plain path: no query, fragment, percent-encoding, backslash or control character (paths are judged decoded)".into());
    }
    if p == "/" {
        return Ok(());
    }
    if p.ends_with('/') {
        return Err("ends with / (a trailing / is ignored when judging); use /** for everything under a path".into());
    }
    for segment in p.split('/').skip(1) {
        if segment.is_empty() {
            return Err("holds // (empty segments are dropped when judging)".into());
        }
        let head = segment.split(';').next().unwrap_or(segment);
        if head == "." || head == ".." {
            return Err("holds a . or .. segment (dot segments are resolved when judging)".into());
        }
        if segment.contains("**") && segment != "**" {
            return Err(
                "uses ** inside a segment; ** must be a whole segment (/a/**/b), * matches inside one"
                    .into(),
            );
        }
    }
    Ok(())
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The rules as lines for `bottle info`: one per rule, `host  METHODS  paths`.
pub fn describe(rules: &[EgressRule]) -> Vec<String> {
    rules
        .iter()
        .map(|r| {
            format!(
                "{}  {}  {}{}",
                r.host,
                r.methods.join(","),
                r.paths.join(" "),
                if r.ignore_case { "  (any case)" } else { "" }
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn allowlist() -> Vec<String> {
        vec!["api.github.com".into(), "*.example.com".into()]
    }

    fn check(rules: serde_json::Value) -> Result<Vec<EgressRule>, (String, String)> {
        from_specs(rules.as_array().unwrap(), &allowlist())
    }

    #[test]
    fn a_rule_is_normalised() {
        let rules = check(json!([
            {"host": "API.GitHub.com", "methods": ["get", "GET", "head"], "paths": ["/repos/acme/**"]},
            {"host": "docs.example.com", "methods": ["*"], "paths": ["/", "/a/*/b"], "ignore_case": true}
        ]))
        .unwrap();
        assert_eq!(rules[0].host, "api.github.com");
        assert_eq!(rules[0].methods, ["GET", "HEAD"]);
        assert!(!rules[0].ignore_case);
        assert_eq!(rules[1].methods, ["*"]);
        assert!(rules[1].ignore_case);
    }

    #[test]
    fn every_mistake_names_its_field() {
        for (bad, path, says) in [
            (json!(["x"]), ".rules[0]", "expected a rule object"),
            (json!([[1]]), ".rules[0]", "found an array"),
            (
                json!([{"host": "api.github.com", "methods": ["GET"], "paths": ["/"], "verbs": []}]),
                ".rules[0].verbs",
                "unknown field `verbs`",
            ),
            (
                json!([{"host": "api.github.com", "paths": ["/"]}]),
                ".rules[0]",
                "missing field `methods`",
            ),
            (
                json!([{"host": "other.org", "methods": ["GET"], "paths": ["/"]}]),
                ".rules[0].host",
                "not on this bottle's allowlist",
            ),
            (
                json!([{"host": "*.github.com", "methods": ["GET"], "paths": ["/"]}]),
                ".rules[0].host",
                "not on this bottle's allowlist",
            ),
            (
                json!([{"host": "api.github.com", "methods": [], "paths": ["/"]}]),
                ".rules[0].methods",
                "empty method list",
            ),
            (
                json!([{"host": "api.github.com", "methods": ["GET POST"], "paths": ["/"]}]),
                ".rules[0].methods[0]",
                "not an HTTP method",
            ),
            (
                json!([{"host": "api.github.com", "methods": ["GET"], "paths": []}]),
                ".rules[0].paths",
                "empty path list",
            ),
            (
                json!([{"host": "api.github.com", "methods": ["GET"], "paths": ["repos/**"]}]),
                ".rules[0].paths[0]",
                "not an absolute path",
            ),
            (
                json!([{"host": "api.github.com", "methods": ["GET"], "paths": ["/a/../b"]}]),
                ".rules[0].paths[0]",
                "dot segments",
            ),
            (
                json!([{"host": "api.github.com", "methods": ["GET"], "paths": ["/a%2Fb"]}]),
                ".rules[0].paths[0]",
                "percent-encoding",
            ),
            (
                json!([{"host": "api.github.com", "methods": ["GET"], "paths": ["/a//b"]}]),
                ".rules[0].paths[0]",
                "//",
            ),
            (
                json!([{"host": "api.github.com", "methods": ["GET"], "paths": ["/a/"]}]),
                ".rules[0].paths[0]",
                "ends with /",
            ),
            (
                json!([{"host": "api.github.com", "methods": ["GET"], "paths": ["/a**"]}]),
                ".rules[0].paths[0]",
                "whole segment",
            ),
            (
                json!([{"host": "api.github.com", "methods": ["GET"], "paths": ["/"], "ignore_case": "yes"}]),
                ".rules[0].ignore_case",
                "expected a boolean",
            ),
        ] {
            let (p, m) = check(bad.clone()).unwrap_err();
            assert_eq!(p, path, "{bad}: {m}");
            assert!(m.contains(says), "{bad}: {m}");
        }
    }
}
