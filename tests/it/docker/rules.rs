//! Issue 21 on the engine (`#[ignore]`d, run by tests/run.sh with `--ignored`): per-host
//! method and path rules and the git push policy, enforced by mitmproxy's addon in a real
//! bottle against the fake internet: a read-only rule, encoded and dot-segment spellings of
//! a forbidden path, one kept-alive connection; git clone, fetch and push through the chain
//! with pushes to `main`, branch deletes and tags refused and git printing why. The
//! refusals show in `bottle logs` and the exit report, which hashes the rules.

use crate::report::schema;
use crate::support::engine::{self, Bottle, Internet, docker_try, leftovers};
use crate::support::git_server;
use crate::support::json_schema;
use bot_bottle::config::catalog::{Catalog, ManifestOrigin, ManifestText, SkillIndex};
use bot_bottle::plan::addon_policy::AddonPolicy;
use std::time::Duration;

const T: Duration = Duration::from_secs(120);

/// The exit report's hash of the rules the manifest's bottle `name` declares.
fn policy_hash(manifest: &str, name: &str) -> String {
    let catalog = Catalog::load(
        &[ManifestText {
            origin: ManifestOrigin::User("m.json".into()),
            text: manifest.into(),
        }],
        &SkillIndex::default(),
    )
    .unwrap();
    let bottle = &catalog.bottles[name];
    AddonPolicy::new(&bottle.egress.rules, bottle.git.push.as_ref()).sha256()
}

/// A read-only rule on allowed.test (GET under /public only): GET passes; POST, PUT and
/// DELETE are refused with the rule in the answer and never reach pipelock or the origin;
/// encoded and dot-segment spellings of /private are refused; inside one kept-alive
/// connection every request after an allowed one is judged again. A host no rule names is
/// untouched. `bottle logs --blocked` and the exit report carry the reason.
#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn egress_rules_hold_for_every_request_whatever_its_spelling() {
    let e = engine::engine();
    let agent = "t-rules";
    let manifest = format!(
        r#"{{ "bottles": {{ "ruled": {{ "egress": {{
      "allowlist": ["allowed.test", "*.allowed.test"],
      "private_hosts": ["allowed.test", "*.allowed.test"],
      "rules": [ {{ "host": "allowed.test", "methods": ["GET"], "paths": ["/public/**"] }} ] }} }} }},
  "agents": {{ "{agent}": {{ "bottle": "ruled" }} }} }}"#
    );
    let t = e.user(&manifest);
    let xdg = t.dir.path().join("run");
    std::fs::create_dir_all(&xdg).unwrap();
    let t = t.env("XDG_RUNTIME_DIR", &xdg.display().to_string());
    let file = t.dir.path().join("report.json");
    let report_arg = file.display().to_string();
    let mut bottle = Bottle::spawn(
        &t,
        &["run", "--report", &report_arg, agent, "--", "sleep", "900"],
    );
    let net = Internet::attach(&e, agent);
    let agent_ctr = bottle.wait_for_attach(T);
    let in_agent = |script: &str| docker_try(&["exec", &agent_ctr, "sh", "-c", script]);
    let curl = "curl -sS --max-time 30 --path-as-is -o /tmp/body -w '%{http_code}'";

    let (_, status) = in_agent(&format!("{curl} https://allowed.test/public/a"));
    assert_eq!(status.trim(), "200", "{status}");
    for method in ["POST", "PUT", "DELETE"] {
        let (_, out) = in_agent(&format!(
            "{curl} -X {method} --data-binary x -D /tmp/head https://allowed.test/public/a; echo; cat /tmp/head /tmp/body"
        ));
        assert!(out.starts_with("403"), "{method}: {out}");
        assert!(
            out.to_lowercase()
                .contains("x-bot-bottle-block-reason: egress_rule"),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "blocked: bot-bottle: {method} is not allowed on allowed.test by the bottle's egress rules; allowed.test allows only: GET /public/** (egress.rules[0])"
            )),
            "{out}"
        );
    }
    for spelling in [
        "/private",
        "/public/../private",
        "/public/%2e%2e/private",
        "/public/%252e%252e/private",
        "/public/..%2fprivate",
        "/public/..%5cprivate",
        "/public/..;/private",
        "/public%2f..%2fprivate",
    ] {
        let (_, status) = in_agent(&format!("{curl} 'https://allowed.test{spelling}'"));
        assert_eq!(status.trim(), "403", "{spelling}");
    }
    // One kept-alive connection: an allowed request first, then refused ones, then allowed.
    let (_, out) = in_agent(
        "c='-sS --max-time 30 --path-as-is -o /dev/null -w %{http_code}:%{num_connects}\\n'; \
         curl $c https://allowed.test/public/keep1 --next $c -X DELETE https://allowed.test/public/keep1 \
              --next $c https://allowed.test/public/%2e%2e/private --next $c https://allowed.test/public/keep2",
    );
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["200:1", "403:0", "403:0", "200:0"],
        "one connection (num_connects 0 after the first): {out}"
    );
    // A host no rule names keeps the allowlist's behaviour.
    let (_, status) = in_agent(&format!("{curl} -X DELETE https://other.allowed.test/x"));
    assert_eq!(status.trim(), "200");

    let seen = net.seen();
    let reached: Vec<(String, String)> = seen["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        reached,
        [
            ("GET", "/public/a"),
            ("GET", "/public/keep1"),
            ("GET", "/public/keep2"),
            ("DELETE", "/x")
        ]
        .map(|(m, p)| (m.to_string(), p.to_string())),
        "only what the rules allow reached the origin"
    );
    let logs = t.run(&["logs", agent, "--blocked"]);
    assert_eq!(logs.code, 0, "{}", logs.stderr);
    assert_eq!(
        logs.stdout.lines().count(),
        3 + 8 + 2,
        "every refusal, none else: {}",
        logs.stdout
    );
    assert!(
        logs.stdout.lines().any(|l| l.contains(
            "refused DELETE https://allowed.test/public/a 403 up 0 B down"
        ) && l.contains(
            "by bot-bottle (egress_rule): blocked: bot-bottle: DELETE is not allowed on allowed.test by the bottle's egress rules; allowed.test allows only: GET /public/** (egress.rules[0])"
        )),
        "{}",
        logs.stdout
    );

    bottle.signal(libc::SIGTERM);
    let (code, _, err) = bottle.finish(T);
    assert_eq!(code, 128 + libc::SIGTERM, "{err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert!(json_schema::check(&schema(), &report).is_empty());
    assert_eq!(
        report["addon_policy_sha256"],
        policy_hash(&manifest, "ruled")
    );
    let reason = report["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reason_code"] == "egress_rule")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(
        (reason["by"].as_str(), reason["count"].as_u64()),
        (Some("bot-bottle"), Some(13))
    );
    assert_eq!(leftovers(agent), Vec::<String>::new());
}

/// git through the chain under `git.push` = refs/heads/agent/*: clone and fetch work; a
/// push to an agent branch arrives; a push to main, deleting a branch and pushing a tag
/// are refused before anything reaches the git server, and git prints why (`remote:`
/// lines and `[remote rejected] … (reason)`).
#[test]
#[ignore = "needs a Docker engine; tests/run.sh runs it when one answers"]
fn git_pushes_only_to_the_refs_the_policy_allows_and_git_says_why() {
    let e = engine::engine();
    let agent = "t-push";
    let git_token = format!("ghp_{}", "Zq7Xk2Lm9Np4Rt6Vw8Yb1Cd3Ef5Gh0Jk2Lm4");
    let script = r#"cd /home/agent/work
git clone -q git@git.allowed.test:repo.git && echo CLONED
cd repo
echo "from the bottle" > bottle.txt
git add bottle.txt
git commit -q -m "agent commit"
step() { name=$1; shift; "$@" > /tmp/out 2>&1; echo "$name rc=$?"; sed "s/^/$name: /" /tmp/out; }
step AGENT git push origin HEAD:refs/heads/agent/fix
step MAIN git push origin HEAD:main
step DELETE git push origin --delete agent/fix
git tag v1
step TAG git push origin v1
step FETCH git fetch origin
step REMOTE git ls-remote origin"#;
    let push = r#", "push": { "refs": ["refs/heads/agent/*"] }"#;
    let (net, out, err) = git_server::run_script(&e, agent, push, &git_token, script, T);
    let has = |line: &str| out.lines().any(|l| l == line);
    assert!(has("CLONED"), "{out}");
    assert!(has("AGENT rc=0") && has("FETCH rc=0"), "{out}");
    assert!(has("MAIN rc=1"), "{out}");
    assert!(
        has(
            "MAIN: remote: bot-bottle: refs/heads/main is not in git.push.refs (allowed: refs/heads/agent/*)        "
        ),
        "{out}"
    );
    assert!(
        has(
            "MAIN:  ! [remote rejected] HEAD -> main (bot-bottle: refs/heads/main is not in git.push.refs (allowed: refs/heads/agent/*))"
        ),
        "{out}"
    );
    assert!(
        has("MAIN: error: failed to push some refs to 'https://git.allowed.test/repo.git'"),
        "{out}"
    );
    assert!(has("DELETE rc=1"), "{out}");
    assert!(
        has(
            "DELETE:  ! [remote rejected] agent/fix (bot-bottle: deleting refs/heads/agent/fix is not allowed (git.push.delete is false))"
        ),
        "{out}"
    );
    assert!(has("TAG rc=1"), "{out}");
    assert!(
        has(
            "TAG:  ! [remote rejected] v1 -> v1 (bot-bottle: pushing tag refs/tags/v1 is not allowed (no pattern in git.push.refs matches it; allowed: refs/heads/agent/*))"
        ),
        "{out}"
    );
    // The server has the agent's branch, main as it was, no tag.
    let served: serde_json::Value = serde_json::from_str(&git_server::served(&net)).unwrap();
    let refs = &served["repos"]["repo.git"]["refs"];
    let names: Vec<&String> = refs.as_object().unwrap().keys().collect();
    assert_eq!(
        names,
        ["refs/heads/agent/fix", "refs/heads/main"],
        "{served:#}"
    );
    assert_eq!(
        served["repos"]["repo.git"]["files"],
        serde_json::json!(["README.md"]),
        "main is unchanged"
    );
    // Only the allowed push reached the git server.
    let pushes = net.seen()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/repo.git/git-receive-pack")
        .count();
    assert_eq!(pushes, 1, "a refused push reached the git server");
    assert!(!out.contains(&git_token) && !err.contains(&git_token));
    assert_eq!(leftovers(agent), Vec::<String>::new());
}
