//! Issue 12 on the engine: the exit report of a real session matches what the origin
//! received, on every exit path, and `bottle logs -f` shows a request within a second.
//! The summary and the schema without an engine: `crate::report`.

use crate::report::schema;
use crate::support::engine::{self, Bottle, Internet, leftovers, secret_value};
use crate::support::{Test, json_schema};
use serde_json::Value;

use std::io::BufRead;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(120);

/// A user whose agent `agent` sleeps in bottle `net` ([`engine::net_manifest`]), with a
/// runtime directory of its own.
fn user(e: &engine::Engine, agent: &str) -> Test {
    let t = e
        .user_online(&engine::net_manifest(agent, &["sleep", "120"]))
        .env("BOT_BOTTLE_TEST_SECRET", &secret_value());
    let xdg = t.dir.path().join("run");
    std::fs::create_dir_all(&xdg).unwrap();
    t.env("XDG_RUNTIME_DIR", &xdg.display().to_string())
}

fn read_report(path: &std::path::Path) -> Value {
    let report: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let errors = json_schema::check(&schema(), &report);
    assert!(errors.is_empty(), "{errors:#?}");
    report
}

fn host<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["host"] == name)
        .unwrap_or_else(|| panic!("no host {name} in {report:#}"))
}

/// Allowed, denied, secret-blocked and streamed requests: the exit report's counts and
/// bytes are exactly what the origin received and what the agent got back.
#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn the_exit_report_counts_exactly_what_the_origin_received() {
    let e = engine::engine();
    let agent = "t-report";
    let t = user(&e, agent);
    let file = t.dir.path().join("report.json");
    let script = r#"head -c 1000 /dev/zero | tr '\0' a > /tmp/up
r() { tag=$1; shift; printf 'SIZE %s %s\n' "$tag" "$(curl -sS --max-time 30 -o /dev/null -w '%{size_download}' "$@")"; }
r allowed.test --data-binary @/tmp/up https://allowed.test/echo
r denied.test https://denied.test/nope
r allowed.test --data-binary "token=$LEAK_TOKEN" https://allowed.test/echo
r allowed.test 'https://allowed.test/stream?n=5&interval_ms=100'
r plain.test http://plain.test/hello
"#;
    let report_arg = file.display().to_string();
    let bottle = Bottle::spawn(
        &t,
        &[
            "run",
            "--report",
            &report_arg,
            agent,
            "--",
            "sh",
            "-c",
            script,
        ],
    );
    let net = Internet::attach(&e, agent);
    let seen = {
        // Read what the origin saw before teardown takes the bottle (and its network) away.
        let (code, out, err) = bottle.finish(T);
        assert_eq!(code, 0, "{out}\n{err}");
        (out, err)
    };
    let (out, err) = seen;
    let origin = net.seen();
    let report = read_report(&file);

    // What the agent got back, per host.
    let mut down: std::collections::BTreeMap<String, u64> = Default::default();
    for line in out.lines().filter_map(|l| l.strip_prefix("SIZE ")) {
        let (h, n) = line.split_once(' ').unwrap();
        *down.entry(h.to_string()).or_default() += n.parse::<u64>().unwrap();
    }
    assert_eq!(down.len(), 3, "{out}");
    // What the origin received.
    let requests: Vec<&Value> = origin["requests"].as_array().unwrap().iter().collect();
    let received_up: u64 = requests
        .iter()
        .map(|r| r["body_len"].as_u64().unwrap())
        .sum();
    assert_eq!(requests.len(), 3, "echo, stream, plain: {origin:#}");
    assert_eq!(received_up, 1000);

    let totals = &report["totals"];
    assert_eq!(totals["requests"], 5, "{report:#}");
    assert_eq!(totals["allowed"], requests.len() as u64);
    // The denied host is pipelock's block; the secret never reaches pipelock: the addon,
    // which knows the bottle's secrets, refuses it first.
    assert_eq!(totals["blocked"], 1);
    assert_eq!(totals["refused"], 1);
    assert_eq!(totals["bytes_up"], received_up);
    assert_eq!(totals["bytes_down"], down.values().sum::<u64>());
    for (name, bytes) in &down {
        assert_eq!(
            host(&report, name)["bytes_down"],
            *bytes,
            "{name}: {report:#}"
        );
    }
    let allowed = host(&report, "allowed.test");
    assert_eq!(
        (
            allowed["allowed"].as_u64(),
            allowed["blocked"].as_u64(),
            allowed["refused"].as_u64()
        ),
        (Some(2), Some(0), Some(1))
    );
    assert_eq!(allowed["bytes_up"], 1000);
    assert_eq!(host(&report, "denied.test")["blocked"], 1);
    assert_eq!(host(&report, "plain.test")["allowed"], 1);
    assert_eq!(report["ended"]["how"], "exited");
    assert_eq!(report["ended"]["code"], 0);
    assert_eq!(report["agent"], agent);
    assert!(
        report["images"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    // The summary came on stderr before teardown.
    let lines: Vec<&str> = err.lines().collect();
    let summary = lines
        .iter()
        .position(|l| {
            l.contains(
                "traffic: 5 request(s): 3 allowed, 1 blocked by pipelock, 1 refused by bot-bottle",
            )
        })
        .unwrap_or_else(|| panic!("{err}"));
    let teardown = lines
        .iter()
        .position(|l| l.contains("[4/4] teardown"))
        .unwrap();
    assert!(summary < teardown, "{err}");
    assert_eq!(leftovers(agent), Vec::<String>::new());
}

/// `bottle logs -f` shows a request within a second, ends with the bottle; SIGINT and
/// SIGTERM still give the exit report, a failed step after the sidecars too; `bottle
/// logs` of a bottle that is not running exits 3.
#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn logs_follow_within_a_second_and_every_exit_path_reports() {
    let e = engine::engine();
    let agent = "t-logs";
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let t = user(&e, agent);
        let file = t.dir.path().join("report.json");
        let report_arg = file.display().to_string();
        let mut bottle = Bottle::spawn(&t, &["run", "--report", &report_arg, agent]);
        let _net = Internet::attach(&e, agent);
        let agent_ctr = bottle.wait_for_attach(T);
        // Through the proxy: `docker exec` runs with the container's environment.
        let curl = |url: &str| {
            engine::docker_try(&["exec", &agent_ctr, "curl", "-sS", "--max-time", "20", url])
        };
        let mut follow = None;
        if signal == libc::SIGINT {
            let mut logs = t
                .command(&["logs", "-f", agent])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let out = logs.stdout.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send((Instant::now(), line));
                }
            });
            std::thread::sleep(Duration::from_secs(1));
            let (ok, got) = curl("https://allowed.test/hello");
            let made = Instant::now();
            assert!(ok && got.contains("hello from allowed.test"), "{got}");
            let (at, line) = rx
                .recv_timeout(Duration::from_secs(10))
                .expect("no log line");
            assert!(
                line.contains("allowed GET https://allowed.test/hello 200"),
                "{line}"
            );
            let late = at.saturating_duration_since(made);
            assert!(
                late < Duration::from_secs(1),
                "the line came {late:?} after the request"
            );
            follow = Some(logs);
        } else {
            let (ok, got) = curl("https://denied.test/x");
            assert!(ok && got.contains("blocked"), "{got}");
        }
        bottle.signal(signal);
        let (code, _, err) = bottle.finish(T);
        assert_eq!(code, 128 + signal, "{err}");
        assert!(err.contains("traffic: 1 request(s)"), "{err}");
        let report = read_report(&file);
        assert_eq!(report["ended"]["how"], "signal");
        assert_eq!(report["ended"]["signal"], signal);
        assert_eq!(report["totals"]["requests"], 1);
        if let Some(mut logs) = follow {
            let deadline = Instant::now() + Duration::from_secs(20);
            let status = loop {
                if let Some(s) = logs.try_wait().unwrap() {
                    break s;
                }
                assert!(
                    Instant::now() < deadline,
                    "bottle logs -f outlived the bottle"
                );
                std::thread::sleep(Duration::from_millis(100));
            };
            assert!(status.success(), "{status:?}");
        }
        // Not running any more: a clear error, exit 3; an unknown name: exit 2.
        let gone = t.run(&["logs", agent]);
        assert_eq!(gone.code, 3, "{}", gone.stderr);
        assert!(
            gone.stderr.contains("has no running bottle"),
            "{}",
            gone.stderr
        );
        let unknown = t.run(&["logs", "no-such-agent"]);
        assert_eq!(unknown.code, 2, "{}", unknown.stderr);
        assert_eq!(leftovers(agent), Vec::<String>::new());
    }

    // A step that fails after the sidecars started (a pinned name someone holds).
    let t = user(&e, agent);
    let file = t.dir.path().join("report.json");
    let pinned = format!("bot-bottle-test-report-pinned-{}", std::process::id());
    e.hold_name(&pinned, 60);
    let run = t.run(&[
        "run",
        "--report",
        &file.display().to_string(),
        "--name",
        &pinned,
        agent,
    ]);
    let _ = engine::docker_try(&["rm", "-f", &pinned]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = read_report(&file);
    assert_eq!(report["ended"]["how"], "failed");
    assert_eq!(report["log"]["read"], true);
    assert!(
        run.stderr.contains("traffic: no request left the agent"),
        "{}",
        run.stderr
    );
    assert_eq!(leftovers(agent), Vec::<String>::new());
}
