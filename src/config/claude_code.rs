//! `ClaudeCode`: an agent's `claude_code` settings, validated: whether bottle treats the
//! agent as Claude Code (pre-answers its first-run questions and applies the bottle's
//! defaults), and which of Claude Code's start-up habits the bottle turns off. Also how an
//! agent is recognised as Claude Code from its command. Pure.

use crate::config::manifest::ClaudeCodeSpec;
use serde::Serialize;

/// Something Claude Code does by default that a bottle turns off, unless the manifest
/// sets its field to `true`: the manifest field, and the environment variable (in the
/// `env` of `~/.claude/settings.json`) that turns it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Habit {
    pub field: &'static str,
    pub env: &'static str,
    /// Why a bottle does without it, for `bottle info`.
    pub what: &'static str,
}

/// In the order `bottle info`, the plan and the README list them. Each was checked with
/// Claude Code 2.1.332 against the requests it made at start (README, "Claude Code in a
/// bottle").
pub const HABITS: &[Habit] = &[
    Habit {
        field: "auto_updates",
        env: "DISABLE_AUTOUPDATER",
        what: "auto-update (the image pins the CLI)",
    },
    Habit {
        field: "telemetry",
        env: "DISABLE_TELEMETRY",
        what: "telemetry and feature-flag requests",
    },
    Habit {
        field: "error_reporting",
        env: "DISABLE_ERROR_REPORTING",
        what: "error reports (Sentry)",
    },
    Habit {
        field: "feedback_survey",
        env: "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY",
        what: "the session-quality survey",
    },
    Habit {
        field: "official_marketplace",
        env: "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL",
        what: "the plugin marketplace's install at first start (a git clone from github.com)",
    },
];

/// The program names that are Claude Code.
const PROGRAMS: &[&str] = &["claude"];

/// Command-line words that start Claude Code in (or allow) bypass-permissions mode, which
/// asks for an acknowledgement once.
const BYPASS_FLAGS: &[&str] = &[
    "--dangerously-skip-permissions",
    "--allow-dangerously-skip-permissions",
    "--permission-mode=bypassPermissions",
];

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClaudeCode {
    /// `None`: decided by the command (its program is `claude`).
    pub enabled: Option<bool>,
    /// The [`HABITS`] the manifest keeps on (`true`), by field name.
    pub kept: Vec<&'static str>,
}

impl ClaudeCode {
    /// Checks an agent's `claude_code` object. An error is `(path under claude_code,
    /// message)`.
    pub fn from_spec(spec: &ClaudeCodeSpec) -> Result<ClaudeCode, (String, String)> {
        let mut kept = Vec::new();
        for habit in HABITS {
            let Some(on) = spec.habit(habit.field) else {
                continue;
            };
            if spec.enabled == Some(false) {
                return Err((
                    format!(".{}", habit.field),
                    "has no effect with \"enabled\": false (bottle then leaves Claude Code's files alone); remove one of the two".into(),
                ));
            }
            if on {
                kept.push(habit.field);
            }
        }
        Ok(ClaudeCode {
            enabled: spec.enabled,
            kept,
        })
    }

    /// Whether `command` (what runs at attach) is Claude Code: `enabled` when the manifest
    /// says, else whether its program is `claude` (any directory).
    pub fn applies_to(&self, command: &[String]) -> bool {
        self.enabled.unwrap_or_else(|| is_claude_program(command))
    }

    /// The habits the bottle turns off.
    pub fn turned_off(&self) -> impl Iterator<Item = &'static Habit> + '_ {
        HABITS.iter().filter(|h| !self.kept.contains(&h.field))
    }
}

/// The command's program is Claude Code (`claude`, `/usr/local/bin/claude`).
pub fn is_claude_program(command: &[String]) -> bool {
    command
        .first()
        .and_then(|p| p.rsplit('/').next())
        .is_some_and(|name| PROGRAMS.contains(&name))
}

/// The command runs Claude Code in (or allowing) bypass-permissions mode: one of its
/// words, in any argument (so `sh -c "claude --dangerously-skip-permissions"` counts), is
/// such a flag, or `--permission-mode` is followed by `bypassPermissions`.
pub fn asks_bypass_permissions(command: &[String]) -> bool {
    let words: Vec<&str> = command.iter().flat_map(|a| a.split_whitespace()).collect();
    words.iter().enumerate().any(|(i, w)| {
        BYPASS_FLAGS.contains(w)
            || (*w == "--permission-mode" && words.get(i + 1) == Some(&"bypassPermissions"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn claude_is_recognised_by_its_program_name() {
        assert!(is_claude_program(&cmd(&["claude"])));
        assert!(is_claude_program(&cmd(&[
            "/usr/local/bin/claude",
            "-p",
            "x"
        ])));
        assert!(!is_claude_program(&cmd(&["bash"])));
        assert!(!is_claude_program(&cmd(&["sh", "-c", "claude"])));
        assert!(!is_claude_program(&cmd(&["claude-wrapper"])));
        assert!(!is_claude_program(&[]));
    }

    #[test]
    fn the_manifest_decides_over_the_command() {
        let on = ClaudeCode {
            enabled: Some(true),
            kept: vec![],
        };
        let off = ClaudeCode {
            enabled: Some(false),
            kept: vec![],
        };
        assert!(on.applies_to(&cmd(&["sh", "-c", "exec claude"])));
        assert!(!off.applies_to(&cmd(&["claude"])));
        assert!(ClaudeCode::default().applies_to(&cmd(&["claude"])));
    }

    #[test]
    fn bypass_mode_is_found_in_any_argument() {
        for yes in [
            &["claude", "--dangerously-skip-permissions"][..],
            &["sh", "-c", "cd x && claude --dangerously-skip-permissions"],
            &["claude", "--allow-dangerously-skip-permissions"],
            &["claude", "--permission-mode", "bypassPermissions"],
            &["claude", "--permission-mode=bypassPermissions"],
        ] {
            assert!(asks_bypass_permissions(&cmd(yes)), "{yes:?}");
        }
        for no in [
            &["claude"][..],
            &["claude", "--permission-mode", "acceptEdits"],
            &["claude", "-p", "--dangerously-skip-permissions-not"],
        ] {
            assert!(!asks_bypass_permissions(&cmd(no)), "{no:?}");
        }
    }

    #[test]
    fn every_habit_has_its_manifest_field() {
        let all: ClaudeCodeSpec = serde_json::from_value(serde_json::Value::Object(
            HABITS
                .iter()
                .map(|h| (h.field.to_string(), serde_json::Value::Bool(true)))
                .collect(),
        ))
        .expect("every habit is a field of ClaudeCodeSpec");
        for habit in HABITS {
            assert_eq!(all.habit(habit.field), Some(true), "{}", habit.field);
        }
    }

    #[test]
    fn habits_set_while_disabled_are_an_error() {
        let spec = ClaudeCodeSpec {
            enabled: Some(false),
            telemetry: Some(true),
            ..ClaudeCodeSpec::default()
        };
        let (path, _) = ClaudeCode::from_spec(&spec).unwrap_err();
        assert_eq!(path, ".telemetry");
        let spec = ClaudeCodeSpec {
            telemetry: Some(true),
            auto_updates: Some(false),
            ..ClaudeCodeSpec::default()
        };
        let cc = ClaudeCode::from_spec(&spec).unwrap();
        assert_eq!(cc.kept, ["telemetry"]);
        let off: Vec<&str> = cc.turned_off().map(|h| h.env).collect();
        assert!(!off.contains(&"DISABLE_TELEMETRY"));
        assert!(off.contains(&"DISABLE_AUTOUPDATER"));
    }
}
