//! Claude Code's per-user state in the agent's home, for a launch whose command is Claude
//! Code (`config::claude_code` decides), so that its first screen is the prompt:
//! `~/.claude.json` gets the first-run answers (onboarding done, the model key's
//! placeholder approved, the work directory trusted) and `~/.claude/settings.json` the
//! bypass-permissions acknowledgement (when the command asks for that mode) and, in its
//! `env`, the switches of the habits a bottle does without. Both are merged into what the
//! image already has (`plan::json_merge`). Nothing written holds a secret: the key is
//! approved by the placeholder's last characters. Pure.

use crate::config::catalog::Agent;
use crate::config::claude_code::asks_bypass_permissions;
use crate::config::credential::Credential;
use crate::image::contract::ImageContract;
use crate::plan::docker_command::Stdin;
use crate::plan::planner::agent_exec::exec;
use crate::plan::step::{Action, Step};
use serde_json::{Map, Value, json};

/// Claude Code remembers an approved `ANTHROPIC_API_KEY` by this many last characters of
/// the (trimmed) key (2.1.332: `customApiKeyResponses.approved`).
pub const APPROVED_KEY_CHARS: usize = 20;

/// The variable Claude Code asks about ("Detected a custom API key").
const API_KEY: &str = "ANTHROPIC_API_KEY";

/// The steps for `command` (what runs at attach); none when it is not Claude Code.
pub(crate) fn claude_code(
    agent: &Agent,
    command: &[String],
    credentials: &[Credential],
) -> Vec<Step> {
    if !agent.claude_code.applies_to(command) {
        return Vec::new();
    }
    let c = &ImageContract::get().agent;
    let mut steps = vec![merge_step(
        &format!("{}/.claude.json", c.home),
        "first-run answers",
        state_patch(&c.workdir, credentials),
        // Claude Code keeps this file private (it may hold an account's details).
        "umask 077",
    )];
    let settings = settings_patch(agent, command);
    if settings.as_object().is_some_and(|o| !o.is_empty()) {
        steps.push(merge_step(
            &format!("{}/.claude/settings.json", c.home),
            "settings",
            settings,
            &format!("mkdir -p {}/.claude", c.home),
        ));
    }
    steps
}

/// `~/.claude.json`: onboarding done (the text-style picker, the security notes and the
/// connectivity check before them), the key's placeholder approved, the work directory
/// trusted.
pub(crate) fn state_patch(workdir: &str, credentials: &[Credential]) -> Value {
    let mut patch = json!({ "hasCompletedOnboarding": true });
    if let Some(key) = credentials.iter().find(|c| c.name == API_KEY) {
        patch["customApiKeyResponses"] = json!({
            "approved": [approved_suffix(&key.placeholder())],
            "rejected": []
        });
    }
    patch["projects"] = json!({ workdir: { "hasTrustDialogAccepted": true } });
    patch
}

/// `~/.claude/settings.json`: the bypass-permissions acknowledgement when the command asks
/// for that mode, and the `env` switches of the habits the agent does not keep.
pub(crate) fn settings_patch(agent: &Agent, command: &[String]) -> Value {
    let mut patch = Map::new();
    if asks_bypass_permissions(command) {
        patch.insert("skipDangerousModePermissionPrompt".into(), json!(true));
    }
    let env: Map<String, Value> = agent
        .claude_code
        .turned_off()
        .map(|h| (h.env.to_string(), json!("1")))
        .collect();
    if !env.is_empty() {
        patch.insert("env".into(), Value::Object(env));
    }
    Value::Object(patch)
}

/// What Claude Code records when the user approves `placeholder`.
fn approved_suffix(placeholder: &str) -> String {
    let key = placeholder.trim();
    let skip = key.chars().count().saturating_sub(APPROVED_KEY_CHARS);
    key.chars().skip(skip).collect()
}

/// Reads `file` as the agent user (nothing when it does not exist), merges `patch`, and
/// writes it back after `prepare` (a shell command).
fn merge_step(file: &str, what: &str, patch: Value, prepare: &str) -> Step {
    let c = &ImageContract::get().agent;
    let read = exec(false, &c.user_spec()).args([
        "sh",
        "-c",
        &format!("if [ -e {file} ]; then cat {file}; fi"),
    ]);
    let write = exec(true, &c.user_spec())
        .args(["sh", "-c", &format!("{prepare} && cat > {file}")])
        .stdin(Stdin::Made {
            shows: "the merged JSON".into(),
        });
    let shown = file.replacen(&c.home, "~", 1);
    Step::new(Action::MergeJson {
        file: shown.clone(),
        read,
        patch,
        write,
    })
    .announce(format!("provision claude-code {what} ({shown})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::catalog::Catalog;
    use crate::config::claude_code::ClaudeCode;

    fn agent(command: &[&str], claude_code: ClaudeCode) -> Agent {
        let mut agent = Catalog::embedded().agents["agent"].clone();
        agent.command = command.iter().map(|s| s.to_string()).collect();
        agent.claude_code = claude_code;
        agent
    }

    fn cmd(agent: &Agent) -> Vec<String> {
        agent.command.clone()
    }

    #[test]
    fn the_placeholder_is_approved_by_its_last_twenty_characters() {
        let key = Credential::model(API_KEY);
        let patch = state_patch("/home/agent/work", std::slice::from_ref(&key));
        assert_eq!(
            patch["customApiKeyResponses"]["approved"],
            json!(["er-ANTHROPIC_API_KEY"])
        );
        assert!(key.placeholder().ends_with("er-ANTHROPIC_API_KEY"));
        assert_eq!(patch["hasCompletedOnboarding"], json!(true));
        assert_eq!(
            patch["projects"]["/home/agent/work"]["hasTrustDialogAccepted"],
            json!(true)
        );
        // An OAuth token is not asked about: nothing to approve.
        let oauth = state_patch("/w", &[Credential::model("CLAUDE_CODE_OAUTH_TOKEN")]);
        assert!(oauth.get("customApiKeyResponses").is_none());
    }

    #[test]
    fn bypass_mode_is_acknowledged_only_when_the_command_asks_for_it() {
        let bypass = agent(
            &["claude", "--dangerously-skip-permissions"],
            ClaudeCode::default(),
        );
        let plain = agent(&["claude"], ClaudeCode::default());
        assert_eq!(
            settings_patch(&bypass, &cmd(&bypass))["skipDangerousModePermissionPrompt"],
            json!(true)
        );
        assert!(
            settings_patch(&plain, &cmd(&plain))
                .get("skipDangerousModePermissionPrompt")
                .is_none()
        );
    }

    #[test]
    fn every_habit_is_off_unless_kept() {
        let plain = agent(&["claude"], ClaudeCode::default());
        assert_eq!(
            settings_patch(&plain, &cmd(&plain))["env"],
            json!({
                "DISABLE_AUTOUPDATER": "1",
                "DISABLE_TELEMETRY": "1",
                "DISABLE_ERROR_REPORTING": "1",
                "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
                "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL": "1"
            })
        );
        let all_kept = ClaudeCode {
            enabled: None,
            kept: crate::config::claude_code::HABITS
                .iter()
                .map(|h| h.field)
                .collect(),
        };
        let keeps = agent(&["claude"], all_kept);
        assert_eq!(settings_patch(&keeps, &cmd(&keeps)), json!({}));
        // Nothing to write: only ~/.claude.json is merged.
        assert_eq!(claude_code(&keeps, &cmd(&keeps), &[]).len(), 1);
    }

    #[test]
    fn nothing_for_a_command_that_is_not_claude_code() {
        let shell = agent(&["bash"], ClaudeCode::default());
        assert!(claude_code(&shell, &cmd(&shell), &[]).is_empty());
        let claude = agent(&["claude"], ClaudeCode::default());
        // `bottle run agent -- bash`: the command that runs decides.
        assert!(claude_code(&claude, &["bash".to_string()], &[]).is_empty());
        let forced = agent(
            &["sh", "-c", "exec claude"],
            ClaudeCode {
                enabled: Some(true),
                kept: vec![],
            },
        );
        assert_eq!(claude_code(&forced, &cmd(&forced), &[]).len(), 2);
    }
}
