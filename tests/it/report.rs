//! Issue 12: what left the bottle, without an engine: the human summary of a fixed
//! request log (an insta snapshot, `snapshots/`), and the JSON exit report checked
//! against its documented schema (docs/report.schema.json). On the engine:
//! `docker::report`.

use crate::support::json_schema;
use bot_bottle::report::exit_report::{Ended, ExitReport, Identity, ImageInfo, LogInfo};
use bot_bottle::report::port_traffic::PortTraffic;
use bot_bottle::report::request_log::RequestLine;
use bot_bottle::report::summary::Summary;
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
        Summary::of(&lines),
        vec![PortTraffic {
            agent_port: 5173,
            host_port: 8080,
            url: "http://127.0.0.1:8080".into(),
            connections: 2,
            bytes_to_agent: 157,
            bytes_from_agent: 684,
        }],
    );
    serde_json::to_value(report).unwrap()
}

#[test]
fn the_human_summary_of_a_fixed_log() {
    let lines = RequestLine::parse_all(LOG);
    assert_eq!(lines.len(), 8, "mitmproxy's own lines are ignored");
    let text = Summary::of(&lines).render();
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
    // An empty log is a valid report too.
    let empty = a_report("");
    assert!(json_schema::check(&schema(), &empty).is_empty());
    // The checker can fail: a field the schema does not know, a wrong type, a missing one.
    let mut bad = report.clone();
    bad["totals"]["extra"] = Value::from(1);
    bad["ended"]["how"] = Value::from("vanished");
    bad.as_object_mut().unwrap().remove("allowlist");
    let errors = json_schema::check(&schema(), &bad);
    assert_eq!(errors.len(), 3, "{errors:#?}");
}
