//! `PushPolicy`: the bottle's `git.push`, which refs a git push may update (patterns like
//! `refs/heads/agent/*`) and whether it may delete them. Without it a push is judged only
//! by the allowlist. Validated from the manifest (every error names the JSON path);
//! mitmproxy's addon enforces it on smart-HTTP `git-receive-pack`
//! (nix/mitmproxy/bot_bottle_addon/git_push.py). Pure.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushPolicy {
    /// Ref patterns under `refs/`; `*` matches any run of characters, `/` included (as in
    /// git's refspecs). Tags are refs like any other: pushable only when a pattern under
    /// `refs/tags/` matches.
    pub refs: Vec<String>,
    /// Whether a ref the patterns match may be deleted.
    pub delete: bool,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with \"refs\" and optionally \"delete\""
)]
struct PushSpec {
    refs: Vec<String>,
    #[serde(default)]
    delete: bool,
}

/// Checks the bottle's `git.push` value. An error is `(path under git, message)`.
pub fn from_value(value: &serde_json::Value) -> Result<PushPolicy, (String, String)> {
    if !value.is_object() {
        return Err((
            ".push".into(),
            "expected an object like {\"refs\": [\"refs/heads/agent/*\"], \"delete\": false}"
                .into(),
        ));
    }
    let spec: PushSpec = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            String::new()
        } else {
            format!(".{path}")
        };
        (format!(".push{field}"), e.into_inner().to_string())
    })?;
    for (i, r) in spec.refs.iter().enumerate() {
        check_ref_pattern(r).map_err(|why| (format!(".push.refs[{i}]"), format!("`{r}` {why}")))?;
    }
    Ok(PushPolicy {
        refs: spec.refs,
        delete: spec.delete,
    })
}

/// A ref pattern: under `refs/`, and a ref name git accepts apart from `*`
/// (git check-ref-format).
pub fn check_ref_pattern(r: &str) -> Result<(), String> {
    if !r.starts_with("refs/") || r.len() == "refs/".len() {
        return Err(
            "is not under refs/: name full refs, like refs/heads/agent/* (branches) or refs/tags/v* (tags)"
                .into(),
        );
    }
    let bad_char = r
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || "~^:?[\\".contains(*c));
    if let Some(c) = bad_char {
        return Err(format!(
            "holds {c:?}, which no ref name may hold (only * is a wildcard)"
        ));
    }
    if r.contains("..") || r.contains("@{") || r.contains("//") || r.contains("/.") {
        return Err(
            "is not a ref name git accepts (`..`, `@{`, `//` or a component starting with `.`)"
                .into(),
        );
    }
    if r.ends_with('/') || r.ends_with('.') || r.ends_with(".lock") {
        return Err("is not a ref name git accepts (it ends with /, . or .lock)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_policy_is_refs_and_delete() {
        let p = from_value(&json!({"refs": ["refs/heads/agent/*", "refs/tags/v*"]})).unwrap();
        assert_eq!(p.refs, ["refs/heads/agent/*", "refs/tags/v*"]);
        assert!(!p.delete, "deleting is off unless asked for");
        let p = from_value(&json!({"refs": [], "delete": true})).unwrap();
        assert!(p.refs.is_empty() && p.delete);
    }

    #[test]
    fn every_mistake_names_its_field() {
        for (bad, path, says) in [
            (json!(["refs/heads/*"]), ".push", "expected an object"),
            (
                json!({"refs": ["refs/heads/*"], "tags": true}),
                ".push.tags",
                "unknown field `tags`",
            ),
            (json!({"delete": true}), ".push", "missing field `refs`"),
            (
                json!({"refs": "refs/heads/*"}),
                ".push.refs",
                "expected a sequence",
            ),
            (
                json!({"refs": ["heads/agent/*"]}),
                ".push.refs[0]",
                "not under refs/",
            ),
            (
                json!({"refs": ["refs/"]}),
                ".push.refs[0]",
                "not under refs/",
            ),
            (
                json!({"refs": ["refs/heads/a b"]}),
                ".push.refs[0]",
                "no ref name may hold",
            ),
            (
                json!({"refs": ["refs/heads/../x"]}),
                ".push.refs[0]",
                "git accepts",
            ),
            (
                json!({"refs": ["refs/heads/x.lock"]}),
                ".push.refs[0]",
                "git accepts",
            ),
            (
                json!({"refs": [], "delete": "no"}),
                ".push.delete",
                "expected a boolean",
            ),
        ] {
            let (p, m) = from_value(&bad).unwrap_err();
            assert_eq!(p, path, "{bad}: {m}");
            assert!(m.contains(says), "{bad}: {m}");
        }
    }
}
