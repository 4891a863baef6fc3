//! `RequestLine`: one line of the addon's request log (docs/addon.md, "Request log"):
//! the JSON object mitmproxy's addon writes to its stdout when a request has ended. Every
//! other line on that stream (mitmproxy's own) is ignored. Pure.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The log format this version reads (`"v"`).
pub const LOG_VERSION: u64 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestLine {
    /// UTC, `2026-11-28T13:30:36.123Z`.
    pub ts: String,
    pub id: String,
    pub method: String,
    pub scheme: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// Query values dropped, keys kept (`/v1/messages?beta=`).
    pub path: Option<String>,
    pub status: Option<u16>,
    pub verdict: Verdict,
    /// `pipelock`, `bot-bottle`, or none.
    pub by: Option<String>,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
    /// The credential the addon injected, if any.
    pub credential: Option<String>,
    /// Request body bytes sent on (what the origin received).
    pub bytes_up: u64,
    /// Response body bytes passed to the client.
    pub bytes_down: u64,
    pub duration_ms: Option<f64>,
    /// `model` (a model provider's API, judged by the model lane) or `web`; a log written
    /// before the model lane has none (web).
    #[serde(default)]
    pub lane: Option<String>,
    /// Secrets the addon replaced in the body the provider received: class -> count
    /// (`aws-secret-key`, `secret:NAME`), never the value.
    #[serde(default)]
    pub redactions: BTreeMap<String, u64>,
    /// What the provider's servers were allowed to reach for this request (`web_search`,
    /// `web_fetch:<domain>`, `mcp:<host>`, `url_source:<host>`).
    #[serde(default)]
    pub server_egress: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allowed,
    /// pipelock refused it.
    Blocked,
    /// The addon refused it itself.
    Refused,
    /// pipelock unreachable, its fetch failed, or a reset.
    Failed,
}

impl Verdict {
    /// Blocked by pipelock or refused by bot-bottle.
    pub fn is_block(self) -> bool {
        matches!(self, Verdict::Blocked | Verdict::Refused)
    }

    pub fn word(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Blocked => "blocked",
            Verdict::Refused => "refused",
            Verdict::Failed => "failed",
        }
    }
}

#[derive(Deserialize)]
struct Marker {
    bot_bottle: String,
    v: u64,
}

impl RequestLine {
    /// The request a log line records, or `None` for any other line (mitmproxy's own,
    /// another version's, a torn one).
    pub fn parse(line: &str) -> Option<RequestLine> {
        let line = line.trim();
        if !line.starts_with('{') {
            return None;
        }
        let marker: Marker = serde_json::from_str(line).ok()?;
        if marker.bot_bottle != "request" || marker.v != LOG_VERSION {
            return None;
        }
        serde_json::from_str(line).ok()
    }

    /// Every request line of a log, in order.
    pub fn parse_all(log: &str) -> Vec<RequestLine> {
        log.lines().filter_map(RequestLine::parse).collect()
    }

    /// `https://host/path` (the port only when it is not the scheme's).
    pub fn url(&self) -> String {
        let scheme = self.scheme.as_deref().unwrap_or("https");
        let port = match (scheme, self.port) {
            ("https", Some(443)) | ("http", Some(80)) | (_, None) => String::new(),
            (_, Some(p)) => format!(":{p}"),
        };
        format!(
            "{scheme}://{}{port}{}",
            self.host,
            self.path.as_deref().unwrap_or("")
        )
    }

    /// One line for `bottle logs`: time, verdict, method, URL, status, bytes, duration,
    /// the credential injected, and for a block who and why.
    pub fn render(&self) -> String {
        let time = self
            .ts
            .split_once('T')
            .map(|(_, t)| t.trim_end_matches('Z'))
            .unwrap_or(&self.ts);
        let status = self
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "-".into());
        let mut line = format!(
            "{time} {:<7} {} {} {status} up {} B down {} B",
            self.verdict.word(),
            self.method,
            self.url(),
            self.bytes_up,
            self.bytes_down
        );
        if let Some(ms) = self.duration_ms {
            line.push_str(&format!(" {ms:.0} ms"));
        }
        if let Some(c) = &self.credential {
            line.push_str(&format!(" credential {c}"));
        }
        if !self.redactions.is_empty() {
            let r: Vec<String> = self
                .redactions
                .iter()
                .map(|(class, n)| format!("{class} {n}"))
                .collect();
            line.push_str(&format!(" redacted {}", r.join(", ")));
        }
        if !self.server_egress.is_empty() {
            line.push_str(&format!(" server egress {}", self.server_egress.join(", ")));
        }
        if self.verdict != Verdict::Allowed {
            let by = self.by.as_deref().unwrap_or("the network");
            let code = self.reason_code.as_deref().unwrap_or("other");
            line.push_str(&format!(" by {by} ({code})"));
            if let Some(reason) = &self.reason {
                line.push_str(&format!(": {reason}"));
            }
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_request_lines_and_ignores_everything_else() {
        let log = r#"[13:30:35.900] HTTP(S) proxy listening at *:8080.
{"bot_bottle": "request", "v": 1, "ts": "2026-11-28T13:30:36.123Z", "id": "f1", "method": "POST", "scheme": "https", "host": "api.anthropic.com", "port": 443, "path": "/v1/messages?beta=", "status": 200, "verdict": "allowed", "by": null, "reason_code": null, "reason": null, "credential": "ANTHROPIC_API_KEY", "bytes_up": 12345, "bytes_down": 6789, "duration_ms": 812.4}
{"bot_bottle": "request", "v": 2, "ts": "x", "id": "f2"}
{"something": "else"}
{"bot_bottle": "request", "v": 1, "ts": "2026-11-28T13:30:37.001Z", "id": "f3", "method": "GET", "scheme": "http", "host": "plain.test", "port": 8080, "path": "/x", "status": 403, "verdict": "blocked", "by": "pipelock", "reason_code": "allowlist", "reason": "blocked: domain not in allowlist", "credential": null, "bytes_up": 0, "bytes_down": 33, "duration_ms": 3.0}
{"bot_bottle": "request", "v": 1, "ts": "2026-11-28T13:30:3"#;
        let lines = RequestLine::parse_all(log);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].verdict, Verdict::Allowed);
        assert_eq!(
            lines[0].render(),
            "13:30:36.123 allowed POST https://api.anthropic.com/v1/messages?beta= 200 up 12345 B down 6789 B 812 ms credential ANTHROPIC_API_KEY"
        );
        assert_eq!(
            lines[1].render(),
            "13:30:37.001 blocked GET http://plain.test:8080/x 403 up 0 B down 33 B 3 ms by pipelock (allowlist): blocked: domain not in allowlist"
        );
        assert_eq!(lines[0].lane, None, "a log from before the model lane");
    }

    #[test]
    fn reads_the_model_lanes_keys() {
        let line = r#"{"bot_bottle": "request", "v": 1, "ts": "2026-12-04T23:01:02.003Z", "id": "f9", "method": "POST", "scheme": "https", "host": "api.anthropic.com", "port": 443, "path": "/v1/messages?beta=", "status": 200, "verdict": "allowed", "by": null, "reason_code": null, "reason": null, "credential": "CLAUDE_CODE_OAUTH_TOKEN", "bytes_up": 301234, "bytes_down": 1200, "duration_ms": 95.0, "lane": "model", "redactions": {"aws-secret-key": 1, "aws-access-id": 2}, "server_egress": ["web_fetch:docs.allowed.test"]}"#;
        let l = RequestLine::parse(line).unwrap();
        assert_eq!(l.lane.as_deref(), Some("model"));
        assert_eq!(l.redactions["aws-access-id"], 2);
        assert_eq!(
            l.render(),
            "23:01:02.003 allowed POST https://api.anthropic.com/v1/messages?beta= 200 up 301234 B down 1200 B 95 ms credential CLAUDE_CODE_OAUTH_TOKEN redacted aws-access-id 2, aws-secret-key 1 server egress web_fetch:docs.allowed.test"
        );
    }
}
