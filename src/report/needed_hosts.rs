//! `Needed`: what a session needed that its launch's allowlist did not give, and how the
//! policy changed on the way: the hosts pipelock refused as not on the allowlist (per
//! host, as they happen in `bottle logs --blocked`), the hosts approved live
//! (`bottle allow-host`) or taken back, and the bottle's `egress.allowlist` line for the
//! next launch, ready to paste. The end of the exit report and of its stderr summary. Pure.

use crate::config::egress::DEFAULT_ALLOWLIST;
use crate::config::host_pattern;
use crate::policy::live_policy::LivePolicy;
use crate::report::request_log::{RequestLine, Verdict};
use crate::runtime::policy_journal::{ChangeKind, PolicyChange};
use serde::Serialize;

/// pipelock v2.3.0's allowlist block (internal/scanner/scanner.go `checkAllowlist`), also
/// behind a redirect (`redirect blocked: …`).
const NOT_ALLOWED: &str = "domain not in allowlist: ";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NeededHost {
    pub host: String,
    /// Requests pipelock refused because of it.
    pub blocked: u64,
    /// `approved` (allowed live and still at the end), `taken_back` (allowed live, then
    /// denied again), or null.
    pub live: Option<&'static str>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Needed {
    /// Blocked hosts first (most blocks first), then hosts approved live before any block.
    pub hosts: Vec<NeededHost>,
    /// The bottle's `"allowlist": […]` for the next launch: its own entries (the
    /// defaults every bottle gets are left out) and every needed host not taken back.
    /// Null when nothing was needed.
    pub snippet: Option<String>,
}

/// The host a request line says pipelock refused as not on the allowlist.
pub fn allowlist_block(line: &RequestLine) -> Option<String> {
    if line.verdict != Verdict::Blocked || line.reason_code.as_deref() != Some("allowlist") {
        return None;
    }
    let reason = line.reason.as_deref().unwrap_or("");
    let host = reason
        .find(NOT_ALLOWED)
        .map(|i| reason[i + NOT_ALLOWED.len()..].trim())
        .filter(|h| !h.is_empty() && !h.contains(' '))
        .unwrap_or(&line.host);
    Some(host.to_ascii_lowercase())
}

impl Needed {
    pub fn of(lines: &[RequestLine], live: Option<&LivePolicy>) -> Needed {
        let mut hosts: Vec<NeededHost> = Vec::new();
        for host in lines.iter().filter_map(allowlist_block) {
            match hosts.iter_mut().find(|h| h.host == host) {
                Some(h) => h.blocked += 1,
                None => hosts.push(NeededHost {
                    host,
                    blocked: 1,
                    live: None,
                }),
            }
        }
        hosts.sort_by(|a, b| b.blocked.cmp(&a.blocked).then(a.host.cmp(&b.host)));
        let (changes, approved): (&[PolicyChange], Vec<String>) = match live {
            Some(l) => (&l.changes, l.approved_hosts()),
            None => (&[], Vec::new()),
        };
        for c in changes.iter().filter(|c| c.change == ChangeKind::Added) {
            let state = if approved.contains(&c.host) {
                "approved"
            } else {
                "taken_back"
            };
            let mut matched = false;
            for h in hosts
                .iter_mut()
                .filter(|h| host_pattern::covers(&c.host, &h.host))
            {
                h.live = Some(state);
                matched = true;
            }
            if !matched {
                hosts.push(NeededHost {
                    host: c.host.clone(),
                    blocked: 0,
                    live: Some(state),
                });
            }
        }
        let snippet = live
            .map(|l| &l.base[..])
            .and_then(|base| snippet(base, &hosts));
        Needed { hosts, snippet }
    }

    /// The lines for stderr (without `bottle: `), after the traffic summary.
    pub fn render(&self, bottle: &str, changes: &[PolicyChange]) -> String {
        let mut out = String::new();
        if !changes.is_empty() {
            let said: Vec<String> = changes
                .iter()
                .map(|c| format!("{} {} {}", time_of(&c.at), c.change.word(), c.host))
                .collect();
            out.push_str(&format!(
                "  policy changed live: {} (bottle allow-host / deny-host)\n",
                said.join(", ")
            ));
        }
        if self.hosts.is_empty() {
            return out;
        }
        let said: Vec<String> = self
            .hosts
            .iter()
            .map(|h| {
                let live = match h.live {
                    Some("approved") => "approved live",
                    Some(_) => "approved live then taken back",
                    None => "",
                };
                match (h.blocked, live) {
                    (0, live) => format!("{} ({live})", h.host),
                    (n, "") => format!("{} ({n} blocked)", h.host),
                    (n, live) => format!("{} ({n} blocked, {live})", h.host),
                }
            })
            .collect();
        out.push_str(&format!(
            "  needed off the allowlist: {}\n",
            said.join(", ")
        ));
        if let Some(snippet) = &self.snippet {
            out.push_str(&format!(
                "  for the next launch, bottles.{bottle}.egress in your manifest (or `bottle allow-host --persist` while it runs):\n    {snippet}\n"
            ));
        }
        out
    }
}

/// `"allowlist": [...]`: the bottle's own entries, then the needed hosts not taken back.
fn snippet(base: &[String], hosts: &[NeededHost]) -> Option<String> {
    let mut list: Vec<String> = base
        .iter()
        .filter(|h| !DEFAULT_ALLOWLIST.contains(&h.as_str()))
        .cloned()
        .collect();
    let mut added = false;
    for h in hosts.iter().filter(|h| h.live != Some("taken_back")) {
        if !list.iter().any(|e| host_pattern::covers(e, &h.host)) {
            list.push(h.host.clone());
            added = true;
        }
    }
    added.then(|| {
        format!(
            "\"allowlist\": {}",
            serde_json::to_string(&list).expect("strings serialize")
        )
    })
}

/// `23:10:00.123` of `2026-12-04T23:10:00.123Z`.
pub fn time_of(at: &str) -> &str {
    at.split_once('T')
        .map(|(_, t)| t.trim_end_matches('Z'))
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(host: &str, reason: &str) -> RequestLine {
        serde_json::from_value(serde_json::json!({
            "ts": "2026-12-04T23:10:00.000Z", "id": "x", "method": "GET", "scheme": "https",
            "host": host, "port": 443, "path": "/", "status": 403, "verdict": "blocked",
            "by": "pipelock", "reason_code": "allowlist", "reason": reason, "credential": null,
            "bytes_up": 0, "bytes_down": 40, "duration_ms": 1.0
        }))
        .unwrap()
    }

    fn change(n: u32, host: &str, change: ChangeKind) -> PolicyChange {
        PolicyChange {
            n,
            at: format!("2026-12-04T23:10:0{n}.000Z"),
            host: host.into(),
            change,
            config_sha256: "ab".into(),
        }
    }

    #[test]
    fn blocked_hosts_and_live_approvals_make_the_next_launchs_allowlist() {
        let lines = [
            blocked(
                "registry.npmjs.org",
                "blocked: domain not in allowlist: registry.npmjs.org",
            ),
            blocked(
                "denied.test",
                "blocked: domain not in allowlist: denied.test",
            ),
            blocked(
                "registry.npmjs.org",
                "blocked: domain not in allowlist: registry.npmjs.org",
            ),
            blocked(
                "allowed.test",
                "blocked: redirect blocked: domain not in allowlist: evil.example",
            ),
            blocked(
                "files.pypi.org",
                "blocked: domain not in allowlist: files.pypi.org",
            ),
        ];
        let live = LivePolicy {
            base: ["api.anthropic.com", "allowed.test"]
                .map(String::from)
                .to_vec(),
            changes: vec![
                change(1, "denied.test", ChangeKind::Added),
                change(2, "*.pypi.org", ChangeKind::Added),
                change(3, "early.example", ChangeKind::Added),
                change(4, "*.pypi.org", ChangeKind::Removed),
            ],
            config: String::new(),
        };
        let needed = Needed::of(&lines, Some(&live));
        let got: Vec<(&str, u64, Option<&str>)> = needed
            .hosts
            .iter()
            .map(|h| (h.host.as_str(), h.blocked, h.live))
            .collect();
        assert_eq!(
            got,
            [
                ("registry.npmjs.org", 2, None),
                ("denied.test", 1, Some("approved")),
                ("evil.example", 1, None),
                ("files.pypi.org", 1, Some("taken_back")),
                ("early.example", 0, Some("approved")),
            ]
        );
        assert!(
            needed
                .render("web", &[])
                .contains("early.example (approved live)")
        );
        assert_eq!(
            needed.snippet.as_deref(),
            Some(
                r#""allowlist": ["allowed.test","registry.npmjs.org","denied.test","evil.example","early.example"]"#
            )
        );
        let text = needed.render("web", &live.changes);
        assert!(
            text.starts_with("  policy changed live: 23:10:01.000 added denied.test, 23:10:02.000 added *.pypi.org"),
            "{text}"
        );
        assert!(
            text.contains("denied.test (1 blocked, approved live)")
                && text.contains("files.pypi.org (1 blocked, approved live then taken back)")
                && text.contains("bottles.web.egress")
                && text.trim_end().ends_with("\"early.example\"]"),
            "{text}"
        );
        // Nothing needed, nothing changed: nothing said.
        assert_eq!(
            Needed::of(&[], Some(&live_without_changes())).render("web", &[]),
            ""
        );
    }

    fn live_without_changes() -> LivePolicy {
        LivePolicy {
            base: vec!["allowed.test".into()],
            changes: Vec::new(),
            config: String::new(),
        }
    }
}
