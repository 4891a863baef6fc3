//! Issue 20 on the engine: one running bottle whose allowlist changes live. A host off
//! the allowlist is refused with the way out in the answer; `bottle allow-host` lets the
//! next request through while a 40 s stream that was in flight during pipelock's reload
//! goes on to its end and no container restarts; `bottle deny-host` takes it back; bad
//! input changes nothing; `--persist` writes the user's manifest and refuses a
//! repository's; `ls`, `info` and `logs` show the changes; a wildcard approved live reaches
//! mitmproxy's addon too (a data-carrying name under it refused `host_data` before any
//! lookup, a normal one passing; a restarted mitmproxy gets it again; taken back, refused
//! by pipelock as off the allowlist); a web pipelock killed and restarted by supervision
//! gets the live allowlist again; and the exit report lists the changes with the allowlist
//! line the session needed. With `BOT_BOTTLE_TEST_PIPELOCK_IMAGE` it runs
//! against a real pipelock (docs/pipelock.md).

use crate::report::schema;
use crate::support::engine::{self, Bottle, Internet, docker, docker_try, leftovers};
use crate::support::json_schema;
use serde_json::Value;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(180);
const AGENT: &str = "t-live";
const DONE: &str = "/tmp/.live-policy-done";

fn manifest() -> String {
    format!(
        r#"{{
  "bottles": {{ "net": {{
    "egress": {{ "allowlist": ["allowed.test"],
                "private_hosts": ["allowed.test", "*.allowed.test", "denied.test"] }} }} }},
  "agents": {{ "{AGENT}": {{ "bottle": "net",
    "command": ["sh", "-c", "until [ -e {DONE} ]; do sleep 0.2; done"] }} }}
}}"#
    )
}

/// `docker inspect` of the bottle's containers (agent, mitmproxy, both pipelocks): name,
/// start time, restart count.
fn starts() -> Vec<String> {
    let names = docker(&[
        "ps",
        "--filter",
        &format!("label=bot-bottle.agent={AGENT}"),
        "--format",
        "{{.Names}}",
    ]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert!(names.len() >= 3, "{names:?}");
    names
        .iter()
        .map(|n| {
            docker(&[
                "inspect",
                "--format",
                "{{.Name}} {{.State.StartedAt}} {{.RestartCount}}",
                n,
            ])
        })
        .collect()
}

/// The whole exercise in one bottle (a launch costs seconds; CI time matters).
#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn allow_host_lets_the_next_request_through_without_a_restart_and_deny_host_takes_it_back() {
    let e = engine::engine();
    let t = e.user(&manifest());
    let xdg = t.dir.path().join("run");
    std::fs::create_dir_all(&xdg).unwrap();
    let t = t.env("XDG_RUNTIME_DIR", &xdg.display().to_string());
    let file = t.dir.path().join("report.json");
    let report_arg = file.display().to_string();
    let mut bottle = Bottle::spawn(&t, &["run", "--report", &report_arg, AGENT]);
    let net = Internet::attach(&e, AGENT);
    let agent = bottle.wait_for_attach(T);
    let id = docker(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"bot-bottle.id\"}}",
        &agent,
    ]);
    let curl = |url: &str| {
        docker_try(&[
            "exec",
            &agent,
            "curl",
            "-sS",
            "--max-time",
            "30",
            "-w",
            " HTTP %{http_code}",
            url,
        ])
    };
    let denied = "https://denied.test/x";

    // Refused, with the way out in the answer the agent reads.
    let (_, said) = curl(denied);
    assert!(
        said.contains("blocked: domain not in allowlist: denied.test")
            && said.contains(&format!("bottle allow-host {id} denied.test"))
            && said.contains("HTTP 403"),
        "{said}"
    );

    // Bad input: exit 2 (3 for a bottle id that is not running), nothing changed.
    for (args, code, says) in [
        (vec!["allow-host", AGENT, "10.0.0.5"], 2, "IP address"),
        (
            vec!["allow-host", AGENT, "https://denied.test"],
            2,
            "scheme",
        ),
        (vec!["allow-host", AGENT, "*"], 2, "bare `*`"),
        (
            vec!["allow-host", "0000000000000000", "denied.test"],
            3,
            "no bottle with id",
        ),
        (
            vec!["allow-host", "nobody-here", "denied.test"],
            2,
            "unknown agent or bottle id",
        ),
        (
            vec!["deny-host", AGENT, "allowed.test"],
            2,
            "not a live approval",
        ),
    ] {
        let r = t.run(&args);
        assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
    }
    assert!(curl(denied).1.contains("HTTP 403"));
    let before = starts();

    // A 40 s stream in flight while pipelock reloads.
    let stream_agent = agent.clone();
    let stream = std::thread::spawn(move || {
        let started = Instant::now();
        let (ok, out) = docker_try(&[
            "exec",
            &stream_agent,
            "curl",
            "-sS",
            "-N",
            "--max-time",
            "90",
            "https://allowed.test/stream?n=41&interval_ms=1000",
        ]);
        (ok, out, started.elapsed())
    });
    std::thread::sleep(Duration::from_secs(5));
    let allowed = t.run(&["allow-host", AGENT, "denied.test"]);
    assert_eq!(allowed.code, 0, "{}{}", allowed.stdout, allowed.stderr);
    assert!(
        allowed.stdout.contains("allowed denied.test")
            && allowed.stdout.contains(
                "pipelock reloaded its config in place and mitmproxy's addon loaded the live approvals"
            ),
        "{}",
        allowed.stdout
    );
    let (_, passed) = curl(denied);
    assert!(
        passed.contains("hello from denied.test") && passed.contains("HTTP 200"),
        "{passed}"
    );
    let ls = t.run(&["ls"]);
    let row = ls.stdout.lines().find(|l| l.contains(&id)).unwrap_or("");
    assert!(row.contains(" denied.test "), "{}", ls.stdout);
    let info = t.run(&["info", AGENT]);
    assert!(
        info.stdout.contains(&format!(
            "running bottle {id}: live approvals (bottle allow-host): denied.test (since "
        )),
        "{}",
        info.stdout
    );
    let logs = t.run(&["logs", AGENT]);
    assert!(
        logs.stdout
            .contains("policy  added denied.test (bottle allow-host"),
        "{}",
        logs.stdout
    );
    assert!(
        logs.stdout.contains(&format!(
            "allow it live with `bottle allow-host {id} denied.test`"
        )),
        "{}",
        logs.stdout
    );

    let denied_again = t.run(&["deny-host", AGENT, "denied.test"]);
    assert_eq!(denied_again.code, 0, "{}", denied_again.stderr);
    assert!(curl(denied).1.contains("HTTP 403"));

    // The stream went on to its end through both reloads; nothing restarted.
    let (ok, out, took) = stream.join().unwrap();
    assert!(ok, "{out}");
    assert_eq!(out.matches("event: tick").count(), 41, "cut: {out}");
    assert!(took >= Duration::from_secs(40), "{took:?}");
    assert_eq!(starts(), before, "a container restarted");
    let reloads = net
        .pipelock_log()
        .iter()
        .filter(|l| l["event"] == "config_reload" && l["status"] == "success")
        .count();
    assert_eq!(reloads, 2, "one reload per change");

    // A wildcard approved live reaches the addon before pipelock: a name under it whose
    // labels carry data is refused before anything resolves it, a normal one passes; a
    // mitmproxy restarted by supervision gets it again; taken back, pipelock refuses the
    // name as off the allowlist.
    // plain HTTP: curl prints the answer to a refused CONNECT only as a status
    let hex = "http://7365637265745f6170695f6b6579.exfil.allowed.test/x";
    let other = "https://other.allowed.test/x";
    let host_data = |said: &str| {
        said.contains("HTTP 403")
            && said.contains(
                "looks like it carries data in the labels under the allowlist entry *.allowed.test",
            )
    };
    assert!(
        curl(other)
            .1
            .contains("domain not in allowlist: other.allowed.test")
    );
    let wild = t.run(&["allow-host", AGENT, "*.allowed.test"]);
    assert_eq!(wild.code, 0, "{}{}", wild.stdout, wild.stderr);
    let (_, said) = curl(hex);
    assert!(host_data(&said), "{said}");
    let (_, said) = curl(other);
    assert!(
        said.contains("hello from other.allowed.test") && said.contains("HTTP 200"),
        "{said}"
    );
    let mitm = docker(&[
        "ps",
        "--filter",
        &format!("label=bot-bottle.agent={AGENT}"),
        "--filter",
        "label=bot-bottle.role=mitmproxy",
        "--format",
        "{{.Names}}",
    ]);
    docker(&["kill", "--signal", "KILL", &mitm]);
    bottle.wait_for(
        "mitmproxy's addon has the live policy again (3 change(s))",
        T,
    );
    bottle.wait_for("mitmproxy is back", T);
    let (_, said) = curl(hex);
    assert!(host_data(&said), "after mitmproxy's restart: {said}");
    let taken = t.run(&["deny-host", AGENT, "*.allowed.test"]);
    assert_eq!(taken.code, 0, "{}{}", taken.stdout, taken.stderr);
    let (_, said) = curl(hex);
    assert!(
        said.contains("domain not in allowlist: 7365637265745f6170695f6b6579.exfil.allowed.test")
            && said.contains("HTTP 403"),
        "{said}"
    );

    // --persist: never a repository's manifest; the user's one, which `plan` then shows.
    let repo = t.work().join("bot-bottle.json");
    std::fs::copy(t.user_manifest(), &repo).unwrap();
    let repo_before = std::fs::read(&repo).unwrap();
    let r = t
        .command(&["allow-host", "--persist", AGENT, "denied.test"])
        .env("BOT_BOTTLE_CONFIG", &repo)
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("a repository's manifest"), "{err}");
    assert_eq!(std::fs::read(&repo).unwrap(), repo_before);
    assert!(curl(denied).1.contains("HTTP 403"), "nothing changed");
    std::fs::remove_file(&repo).unwrap();
    let persisted = t.run(&["allow-host", "--persist", AGENT, "denied.test"]);
    assert_eq!(persisted.code, 0, "{}", persisted.stderr);
    let user: Value =
        serde_json::from_str(&std::fs::read_to_string(t.user_manifest()).unwrap()).unwrap();
    assert_eq!(
        user["bottles"]["net"]["egress"]["allowlist"],
        serde_json::json!(["allowed.test", "denied.test"])
    );
    let plan: Value = serde_json::from_str(&t.run(&["plan", "--json", AGENT]).stdout).unwrap();
    assert_eq!(
        plan["egress"]["allowlist"]
            .as_array()
            .unwrap()
            .last()
            .unwrap(),
        "denied.test",
        "{plan:#}"
    );
    assert!(curl(denied).1.contains("HTTP 200"));

    // A web pipelock that dies comes back with the live allowlist: supervision restarts
    // it from the launch's config and bottle loads the journal's allowlist into it again.
    docker(&["kill", "--signal", "KILL", &net.pipelock]);
    bottle.wait_for("pipelock has the live policy again (5 change(s))", T);
    bottle.wait_for("pipelock is back", T);
    let (_, after) = curl(denied);
    assert!(after.contains("HTTP 200"), "{after}");

    // The end: the exit report lists every change and the line the session needed.
    docker(&["exec", &agent, "touch", DONE]);
    let (code, _, err) = bottle.finish(T);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let errors = json_schema::check(&schema(), &report);
    assert!(errors.is_empty(), "{errors:#?}");
    let changes: Vec<(&str, &str)> = report["policy_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["host"].as_str().unwrap(), c["change"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changes,
        [
            ("denied.test", "added"),
            ("denied.test", "removed"),
            ("*.allowed.test", "added"),
            ("*.allowed.test", "removed"),
            ("denied.test", "added")
        ]
    );
    assert_eq!(report["needed"]["hosts"][0]["host"], "denied.test");
    assert_eq!(report["needed"]["hosts"][0]["live"], "approved");
    // The wildcard was taken back: neither it nor the names under it pipelock refused are in
    // the line for the next launch.
    let snippet = report["needed"]["snippet"].as_str().unwrap_or_default();
    assert_eq!(snippet, r#""allowlist": ["allowed.test","denied.test"]"#);
    assert!(
        err.contains("policy changed live:")
            && err.contains("needed off the allowlist: denied.test (")
            && err.contains(snippet),
        "{err}"
    );
    let gone = t.run(&["allow-host", AGENT, "denied.test"]);
    assert_eq!(gone.code, 3, "{}", gone.stderr);
    assert_eq!(leftovers(AGENT), Vec::<String>::new());
    let left: Vec<_> = std::fs::read_dir(xdg.join("bot-bottle"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
    drop(net);
}
