//! The fake internet's git server (git.allowed.test, tests/images/README.md) as a bottle
//! meets it: a bottle that reaches it with the Basic `GIT_TOKEN` credential, and a script
//! run in that bottle against it (`bottle run` and the engine: I/O).

use super::engine::{Bottle, Engine, Internet, docker, online};
use std::time::Duration;

/// `agent` in bottle `forge`: git.allowed.test only (the fake internet's private address),
/// the Basic credential `GIT_TOKEN` from `BOT_BOTTLE_TEST_GIT_TOKEN` for it, the git
/// identity `Ada Bot <ada@example.com>`, and `git_extra`: more fields of `git`, each after
/// a comma (`, "push": {…}`), or nothing.
pub fn manifest(agent: &str, git_extra: &str) -> String {
    format!(
        r#"{{ "bottles": {{ "forge": {{
    "egress": {{ "allowlist": ["git.allowed.test"], "private_hosts": ["git.allowed.test"] }},
    "credentials": {{ "GIT_TOKEN": {{ "value": "${{BOT_BOTTLE_TEST_GIT_TOKEN}}",
                                     "hosts": ["git.allowed.test"], "scheme": "Basic" }} }},
    "git": {{ "name": "Ada Bot", "email": "ada@example.com"{git_extra} }} }} }},
  "agents": {{ "{agent}": {{ "bottle": "forge" }} }} }}"#
    )
}

/// `sh -c SCRIPT` in `agent` of [`manifest`]`(agent, git_extra)` once the fake internet is
/// wired, whose git server takes `token` (user `x-access-token`); bottle must exit 0
/// within `timeout`. Returns the fake internet (what it saw) and bottle's stdout and
/// stderr.
pub fn run_script(
    e: &Engine,
    agent: &str,
    git_extra: &str,
    token: &str,
    script: &str,
    timeout: Duration,
) -> (Internet, String, String) {
    let t = e
        .user(&manifest(agent, git_extra))
        .env("BOT_BOTTLE_TEST_GIT_TOKEN", token);
    let command = online(&["sh", "-c", script]);
    let mut args = vec!["run", agent, "--"];
    args.extend(command.iter().map(String::as_str));
    let bottle = Bottle::spawn(&t, &args);
    let origin_config = serde_json::json!({
        "git": {"username": "x-access-token", "password": token}
    })
    .to_string();
    let net = Internet::attach_with(e, agent, Some(&origin_config));
    let (code, out, err) = bottle.finish(timeout);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    (net, out, err)
}

/// What the git server holds now: its `/__git` report (JSON: each repository's refs and
/// files, the pushes it took).
pub fn served(net: &Internet) -> String {
    docker(&["exec", &net.origin, "curl", "-sS", "http://127.0.0.1/__git"])
}
