//! Merging a JSON patch into a JSON file's text, the way bottle provisions a file the
//! agent's image may already have (Claude Code's `~/.claude.json`): objects key by key,
//! arrays extended by the patch's elements they lack, any other value replaced; every key
//! the patch does not name is kept as it was, in its place. Pure.

use serde_json::Value;

/// The file's new text: `existing` (empty or blank: no file yet) with `patch` merged in,
/// pretty-printed with a final newline. `Err` says why `existing` cannot be merged into
/// (not JSON, or not a JSON object).
pub fn merge_text(existing: &str, patch: &Value) -> Result<String, String> {
    let mut value = if existing.trim().is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_str(existing).map_err(|e| format!("it is not JSON ({e})"))?
    };
    if !value.is_object() {
        return Err("it is JSON but not an object".into());
    }
    merge(&mut value, patch);
    let mut text = serde_json::to_string_pretty(&value).expect("JSON values serialize");
    text.push('\n');
    Ok(text)
}

/// Merges `patch` into `into` (see the module's doc).
pub fn merge(into: &mut Value, patch: &Value) {
    match (into, patch) {
        (Value::Object(into), Value::Object(patch)) => {
            for (key, value) in patch {
                match into.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        into.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(into), Value::Array(patch)) => {
            for item in patch {
                if !into.contains(item) {
                    into.push(item.clone());
                }
            }
        }
        (into, patch) => *into = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_the_patch_does_not_name_stays_as_it_was() {
        let existing = r#"{
  "numStartups": 7,
  "customApiKeyResponses": {"approved": ["abcdefghij0123456789"], "rejected": ["x"]},
  "projects": {"/srv/other": {"hasTrustDialogAccepted": false, "allowedTools": ["Bash"]}},
  "hasCompletedOnboarding": false
}"#;
        let patch = json!({
            "hasCompletedOnboarding": true,
            "customApiKeyResponses": {"approved": ["er-ANTHROPIC_API_KEY"], "rejected": []},
            "projects": {"/home/agent/work": {"hasTrustDialogAccepted": true}}
        });
        let merged: Value = serde_json::from_str(&merge_text(existing, &patch).unwrap()).unwrap();
        assert_eq!(
            merged,
            json!({
                "numStartups": 7,
                "customApiKeyResponses": {
                    "approved": ["abcdefghij0123456789", "er-ANTHROPIC_API_KEY"],
                    "rejected": ["x"]
                },
                "projects": {
                    "/srv/other": {"hasTrustDialogAccepted": false, "allowedTools": ["Bash"]},
                    "/home/agent/work": {"hasTrustDialogAccepted": true}
                },
                "hasCompletedOnboarding": true
            })
        );
        // In place: the file's own order is kept, new keys come last.
        let text = merge_text(existing, &patch).unwrap();
        assert!(text.find("numStartups") < text.find("hasCompletedOnboarding"));
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn merging_twice_changes_nothing_more() {
        let patch = json!({"env": {"DISABLE_TELEMETRY": "1"}, "list": ["a"]});
        let once = merge_text("", &patch).unwrap();
        assert_eq!(merge_text(&once, &patch).unwrap(), once);
    }

    #[test]
    fn no_file_is_an_empty_object_and_a_non_object_is_refused() {
        assert_eq!(
            merge_text("  \n", &json!({"a": 1})).unwrap(),
            "{\n  \"a\": 1\n}\n"
        );
        assert!(
            merge_text("[1]", &json!({}))
                .unwrap_err()
                .contains("not an object")
        );
        assert!(
            merge_text("{", &json!({}))
                .unwrap_err()
                .contains("not JSON")
        );
    }

    #[test]
    fn a_patch_value_replaces_a_value_of_another_kind() {
        let merged = merge_text(
            r#"{"env": "oops", "n": [1]}"#,
            &json!({"env": {"A": "1"}, "n": 2}),
        )
        .unwrap();
        let merged: Value = serde_json::from_str(&merged).unwrap();
        assert_eq!(merged, json!({"env": {"A": "1"}, "n": 2}));
    }
}
