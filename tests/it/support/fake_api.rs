//! What the fake Anthropic Messages API (api.anthropic.com on the fake internet) received:
//! its requests and their headers, read from the origin's record ([`Internet::seen`]).

use super::engine::Internet;
use serde_json::Value;

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
