//! Claude Code's first run in a bottle, as a user meets it (issue 25; `#[ignore]`d, run by
//! tests/run.sh with `--ignored`): `bottle run` in a pseudo-terminal (tmux), the real Claude
//! Code CLI interactive. The first screen is the prompt (no text-style picker, no question
//! about the API key, no security notes, no trust question, no bypass-mode warning); a task
//! typed there makes a tool-using session against the fake Anthropic API with the injected
//! credential; what bottle wrote into the agent's home holds no credential value and keeps
//! what the image had; and the exit report names every host pipelock saw, none blocked by
//! the DLP or the allowlist (the telemetry and the plugin marketplace's clone from
//! github.com are off).

use crate::support::Test;
use crate::support::engine::{self, Engine, Internet, containers, docker, docker_try, leftovers};
use crate::support::fake_api;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(180);

/// What Claude Code shows before its prompt on a first run, and what ends a session there.
const FIRST_RUN_SCREENS: &[&str] = &[
    "Choose the text style",
    "Detected a custom API key",
    "Security notes",
    "Is this a project you",
    "trust this folder",
    "Bypass Permissions mode",
    "Unable to connect",
    "Select login method",
];

/// A real-format Anthropic API key, random per run.
fn api_key() -> String {
    let hex = engine::secret_value().replace("bbtest-", "");
    format!("sk-ant-api03-{hex}{hex}{hex}-firstrunAA")
}

/// A bottle whose Claude hosts the fake internet serves (on a private address), and one
/// agent running `command`.
fn manifest(agent: &str, command: &[&str]) -> String {
    format!(
        r#"{{ "bottles": {{ "model": {{
    "egress": {{ "private_hosts": ["api.anthropic.com", "statsig.anthropic.com"] }} }} }},
  "agents": {{ "{agent}": {{ "bottle": "model", "command": {} }} }} }}"#,
        serde_json::to_string(command).unwrap()
    )
}

/// `bottle ARGS` in its own tmux server (a pseudo-terminal, 160x50), with the test's
/// hermetic environment; stderr (progress, the exit report) goes to a file, the terminal
/// shows what the agent's command draws.
struct Terminal {
    socket: String,
    dir: PathBuf,
    agent: String,
}

impl Terminal {
    /// `bottle run AGENT ARGS…`.
    fn start(test: &Test, agent: &str, args: &[&str]) -> Terminal {
        let args: Vec<&str> = ["run", agent].iter().chain(args).copied().collect();
        let dir = test.dir.path().to_path_buf();
        let cmd = test.command(&args);
        let q = |s: &str| shlex::try_quote(s).unwrap().into_owned();
        let mut line = vec!["env".to_string(), "-i".into()];
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                line.push(q(&format!(
                    "{}={}",
                    k.to_string_lossy(),
                    v.to_string_lossy()
                )));
            }
        }
        line.push(q(&cmd.get_program().to_string_lossy()));
        line.extend(cmd.get_args().map(|a| q(&a.to_string_lossy())));
        let script = format!(
            "cd {} || exit 99\n{} 2>{}\necho $? > {}\n",
            q(&test.work().display().to_string()),
            line.join(" "),
            q(&dir.join("stderr").display().to_string()),
            q(&dir.join("status").display().to_string()),
        );
        std::fs::write(dir.join("run.sh"), script).unwrap();
        // Its own server, its socket in the test's directory (gone with it).
        let socket = dir.join("tmux.sock").display().to_string();
        let t = Terminal {
            socket,
            dir,
            agent: agent.to_string(),
        };
        t.tmux(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            "160",
            "-y",
            "50",
            &format!("sh {}", q(&t.dir.join("run.sh").display().to_string())),
        ]);
        t
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-S", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs (install it: apt-get install tmux)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The terminal's text now.
    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }

    /// Polls the screen until `done` holds; every screen seen on the way must pass
    /// `allowed` (its message: what was wrong).
    fn wait(
        &self,
        what: &str,
        done: impl Fn(&str) -> bool,
        allowed: impl Fn(&str) -> Result<(), String>,
    ) -> String {
        let deadline = Instant::now() + T;
        loop {
            let screen = self.screen();
            if let Err(why) = allowed(&screen) {
                panic!(
                    "{why}; screen:\n{screen}\nbottle's stderr:\n{}",
                    self.stderr()
                );
            }
            if done(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {T:?}; screen:\n{screen}\nbottle's stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Types `text` and Enter, as a user does.
    fn type_line(&self, text: &str) {
        self.tmux(&["send-keys", "-l", text]);
        std::thread::sleep(Duration::from_millis(300));
        self.tmux(&["send-keys", "Enter"]);
    }

    /// Presses keys (tmux names: `Down`, `Enter`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend(keys);
        self.tmux(&args);
        std::thread::sleep(Duration::from_millis(300));
    }

    /// bottle's exit code, once it has exited.
    fn exit_code(&self) -> i32 {
        let deadline = Instant::now() + T;
        loop {
            if let Ok(text) = std::fs::read_to_string(self.dir.join("status"))
                && let Ok(code) = text.trim().parse()
            {
                return code;
            }
            assert!(
                Instant::now() < deadline,
                "bottle did not exit; screen:\n{}\nstderr:\n{}",
                self.screen(),
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Terminal {
    /// Ends the tmux server: bottle gets SIGHUP and tears its bottle down, which a test
    /// that failed half-way waits for (the next test must find the engine clean).
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !leftovers(&self.agent).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The prompt is on the screen: Claude Code's input line and its mode line.
fn at_prompt(screen: &str) -> bool {
    screen.lines().any(|l| l.starts_with('❯')) && screen.contains("(shift+tab to cycle)")
}

fn no_first_run_screen(screen: &str) -> Result<(), String> {
    match FIRST_RUN_SCREENS.iter().find(|s| screen.contains(*s)) {
        Some(s) => Err(format!("a first-run screen came up ({s:?})")),
        None => Ok(()),
    }
}

/// The agent's `~/.claude.json` and `~/.claude/settings.json`, as JSON and as text.
fn provisioned(agent: &str) -> (serde_json::Value, serde_json::Value, String) {
    let name = containers(agent, "agent");
    let name = name.lines().next().expect("the agent container runs");
    let state = docker(&["exec", name, "cat", "/home/agent/.claude.json"]);
    let settings = docker(&["exec", name, "cat", "/home/agent/.claude/settings.json"]);
    (
        serde_json::from_str(&state).unwrap(),
        serde_json::from_str(&settings).unwrap(),
        format!("{state}\n{settings}"),
    )
}

/// Neither the credential's value nor the part Claude Code would remember of it (its last
/// 20 characters) is in what bottle provisioned.
fn holds_no_credential(files: &str, key: &str) {
    assert!(!files.contains(key), "the key's value is in the files");
    assert!(
        !files.contains(&key[key.len() - 20..]),
        "the key's last 20 characters are in the files"
    );
}

/// Types a task that makes the fake API ask for a Bash tool call, and waits for the
/// answer carrying the tool's output; checks the model API saw the real key.
fn a_task_runs_a_tool(term: &Terminal, net: &Internet, key: &str) {
    term.type_line("run the check");
    let answered = |s: &str| s.contains("Tool output: MARKER-1000");
    let screen = term.wait(
        "answer with the tool's output, or a question about the tool",
        |s| answered(s) || s.contains("Do you want to proceed?"),
        |_| Ok(()),
    );
    if !answered(&screen) {
        // Outside bypass mode Claude Code asks before this command (its auto mode's check
        // runs on Anthropic's servers, which the fake API is not): the user says yes.
        term.keys(&["Down"]);
        term.keys(&["Enter"]);
        term.wait("answer with the tool's output", answered, |_| Ok(()));
    }
    let messages = fake_api::requests(net, "/v1/messages?beta=true");
    assert!(
        messages.iter().any(|m| {
            m["body"]
                .as_str()
                .is_some_and(|b| b.contains("tool_result") && b.contains("MARKER-1000"))
        }),
        "the tool's result never reached the model API"
    );
    for m in &messages {
        assert_eq!(
            fake_api::header(m, "x-api-key"),
            Some(key),
            "the injected credential"
        );
    }
}

/// `/exit`, bottle's exit code 0, and the exit report: the model's API on the model lane,
/// every host the web pipelock saw listed, and nothing blocked.
fn exit_and_check_the_report(term: &Terminal, net: &Internet, report: &Path) {
    term.type_line("/exit");
    assert_eq!(term.exit_code(), 0, "stderr:\n{}", term.stderr());
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    let listed: Vec<&str> = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["host"].as_str().unwrap())
        .collect();
    let mut seen_by_pipelock: Vec<String> = net
        .pipelock_log()
        .iter()
        .filter_map(|l| l["url"].as_str())
        .filter_map(|u| u.split("://").nth(1))
        .map(|rest| rest.split(['/', ':', '?']).next().unwrap().to_string())
        .collect();
    seen_by_pipelock.sort();
    seen_by_pipelock.dedup();
    // The model's API goes through the model lane's own pipelock, not the web one the
    // fake internet follows: the report lists it and counts its requests in that lane.
    assert!(
        listed.contains(&"api.anthropic.com"),
        "the model's API is missing from the exit report's hosts {listed:?}"
    );
    assert!(
        report["lanes"]["model"]["requests"].as_u64().unwrap_or(0) > 0,
        "no request on the model lane: {:#}",
        report["lanes"]
    );
    for host in &seen_by_pipelock {
        assert!(
            listed.contains(&host.as_str()),
            "{host} is missing from the exit report's hosts {listed:?}"
        );
    }
    // Only the hosts the fake internet does not serve are blocked (pipelock finds no
    // address for them here): no telemetry batch stopped by the DLP, no host off the
    // allowlist.
    for reason in report["reasons"].as_array().unwrap() {
        assert_eq!(reason["reason_code"], "dns", "{report:#}");
    }
    assert!(
        !listed.contains(&"github.com"),
        "the marketplace clone: {listed:?}"
    );
    let stderr = term.stderr();
    for host in &listed {
        assert!(
            stderr.contains(host),
            "{host} is not in the printed summary"
        );
    }
}

/// The fake API's settings: this key, and a Bash tool call before the answer.
fn api_config(key: &str) -> String {
    serde_json::json!({"api": {
        "keys": [key], "script": "tool_use", "tool_command": "echo MARKER-$(id -u)"
    }})
    .to_string()
}

fn claude_user(e: &Engine, manifest: &str, key: &str) -> Test {
    e.user_online(manifest)
        .env(
            "BOT_BOTTLE_AGENT_IMAGE",
            &e.images["BOT_BOTTLE_TEST_CLAUDE_AGENT_IMAGE"],
        )
        .env("ANTHROPIC_API_KEY", key)
}

#[test]
#[ignore = "needs a Docker engine and tmux; tests/run.sh runs it when an engine answers"]
fn claude_code_starts_at_its_prompt_and_a_typed_task_runs_a_tool() {
    let e = engine::engine();
    let agent = "t-first-run";
    let key = api_key();
    let t = claude_user(&e, &manifest(agent, &["claude"]), &key);
    let report = t.dir.path().join("report.json");
    let term = Terminal::start(&t, agent, &["--report", &report.display().to_string()]);
    let net = Internet::attach_with(&e, agent, Some(&api_config(&key)));
    let screen = term.wait("prompt", at_prompt, no_first_run_screen);
    assert!(screen.contains("auto mode on"), "{screen}");
    let (state, settings, files) = provisioned(agent);
    holds_no_credential(&files, &key);
    assert_eq!(
        state["customApiKeyResponses"]["approved"],
        serde_json::json!(["er-ANTHROPIC_API_KEY"])
    );
    assert_eq!(settings["env"]["DISABLE_AUTOUPDATER"], "1", "{settings}");
    // No bypass flag in the command: the mode is not acknowledged for it.
    assert!(settings.get("skipDangerousModePermissionPrompt").is_none());
    a_task_runs_a_tool(&term, &net, &key);
    exit_and_check_the_report(&term, &net, &report);
    assert_eq!(leftovers(agent), Vec::<String>::new());
}

/// The claude-agent image with Claude Code state of its own (a user's image might have
/// some): bottle must merge into it, not replace it.
fn image_with_state(e: &Engine) -> String {
    let base = &e.images["BOT_BOTTLE_TEST_CLAUDE_AGENT_IMAGE"];
    let tag = base.replace("/claude-agent:", "/claude-agent-with-state:");
    let dockerfile = format!(
        "FROM {base}\nRUN mkdir -p /home/agent/.claude \
         && printf '%s' '{{\"userNote\": \"kept\", \"projects\": {{\"/srv/other\": {{\"hasTrustDialogAccepted\": false}}}}, \"customApiKeyResponses\": {{\"approved\": [\"an-approved-key-0001\"], \"rejected\": []}}}}' > /home/agent/.claude.json \
         && printf '%s' '{{\"env\": {{\"IMAGE_VAR\": \"kept\"}}, \"includeCoAuthoredBy\": false}}' > /home/agent/.claude/settings.json\n"
    );
    if docker_try(&["image", "inspect", &tag]).0 {
        return tag;
    }
    engine::build_image(&tag, &dockerfile);
    tag
}

#[test]
#[ignore = "needs a Docker engine and tmux; tests/run.sh runs it when an engine answers"]
fn with_dangerously_skip_permissions_too_and_the_images_state_is_kept() {
    let e = engine::engine();
    let agent = "t-first-run-bypass";
    let key = api_key();
    let image = image_with_state(&e);
    let t = claude_user(
        &e,
        &manifest(agent, &["claude", "--dangerously-skip-permissions"]),
        &key,
    )
    .env("BOT_BOTTLE_AGENT_IMAGE", &image);
    let report = t.dir.path().join("report.json");
    let term = Terminal::start(&t, agent, &["--report", &report.display().to_string()]);
    let net = Internet::attach_with(&e, agent, Some(&api_config(&key)));
    let screen = term.wait("prompt", at_prompt, no_first_run_screen);
    assert!(screen.contains("bypass permissions on"), "{screen}");
    let (state, settings, files) = provisioned(agent);
    holds_no_credential(&files, &key);
    // The image's own state is still there, merged with bottle's.
    assert_eq!(state["userNote"], "kept", "{state}");
    assert_eq!(
        state["projects"]["/srv/other"]["hasTrustDialogAccepted"],
        false
    );
    assert_eq!(
        state["customApiKeyResponses"]["approved"],
        serde_json::json!(["an-approved-key-0001", "er-ANTHROPIC_API_KEY"])
    );
    assert_eq!(settings["env"]["IMAGE_VAR"], "kept", "{settings}");
    assert_eq!(settings["includeCoAuthoredBy"], false);
    assert_eq!(settings["skipDangerousModePermissionPrompt"], true);
    a_task_runs_a_tool(&term, &net, &key);
    exit_and_check_the_report(&term, &net, &report);
    assert_eq!(leftovers(agent), Vec::<String>::new());
}
