//! Snapshot tests: the plan (JSON) and its human form for each kind of bottle. Determinism
//! comes from the injected host snapshot, not from filters: a diff here is a behaviour change.

use bot_bottle::config::catalog::{Catalog, ManifestOrigin, ManifestText, SkillIndex};
use bot_bottle::config::resources::EngineCapacity;
use bot_bottle::host_snapshot::HostSnapshot;
use bot_bottle::plan::plan_report;
use bot_bottle::plan::planner::plan;
use bot_bottle::plan::planner::plan_options::PlanOptions;
use bot_bottle::plan::slot::{Slot, SlotValues};
use bot_bottle::plan::step::Action;
use std::collections::{BTreeMap, BTreeSet};

const SECRET_HOST_VALUE: &str = "ghp_R8xK2mQ9vL4tW7nB3cF6hJ1pS5dG0aZyE2uI";
const API_KEY_VALUE: &str = "sk-ant-api03-Zq7Xk2Lm9Np4Rt6Vw8Yb1Cd3Ef5Gh0Jk2Lm4Np6Qr8St0Uv2Wx4Yz6Ab8Cd0Ef2Gh4Ij6Kl8Mn0Op2Qr4St6Uv8Wx0Yz2AbAA";

fn host() -> HostSnapshot {
    HostSnapshot {
        env: BTreeMap::from([
            ("HOME".into(), "/home/user".into()),
            ("GH_TOKEN_ON_HOST".into(), SECRET_HOST_VALUE.into()),
            ("ANTHROPIC_API_KEY".into(), API_KEY_VALUE.into()),
        ]),
        cwd: "/home/user/project".into(),
        uid: 1000,
        gid: 1000,
        home: "/home/user".into(),
        launch_id: "0123456789abcdef".into(),
        skills: SkillIndex {
            dir: "/home/user/.claude/skills".into(),
            names: BTreeSet::from(["review".to_string(), "tdd".to_string()]),
        },
        engine: Some(EngineCapacity {
            memory_bytes: 16 * 1024 * 1024 * 1024,
            cpus: 8,
        }),
        loopback_v6: true,
    }
}

fn user(text: &str) -> ManifestText {
    ManifestText {
        origin: ManifestOrigin::User("/home/user/.config/bot-bottle/bot-bottle.json".into()),
        text: text.into(),
    }
}

fn cwd_file(text: &str) -> ManifestText {
    ManifestText {
        origin: ManifestOrigin::WorkingDir("/home/user/project/bot-bottle.json".into()),
        text: text.into(),
    }
}

fn options(agent: &str) -> PlanOptions {
    PlanOptions {
        agent: agent.into(),
        agent_image: Some("bot-bottle-agent:test".into()),
        pipelock_image: Some("bot-bottle-pipelock:test".into()),
        mitmproxy_image: Some("bot-bottle-mitmproxy:test".into()),
        ..PlanOptions::default()
    }
}

/// Snapshots the plan twice (JSON and text) and checks no secret value leaked into either.
fn check(name: &str, files: &[ManifestText], opts: &PlanOptions, host: &HostSnapshot) {
    let catalog = Catalog::load(files, &host.skills).expect("manifest is valid");
    let plan = plan(&catalog, opts, host).expect("plans");
    let again = bot_bottle::plan::planner::plan(&catalog, opts, host).unwrap();
    assert_eq!(plan, again, "planning is deterministic");
    let json = serde_json::to_string_pretty(&plan).unwrap();
    let text = plan_report::render(&plan);
    for secret in [SECRET_HOST_VALUE, API_KEY_VALUE] {
        assert!(!json.contains(secret), "{name}: secret value in plan JSON");
        assert!(!text.contains(secret), "{name}: secret value in plan text");
    }
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!(format!("{name}.json"), json);
        insta::assert_snapshot!(format!("{name}.txt"), text);
    });
}

#[test]
fn embedded_default() {
    let mut host = host();
    host.env.remove("ANTHROPIC_API_KEY");
    host.env.insert(
        "CLAUDE_CODE_OAUTH_TOKEN".into(),
        "oauth-token-value-0123456789".into(),
    );
    let opts = PlanOptions {
        agent: "agent".into(),
        ..PlanOptions::default()
    };
    check("embedded_default", &[], &opts, &host);
}

#[test]
fn secret_host_and_literal_env() {
    let files = [user(
        r#"{
          "bottles": { "dev": {
            "env": {
              "GITHUB_TOKEN": "?GitHub token for the agent",
              "NPM_TOKEN": "?",
              "GH_FROM_HOST": "${GH_TOKEN_ON_HOST}",
              "LOG_LEVEL": "debug",
              "GREETING": "hello world"
            },
            "egress": { "allowlist": ["api.github.com"] } } },
          "agents": { "dev": { "bottle": "dev" } }
        }"#,
    )];
    check(
        "secret_host_and_literal_env",
        &files,
        &options("dev"),
        &host(),
    );
}

#[test]
fn runsc_runtime() {
    let files = [user(
        r#"{ "bottles": { "sandboxed": { "runtime": "runsc" } },
             "agents": { "gvisor": { "bottle": "sandboxed" } } }"#,
    )];
    check("runsc_runtime", &files, &options("gvisor"), &host());
}

#[test]
fn large_allowlist() {
    let hosts: Vec<String> = (0..40)
        .map(|i| format!("\"svc{i}.example.com\""))
        .chain([
            "\"*.internal.example.org\"".to_string(),
            "\"API.ANTHROPIC.COM\"".to_string(),
        ])
        .collect();
    let files = [user(&format!(
        r#"{{ "bottles": {{ "wide": {{ "egress": {{ "allowlist": [{}] }} }} }},
             "agents": {{ "wide": {{ "bottle": "wide" }} }} }}"#,
        hosts.join(", ")
    ))];
    check("large_allowlist", &files, &options("wide"), &host());
}

/// The model lane with the provider's servers allowed a web search and two hosts, and
/// api.anthropic.com on a private address (the fake internet's shape): the model pipelock
/// trusts it there.
#[test]
fn model_lane_policy() {
    let files = [user(
        r#"{ "bottles": { "m": {
               "egress": { "allowlist": ["*.allowed.test"],
                           "private_hosts": ["api.anthropic.com", "*.allowed.test"] },
               "model": { "web_search": true,
                          "server_hosts": ["mcp.example.com", "*.docs.example"] } } },
             "agents": { "m": { "bottle": "m" } } }"#,
    )];
    check("model_lane_policy", &files, &options("m"), &host());
}

#[test]
fn pinned_name() {
    let mut opts = options("agent");
    opts.name = Some("my-claude".into());
    check("pinned_name", &[], &opts, &host());
}

#[test]
fn prompt_and_skills() {
    let files = [user(
        r#"{ "agents": { "reviewer": {
               "prompt": "Review the diff in this repository.\nBe terse.",
               "skills": ["review", "tdd"],
               "command": ["claude", "--dangerously-skip-permissions", "--model", "opus"] } } }"#,
    )];
    check("prompt_and_skills", &files, &options("reviewer"), &host());
}

#[test]
fn cwd_copy() {
    let mut opts = options("agent");
    opts.cwd = true;
    opts.command = vec!["bash".into(), "-l".into()];
    check("cwd_copy", &[], &opts, &host());
}

/// An agent whose command wraps Claude Code: `claude_code.enabled` says it is Claude Code
/// (its program is `sh`), the bypass flag is found inside the script, and the kept habit
/// (telemetry) is not turned off.
#[test]
fn claude_code_wrapped_and_telemetry_kept() {
    let files = [user(
        r#"{ "agents": { "wrapped": {
               "command": ["sh", "-c", "cd /home/agent/work && exec claude --dangerously-skip-permissions"],
               "claude_code": { "enabled": true, "telemetry": true, "auto_updates": false } } } }"#,
    )];
    check(
        "claude_code_wrapped_and_telemetry_kept",
        &files,
        &options("wrapped"),
        &host(),
    );
}

/// Credentials injected at the proxy: the agent gets placeholders, mitmproxy and pipelock
/// the values by name; git is set up for the Basic one.
#[test]
fn credentials_and_git() {
    let files = [user(
        r#"{ "bottles": { "forge": {
               "egress": { "allowlist": ["git.corp.example", "api.github.com"],
                           "private_hosts": ["git.corp.example"] },
               "env": { "CI": "true" },
               "credentials": {
                 "GIT_TOKEN": { "value": "${GH_TOKEN_ON_HOST}", "hosts": ["git.corp.example"],
                                "scheme": "Basic" },
                 "GITHUB_TOKEN": { "value": "?GitHub token", "hosts": ["api.github.com"],
                                   "scheme": "Bearer" },
                 "SEARCH_KEY": { "value": "?", "hosts": ["api.github.com"], "header": "X-Api-Key" } },
               "git": { "name": "Ada Bot", "email": "ada@example.com" } } },
             "agents": { "forger": { "bottle": "forge" } } }"#,
    )];
    check("credentials_and_git", &files, &options("forger"), &host());
}

/// Issue 21: per-host method and path rules and the git push policy, in the plan's egress
/// and git settings and in the addon config (labelled with where the manifest writes them).
#[test]
fn egress_rules_and_git_push() {
    let files = [user(
        r#"{ "bottles": { "ruled": {
               "egress": { "allowlist": ["api.github.com", "github.com"],
                           "rules": [
                             { "host": "api.github.com", "methods": ["GET"], "paths": ["/**"] },
                             { "host": "api.github.com", "methods": ["POST"],
                               "paths": ["/repos/acme/widgets/issues/*/comments"], "ignore_case": true },
                             { "host": "github.com", "methods": ["GET", "POST"],
                               "paths": ["/acme/widgets.git/**"] } ] },
               "credentials": {
                 "GIT_TOKEN": { "value": "${GH_TOKEN_ON_HOST}", "hosts": ["github.com"], "scheme": "Basic" } },
               "git": { "name": "Ada Bot", "email": "ada@example.com",
                        "push": { "refs": ["refs/heads/agent/*"] } } } },
             "agents": { "ruled": { "bottle": "ruled" } } }"#,
    )];
    check(
        "egress_rules_and_git_push",
        &files,
        &options("ruled"),
        &host(),
    );
}

/// The bottle's egress limits and the agent's resources, as pipelock, mitmproxy and
/// docker get them.
#[test]
fn egress_limits_and_resources() {
    let files = [user(
        r#"{ "bottles": { "tight": {
               "egress": { "allowlist": ["*.internal.example"],
                           "private_hosts": ["registry.internal.example"],
                           "requests_per_minute": 120, "max_request_mb": 8,
                           "max_response_mb": 256, "request_timeout_seconds": 900 },
               "resources": { "memory_mb": 2048, "cpus": 1.5, "pids": 512 } } },
             "agents": { "tight": { "bottle": "tight" } } }"#,
    )];
    check(
        "egress_limits_and_resources",
        &files,
        &options("tight"),
        &host(),
    );
}

#[test]
fn working_dir_agent() {
    let files = [
        user(
            r#"{ "bottles": { "work": { "env": { "TEAM": "platform" },
                                          "egress": { "allowlist": ["*.corp.example"] } } },
                 "agents": { "helper": { "bottle": "work", "command": ["claude"] },
                             "mine": { "bottle": "work" } } }"#,
        ),
        cwd_file(
            r#"{ "agents": { "fixer": { "bottle": "work",
                                        "prompt": "Fix the failing test.",
                                        "command": ["claude", "--dangerously-skip-permissions"] } } }"#,
        ),
    ];
    let catalog = Catalog::load(&files, &host().skills).unwrap();
    assert_eq!(
        catalog.agents["fixer"].source,
        "/home/user/project/bot-bottle.json"
    );
    assert_eq!(
        catalog.agents["mine"].source,
        "/home/user/.config/bot-bottle/bot-bottle.json"
    );
    check("working_dir_agent", &files, &options("fixer"), &host());
}

/// After a name conflict the launch fills the agent's name slot with `<name>-2`: every
/// command that names the container follows, and nothing else changes, not even an
/// argument of the user's that happens to spell the planned name.
#[test]
fn the_agent_container_is_a_slot_and_the_users_arguments_stay_as_typed() {
    let host = host();
    let files = [user(
        r#"{ "agents": { "reviewer": { "prompt": "p", "skills": ["review"] } } }"#,
    )];
    let catalog = Catalog::load(&files, &host.skills).unwrap();
    let old = plan(&catalog, &options("reviewer"), &host)
        .unwrap()
        .agent_container
        .name;
    let mut opts = options("reviewer");
    opts.command = vec!["echo".into(), old.clone(), format!("{old}:/x")];
    let planned = plan(&catalog, &opts, &host).unwrap();
    let renamed = format!("{old}-2");
    let slots = SlotValues::default()
        .with(Slot::AgentName, &renamed)
        .with(Slot::Tty, "")
        .with(Slot::MitmHostEntry, "m:172.30.0.2")
        .with(Slot::CaCertificate, "pem");
    let mut naming_the_agent = Vec::new();
    for step in planned.launch.iter().flat_map(|p| p.steps()) {
        let cmd = match &step.action {
            Action::Run { command, .. } | Action::Attach { command } => command,
            Action::RunAgent { run, .. } => run,
            _ => continue,
        };
        let argv = cmd.argv(&slots).unwrap();
        let names = |n: &str| {
            argv.iter()
                .any(|a| a == n || a.starts_with(&format!("{n}:")))
        };
        if names(&renamed) {
            naming_the_agent.push(argv.clone());
        }
        if matches!(step.action, Action::Attach { .. }) {
            assert_eq!(
                argv[argv.len() - 3..],
                ["echo".to_string(), old.clone(), format!("{old}:/x")],
                "the user's arguments were rewritten: {argv:?}"
            );
            assert!(names(&renamed), "{argv:?}");
        } else {
            assert!(!names(&old), "{argv:?} still names {old}");
        }
    }
    // docker run, the skill's copy, the prompt, the CA, mitmproxy's hosts entry, attach.
    assert_eq!(naming_the_agent.len(), 6, "{naming_the_agent:#?}");
}

/// Published ports: the agent's `ports` from the manifest (a dev server and a docs
/// preview), on a host with `::1`; and `-p` replacing them on a host without it.
#[test]
fn published_ports() {
    let files = [user(
        r#"{ "agents": { "web": { "ports": [5173, "8080:3000"] } } }"#,
    )];
    check("published_ports", &files, &options("web"), &host());
    let mut opts = options("web");
    opts.ports = vec!["9000:4000".into()];
    let mut v4_only = host();
    v4_only.loopback_v6 = false;
    let catalog = Catalog::load(&files, &v4_only.skills).unwrap();
    let plan = plan(&catalog, &opts, &v4_only).unwrap();
    let ports = plan.ports.expect("ports");
    assert_eq!(ports.published.len(), 1);
    assert_eq!(ports.published[0].agent_port, 4000);
    assert_eq!(ports.published[0].url, "http://127.0.0.1:9000");
    let text = serde_json::to_string(&plan.launch).unwrap();
    assert!(
        text.contains("127.0.0.1:9000:61000") && !text.contains("[::1]:9000"),
        "{text}"
    );
    // Without ports nothing of it is planned.
    let none = bot_bottle::plan::planner::plan(&catalog, &options("agent"), &v4_only).unwrap();
    assert!(none.ports.is_none());
    let text = serde_json::to_string(&none).unwrap();
    for absent in [
        "forwarder",
        "port-relay",
        "ports-network",
        "published ports",
    ] {
        assert!(!text.contains(absent), "{absent}");
    }
}
