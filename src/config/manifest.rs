//! The manifest file format (`bot-bottle.json`) as serde types, and parsing one file's text
//! into them with errors that name the JSON path. Pure: reading files is `manifest_files`.

use serde::Deserialize;
use std::collections::BTreeMap;

/// One manifest file, exactly as written. Unknown fields are errors, so a typo cannot
/// silently drop a setting.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a JSON object with \"bottles\" and/or \"agents\""
)]
pub struct Manifest {
    #[serde(default)]
    pub bottles: BTreeMap<String, BottleSpec>,
    #[serde(default)]
    pub agents: BTreeMap<String, AgentSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a bottle object with \"env\", \"credentials\", \"egress\", \"resources\", \"git\", \"model\" or \"runtime\""
)]
pub struct BottleSpec {
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub credentials: BTreeMap<String, CredentialSpec>,
    #[serde(default)]
    pub egress: EgressSpec,
    #[serde(default)]
    pub resources: ResourcesSpec,
    #[serde(default)]
    pub git: Option<GitSpec>,
    #[serde(default)]
    pub runtime: Option<Runtime>,
    /// What the model provider's servers may do for the agent; checked by `model_policy`.
    #[serde(default)]
    pub model: Option<serde_json::Value>,
    /// Accepted by the parser only so validation can point to git credentials instead.
    #[serde(default)]
    pub ssh: Option<serde_json::Value>,
}

/// A credential the agent never holds: `value` is `?prompt` or `${HOST_VAR}`; mitmproxy
/// puts it into `header` (with `scheme`) on requests to `hosts` only.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a credential object with \"value\", \"hosts\", \"header\", \"scheme\" or \"username\""
)]
pub struct CredentialSpec {
    pub value: String,
    pub hosts: Vec<String>,
    #[serde(default)]
    pub header: Option<String>,
    #[serde(default)]
    pub scheme: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

/// Numbers are kept as JSON values so validation can name the path and say what is
/// wrong (zero, negative, a fraction, a string) instead of serde's type message.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with \"allowlist\", \"private_hosts\", \"rules\", \"requests_per_minute\", \"max_request_mb\", \"max_response_mb\" or \"request_timeout_seconds\""
)]
pub struct EgressSpec {
    #[serde(default)]
    pub allowlist: Vec<String>,
    #[serde(default)]
    pub private_hosts: Vec<String>,
    /// Per-host method and path rules; checked by `egress_rules` (each must be an object).
    #[serde(default)]
    pub rules: Vec<serde_json::Value>,
    #[serde(default)]
    pub requests_per_minute: Option<serde_json::Value>,
    #[serde(default)]
    pub max_request_mb: Option<serde_json::Value>,
    #[serde(default)]
    pub max_response_mb: Option<serde_json::Value>,
    #[serde(default)]
    pub request_timeout_seconds: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with \"memory_mb\", \"cpus\" or \"pids\""
)]
pub struct ResourcesSpec {
    #[serde(default)]
    pub memory_mb: Option<serde_json::Value>,
    #[serde(default)]
    pub cpus: Option<serde_json::Value>,
    #[serde(default)]
    pub pids: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with \"name\", \"email\" or \"push\""
)]
pub struct GitSpec {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// The push policy; checked by `git_push`.
    #[serde(default)]
    pub push: Option<serde_json::Value>,
}

/// The OCI runtime of the agent container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    /// Docker's default runtime.
    #[default]
    Runc,
    /// gVisor: a user-space kernel between the agent and the host.
    Runsc,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an agent object with \"bottle\", \"prompt\", \"skills\", \"command\", \"ports\" or \"claude_code\""
)]
pub struct AgentSpec {
    #[serde(default)]
    pub bottle: Option<String>,
    #[serde(default)]
    pub prompt: Option<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Ports to open on the host's loopback; checked by `published_port`.
    #[serde(default)]
    pub ports: Vec<serde_json::Value>,
    #[serde(default)]
    pub claude_code: Option<ClaudeCodeSpec>,
}

/// An agent's `claude_code` object: `enabled` overrides the detection by command, and
/// each other field, `true`, keeps one of Claude Code's habits a bottle turns off
/// (`config::claude_code::HABITS`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with \"enabled\", \"auto_updates\", \"telemetry\", \"error_reporting\", \"feedback_survey\" or \"official_marketplace\""
)]
pub struct ClaudeCodeSpec {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub auto_updates: Option<bool>,
    #[serde(default)]
    pub telemetry: Option<bool>,
    #[serde(default)]
    pub error_reporting: Option<bool>,
    #[serde(default)]
    pub feedback_survey: Option<bool>,
    #[serde(default)]
    pub official_marketplace: Option<bool>,
}

impl ClaudeCodeSpec {
    /// A habit's field by its name (`config::claude_code::HABITS`).
    pub fn habit(&self, field: &str) -> Option<bool> {
        match field {
            "auto_updates" => self.auto_updates,
            "telemetry" => self.telemetry,
            "error_reporting" => self.error_reporting,
            "feedback_survey" => self.feedback_survey,
            "official_marketplace" => self.official_marketplace,
            _ => None,
        }
    }
}

pub use crate::error::ManifestError;

impl Manifest {
    /// Parses one file's text. `file` only labels errors.
    pub fn parse(file: &str, text: &str) -> Result<Manifest, ManifestError> {
        let fail = |path: String, message: String| ManifestError {
            file: file.to_string(),
            path,
            message,
        };
        // Syntax first (line and column), then shape: serde's derived structs would also
        // accept a JSON array, so every object position is checked before typing.
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| fail(String::new(), format!("invalid JSON: {e}")))?;
        check_objects(&value)
            .map_err(|(path, what, found)| fail(path, format!("expected {what}, found {found}")))?;
        let de = &mut serde_json::Deserializer::from_str(text);
        let manifest = serde_path_to_error::deserialize(de).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            let message = if inner.is_syntax() || inner.is_eof() {
                format!("invalid JSON: {inner}")
            } else {
                inner.to_string()
            };
            ManifestError {
                file: file.to_string(),
                path: if path == "." { String::new() } else { path },
                message,
            }
        })?;
        Ok(manifest)
    }
}

/// The positions that must be JSON objects, and what each one is.
fn check_objects(root: &serde_json::Value) -> Result<(), (String, &'static str, &'static str)> {
    use serde_json::Value;
    let Value::Object(top) = root else {
        return Err((
            String::new(),
            "a JSON object with \"bottles\" and/or \"agents\"",
            json_kind(root),
        ));
    };
    for (section, what) in [
        ("bottles", "a bottle object"),
        ("agents", "an agent object"),
    ] {
        match top.get(section) {
            None | Some(Value::Null) => {}
            Some(Value::Object(entries)) => {
                for (name, entry) in entries {
                    if !entry.is_object() {
                        return Err((format!("{section}.{name}"), what, json_kind(entry)));
                    }
                    if section == "bottles" {
                        check_bottle_objects(name, entry)?;
                    } else if let Some(cc) = entry.get("claude_code")
                        && !cc.is_object()
                        && !cc.is_null()
                    {
                        return Err((
                            format!("agents.{name}.claude_code"),
                            "an object with \"enabled\" or the Claude Code habits to keep (\"telemetry\": true, …)",
                            json_kind(cc),
                        ));
                    }
                }
            }
            Some(other) => {
                return Err((
                    section.to_string(),
                    "an object of named entries",
                    json_kind(other),
                ));
            }
        }
    }
    Ok(())
}

/// The object positions inside one bottle: egress, resources, git, credentials and each
/// credential.
fn check_bottle_objects(
    name: &str,
    bottle: &serde_json::Value,
) -> Result<(), (String, &'static str, &'static str)> {
    use serde_json::Value;
    let object_at = |field: &str, what: &'static str| match bottle.get(field) {
        None | Some(Value::Null) | Some(Value::Object(_)) => Ok(()),
        Some(other) => Err((format!("bottles.{name}.{field}"), what, json_kind(other))),
    };
    object_at("egress", "an object with \"allowlist\"")?;
    object_at(
        "resources",
        "an object with \"memory_mb\", \"cpus\" or \"pids\"",
    )?;
    object_at("git", "an object with \"name\" and \"email\"")?;
    object_at("credentials", "an object of named credentials")?;
    if let Some(Value::Object(credentials)) = bottle.get("credentials") {
        for (cred, spec) in credentials {
            if !spec.is_object() {
                return Err((
                    format!("bottles.{name}.credentials.{cred}"),
                    "a credential object with \"value\" and \"hosts\"",
                    json_kind(spec),
                ));
            }
        }
    }
    Ok(())
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_path() {
        let err = Manifest::parse(
            "m.json",
            r#"{"bottles":{"dev":{"egress":{"allowlist":["a", 3]}}}}"#,
        )
        .unwrap_err();
        assert_eq!(err.path, "bottles.dev.egress.allowlist[1]");
        assert!(err.message.contains("expected a string"), "{}", err.message);
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let err = Manifest::parse("m.json", "{\n  \"agents\": {,}\n}").unwrap_err();
        assert!(err.message.contains("line 2 column"), "{}", err.message);
    }
}
