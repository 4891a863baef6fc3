//! One bottle env value as the manifest writes it: a prompted secret, a host variable, or
//! a literal. Pure parsing; the values themselves are read only at launch.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EnvValue {
    /// `"?"` or `"?prompt text"`: asked on the terminal at launch, never echoed.
    Prompt { prompt: Option<String> },
    /// `"${HOST_VAR}"`: copied from the host environment at launch.
    Host { var: String },
    /// Anything else: written to the 0600 env-file.
    Literal(String),
}

impl EnvValue {
    /// Parses a manifest value; the error says what is accepted.
    pub fn parse(raw: &str) -> Result<EnvValue, String> {
        if let Some(rest) = raw.strip_prefix('?') {
            let prompt = rest.trim();
            return Ok(EnvValue::Prompt {
                prompt: (!prompt.is_empty()).then(|| prompt.to_string()),
            });
        }
        if let Some(inner) = raw.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
            if !is_env_name(inner) {
                return Err(format!(
                    "`{raw}` names no valid host variable; expected ${{NAME}} with NAME made of letters, digits and _ (not starting with a digit)"
                ));
            }
            return Ok(EnvValue::Host {
                var: inner.to_string(),
            });
        }
        if raw.contains('\n') || raw.contains('\r') || raw.contains('\0') {
            return Err(
                "literal values may not contain a newline or NUL (they would corrupt the env-file); use \"${HOST_VAR}\" or \"?\" for such values".to_string(),
            );
        }
        Ok(EnvValue::Literal(raw.to_string()))
    }
}

/// A POSIX-portable environment variable name.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        assert_eq!(
            EnvValue::parse("?").unwrap(),
            EnvValue::Prompt { prompt: None }
        );
        assert_eq!(
            EnvValue::parse("?GitHub token").unwrap(),
            EnvValue::Prompt {
                prompt: Some("GitHub token".into())
            }
        );
        assert_eq!(
            EnvValue::parse("${HOME}").unwrap(),
            EnvValue::Host { var: "HOME".into() }
        );
        assert_eq!(
            EnvValue::parse("a ${B} c").unwrap(),
            EnvValue::Literal("a ${B} c".into())
        );
        assert!(EnvValue::parse("${1X}").is_err());
        assert!(EnvValue::parse("a\nb").is_err());
        assert!(EnvValue::parse("a\0b").is_err());
    }

    #[test]
    fn env_names() {
        assert!(is_env_name("_A1"));
        assert!(!is_env_name("1A"));
        assert!(!is_env_name("A-B"));
        assert!(!is_env_name(""));
    }
}
