//! Issue 12: what left the bottle, without an engine: the human summary of a fixed
//! request log (an insta snapshot, `snapshots/`), and the JSON exit report checked
//! against its documented schema (docs/report.schema.json). On the engine:
//! `docker::report`.

use crate::support::json_schema;
use bot_bottle::policy::live_policy::LivePolicy;
use bot_bottle::report::exit_report::{
    Ended, ExitReport, Identity, ImageInfo, LogInfo, PolicySide, Restart,
};
use bot_bottle::report::needed_hosts::Needed;
use bot_bottle::report::port_traffic::PortTraffic;
use bot_bottle::report::request_log::RequestLine;
use bot_bottle::report::summary::Summary;
use bot_bottle::runtime::policy_journal::{ChangeKind, PolicyChange};
use serde_json::Value;

const LOG: &str = include_str!("../fixtures/request-log.txt");

pub(crate) fn schema() -> Value {
    serde_json::from_str(include_str!("../../docs/report.schema.json")).unwrap()
}

fn a_report(log: &str) -> Value {
    let lines = RequestLine::parse_all(log);
    let report = ExitReport::build(
        Identity {
            bottle_id: "0123456789abcdef".into(),
            agent: "dev".into(),
            bottle: "dev".into(),
            allowlist: vec!["api.anthropic.com".into(), "*.example.com".into()],
            addon_policy_sha256: bot_bottle::digest::sha256_hex(br#"{"rules":[],"git_push":null}"#),
            pipelock_config_sha256: bot_bottle::digest::sha256_hex(b"version: 1\n"),
            model_pipelock_config_sha256: bot_bottle::digest::sha256_hex(b"version: 1 (model)\n"),
        },
        Ended {
            how: "exited",
            code: Some(0),
            signal: None,
            error: None,
        },
        vec![ImageInfo {
            role: "agent".into(),
            reference: "bot-bottle-agent:test".into(),
            id: Some("sha256:3f1c".into()),
            repo_digests: vec![],
        }],
        LogInfo {
            read: true,
            error: None,
            requests: lines.len() as u64,
        },
        vec![Restart {
            role: "pipelock".into(),
            container: "bot-bottle-pipelock-dev-01234567".into(),
            died_at_seconds: 12.5,
            exit_code: Some(137),
            oom_killed: true,
            restarted_by: "docker",
            back_after_seconds: Some(0.9),
        }],
        Summary::of(&lines),
        PolicySide::of(&lines, Some(&live())),
    )
    .with_ports(vec![PortTraffic {
        agent_port: 5173,
        host_port: 8080,
        url: "http://127.0.0.1:8080".into(),
        connections: 2,
        bytes_to_agent: 157,
        bytes_from_agent: 684,
    }]);
    serde_json::to_value(report).unwrap()
}

/// The bottle's live policy: one host approved live, then taken back; one approved.
fn live() -> LivePolicy {
    let change = |n: u32, host: &str, change| PolicyChange {
        n,
        at: format!("2026-11-28T13:31:0{n}.000Z"),
        host: host.into(),
        change,
        config_sha256: bot_bottle::digest::sha256_hex(format!("change {n}").as_bytes()),
    };
    LivePolicy {
        base: vec!["api.anthropic.com".into(), "*.example.com".into()],
        changes: vec![
            change(1, "github.com", ChangeKind::Added),
            change(2, "pypi.org", ChangeKind::Added),
            change(3, "github.com", ChangeKind::Removed),
        ],
        config: String::new(),
    }
}

#[test]
fn the_human_summary_of_a_fixed_log() {
    let lines = RequestLine::parse_all(LOG);
    assert_eq!(lines.len(), 8, "mitmproxy's own lines are ignored");
    let live = live();
    let mut text = Summary::of(&lines).render();
    text.push_str(&Needed::of(&lines, Some(&live)).render("dev", &live.changes));
    insta::with_settings!({snapshot_path => "../../snapshots", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("exit_summary.txt", text);
    });
}

#[test]
fn the_json_report_matches_its_documented_schema() {
    let report = a_report(LOG);
    let errors = json_schema::check(&schema(), &report);
    assert!(errors.is_empty(), "{errors:#?}\n{report:#}");
    assert_eq!(report["totals"]["requests"], 8);
    assert_eq!(report["totals"]["bytes_up"], 18412 + 2231);
    assert_eq!(report["hosts"][0]["host"], "api.anthropic.com");
    assert_eq!(report["reasons"][0]["reason_code"], "allowlist");
    assert_eq!(report["blocked_most"][0]["host"], "registry.npmjs.org");
    assert_eq!(report["ports"][0]["bytes_from_agent"], 684);
    assert_eq!(report["policy_changes"][2]["change"], "removed");
    assert_eq!(
        report["allowlist_at_end"],
        serde_json::json!(["api.anthropic.com", "*.example.com", "pypi.org"])
    );
    assert_eq!(report["needed"]["hosts"][0]["host"], "registry.npmjs.org");
    assert_eq!(
        report["needed"]["snippet"],
        r#""allowlist": ["*.example.com","registry.npmjs.org","pypi.org"]"#
    );
    // Per lane: the model lane's redactions summed by class, its server egress by use.
    let model = &report["lanes"]["model"];
    assert_eq!(model["requests"], 3);
    assert_eq!(model["redactions"]["aws-secret-key"], 2);
    assert_eq!(model["redactions"]["secret:GITHUB_TOKEN"], 1);
    assert_eq!(model["server_egress"]["web_fetch:docs.example.com"], 1);
    assert_eq!(report["lanes"]["web"]["requests"], 5);
    assert_eq!(report["lanes"]["web"]["redactions"], serde_json::json!({}));
    // An empty log is a valid report too.
    let empty = a_report("");
    assert!(json_schema::check(&schema(), &empty).is_empty());
    // The checker can fail: a field the schema does not know, a wrong type, a missing one.
    let mut bad = report.clone();
    bad["totals"]["extra"] = Value::from(1);
    bad["ended"]["how"] = Value::from("vanished");
    bad.as_object_mut().unwrap().remove("allowlist");
    bad["lanes"]["model"]["redactions"]["aws-secret-key"] = Value::from("2");
    let errors = json_schema::check(&schema(), &bad);
    assert_eq!(errors.len(), 4, "{errors:#?}");
}
