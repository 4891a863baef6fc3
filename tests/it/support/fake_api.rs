//! The fake Anthropic Messages API (api.anthropic.com on the fake internet): a bottle that
//! reaches it, and what it received (its requests and their headers, read from the
//! origin's record, [`Internet::seen`]).

use super::engine::Internet;
use serde_json::Value;

/// A manifest with one agent `agent` running `command` in bottle `model`: its allowed hosts
/// (the default Claude hosts plus the fake internet's) all live on the fake internet's
/// private address, it forwards `LEAK_TOKEN` from the host variable BOT_BOTTLE_TEST_SECRET,
/// and `bottle_extra` adds more fields, each after a comma (`, "model": {…}`), or nothing.
pub fn manifest(agent: &str, command: &[String], bottle_extra: &str) -> String {
    format!(
        r#"{{ "bottles": {{ "model": {{
    "egress": {{ "allowlist": ["allowed.test", "*.allowed.test"],
                "private_hosts": ["api.anthropic.com", "statsig.anthropic.com",
                                  "allowed.test", "*.allowed.test"] }},
    "env": {{ "LEAK_TOKEN": "${{BOT_BOTTLE_TEST_SECRET}}" }}{bottle_extra} }} }},
  "agents": {{ "{agent}": {{ "bottle": "model", "command": {command} }} }} }}"#,
        command = serde_json::to_string(command).unwrap(),
    )
}

/// The requests the fake API saw on a path starting with `path`, with their headers and
/// bodies, in order.
pub fn requests(net: &Internet, path: &str) -> Vec<Value> {
    net.seen()["requests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["host"]
                .as_str()
                .is_some_and(|h| h.starts_with("api.anthropic.com"))
        })
        .filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with(path)))
        .cloned()
        .collect()
}

/// A request's header `name` (any case), as the fake API recorded it.
pub fn header<'a>(request: &'a Value, name: &str) -> Option<&'a str> {
    request["headers"]
        .as_array()?
        .iter()
        .find(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
        .and_then(|h| h[1].as_str())
}
