//! The "Environment Variable Secret" DLP pattern both pipelocks run with: pipelock's
//! default one (v2.3.0, internal/config/defaults.go:196), except that a value starting with
//! bot-bottle's credential placeholder (`bot-bottle-placeholder-…`) does not match, so the
//! agent's own `ANTHROPIC_API_KEY=bot-bottle-placeholder-…` line in `env` output is no
//! reason to refuse a request. A user pattern of the same name replaces the default one
//! (normalize.go mergeDLPPatterns). RE2 has no lookahead, so "not starting with the
//! placeholder" is spelled as alternatives: the value departs from the placeholder's
//! prefix at some character, or it is a shorter part of that prefix and ends there.
//! Checked with Go's regexp (docs/pipelock.md). Pure.

/// pipelock's name of the pattern: the override replaces the default by this name.
pub const NAME: &str = "Environment Variable Secret";
/// The default pattern's variable-name part, as pipelock writes it (`(?-i:…)`: the name is
/// matched case-sensitively, the rest case-insensitively: pipelock prefixes `(?i)`).
const NAME_PART: &str = r"(?-i:[A-Z][A-Z0-9]*[_-](?:SECRET(?:[_-]ACCESS)?[_-]?KEY|SECRET|PASSWORD|PASSWD|TOKEN|API[_-]?KEY))\b\s*=\s*";
/// The default's shortest value: `\S{8,}`.
const MIN_VALUE: usize = 8;
/// What every placeholder starts with (`Credential::placeholder`).
pub const PLACEHOLDER_PREFIX: &str = "bot-bottle-placeholder-";

/// The regex: the default one's name part, then a value of at least 8 non-space characters
/// that does not start with [`PLACEHOLDER_PREFIX`] (compared case-insensitively, like the
/// rest of the value).
pub fn regex() -> String {
    let p: Vec<char> = PLACEHOLDER_PREFIX.chars().collect();
    let mut alternatives = Vec::new();
    // The value follows the prefix for k characters, then differs from it.
    for k in 0..p.len() {
        let rest = MIN_VALUE.saturating_sub(k + 1);
        let tail = if rest == 0 {
            r"\S*".to_string()
        } else {
            format!(r"\S{{{rest},}}")
        };
        alternatives.push(format!(
            "{}[^\\s{}]{tail}",
            literal(&p[..k]),
            class_char(p[k])
        ));
    }
    // The value is a part of the prefix, at least 8 characters, and ends there.
    for k in MIN_VALUE..p.len() {
        alternatives.push(format!(r"{}(?:\s|$)", literal(&p[..k])));
    }
    format!("{NAME_PART}(?:{})", alternatives.join("|"))
}

fn literal(chars: &[char]) -> String {
    chars
        .iter()
        .map(|c| {
            if c.is_ascii_alphanumeric() || *c == '-' || *c == '_' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

fn class_char(c: char) -> String {
    if c == '-' {
        "\\-".into()
    } else {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_is_the_default_one_with_the_placeholder_left_out() {
        let r = regex();
        assert!(r.starts_with(NAME_PART));
        // One alternative per character of the prefix, one per shorter part of 8 or more.
        let body = &r[NAME_PART.len()..];
        assert_eq!(
            body.matches('|').count() + 1 - body.matches(r"(?:\s|$)").count(),
            PLACEHOLDER_PREFIX.len() + (PLACEHOLDER_PREFIX.len() - MIN_VALUE)
        );
        assert!(
            body.starts_with(r"(?:[^\sb]\S{7,}|b[^\so]\S{6,}|"),
            "{body}"
        );
        assert!(body.contains(r"bot-bot[^\st]\S*|"), "{body}");
        assert!(body.ends_with(r"bot-bottle-placeholder(?:\s|$))"), "{body}");
    }
}
