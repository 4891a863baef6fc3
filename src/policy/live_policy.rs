//! `LivePolicy`: a running bottle's allowlist as the launch rendered it plus the live
//! changes of its journal; what `allow-host` and `deny-host` would change; the pipelock
//! config and the addon's live policy file that carry the result. Pure.

use crate::config::host_pattern;
use crate::runtime::policy_journal::{ChangeKind, Journal, PolicyChange};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePolicy {
    /// The launch's allowlist (the pipelock config's `api_allowlist`).
    pub base: Vec<String>,
    pub changes: Vec<PolicyChange>,
    /// The launch's pipelock config, as rendered.
    pub config: String,
}

/// A host approved live and not taken back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Approval {
    pub host: String,
    /// When it was approved (UTC).
    pub at: String,
}

/// What `allow-host` does with its hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowPlan {
    /// Not allowed yet: added.
    pub add: Vec<String>,
    /// Already allowed: `(host, by which entry, live or not)`.
    pub already: Vec<(String, String, bool)>,
}

impl LivePolicy {
    pub fn of(journal: &Journal) -> Result<LivePolicy, String> {
        let config: serde_json::Value = serde_json::from_str(&journal.launch.config)
            .map_err(|e| format!("the journal's pipelock config is not JSON: {e}"))?;
        let base = config["api_allowlist"]
            .as_array()
            .ok_or("the journal's pipelock config has no api_allowlist")?
            .iter()
            .filter_map(|h| h.as_str().map(str::to_string))
            .collect();
        Ok(LivePolicy {
            base,
            changes: journal.changes.clone(),
            config: journal.launch.config.clone(),
        })
    }

    /// Hosts approved live and still in force, in the order they were approved.
    pub fn approvals(&self) -> Vec<Approval> {
        let mut out: Vec<Approval> = Vec::new();
        for c in &self.changes {
            out.retain(|a| a.host != c.host);
            if c.change == ChangeKind::Added {
                out.push(Approval {
                    host: c.host.clone(),
                    at: c.at.clone(),
                });
            }
        }
        out
    }

    /// The hosts of the live approvals in force (what the addon's live policy file lists).
    pub fn approved_hosts(&self) -> Vec<String> {
        self.approvals().into_iter().map(|a| a.host).collect()
    }

    /// The allowlist pipelock has now: the launch's, then the live approvals.
    pub fn allowlist(&self) -> Vec<String> {
        let mut out = self.base.clone();
        out.extend(self.approved_hosts());
        out
    }

    /// Which of `hosts` (normalised) are new.
    pub fn allow(&self, hosts: &[String]) -> AllowPlan {
        let live = self.approved_hosts();
        let mut plan = AllowPlan::default();
        for host in hosts {
            let covered = self
                .allowlist()
                .into_iter()
                .chain(plan.add.iter().cloned())
                .find(|a| host_pattern::covers(a, host));
            match covered {
                Some(by) => {
                    let is_live = live.contains(&by) || plan.add.contains(&by);
                    plan.already.push((host.clone(), by, is_live));
                }
                None => plan.add.push(host.clone()),
            }
        }
        plan
    }

    /// The live approvals among `hosts` (normalised) to take back; an error names a host
    /// that is not one (the launch's allowlist is changed in the manifest, not live).
    pub fn deny(&self, hosts: &[String]) -> Result<Vec<String>, String> {
        let live = self.approved_hosts();
        let mut out = Vec::new();
        for host in hosts {
            if live.contains(host) {
                if !out.contains(host) {
                    out.push(host.clone());
                }
            } else if self.base.iter().any(|b| host_pattern::covers(b, host)) {
                return Err(format!(
                    "`{host}` is on the bottle's allowlist from its manifest, not a live approval: deny-host takes back only what allow-host added; remove it from the manifest for the next launch"
                ));
            } else {
                return Err(format!(
                    "`{host}` is not a live approval of this bottle (live approvals: {})",
                    if live.is_empty() {
                        "none".to_string()
                    } else {
                        live.join(", ")
                    }
                ));
            }
        }
        Ok(out)
    }

    /// The pipelock config with `allowlist`: the launch's config, `api_allowlist`
    /// replaced, after a YAML comment naming the change (so every live config has a hash
    /// of its own, by which pipelock's `config_reload` line is recognised).
    pub fn render(&self, allowlist: &[String], comment: &str) -> Result<String, String> {
        let mut config: serde_json::Value = serde_json::from_str(&self.config)
            .map_err(|e| format!("the journal's pipelock config is not JSON: {e}"))?;
        config["api_allowlist"] = serde_json::json!(allowlist);
        let body = serde_json::to_string_pretty(&config).expect("a JSON value serializes");
        let comment = comment.replace(['\n', '\r'], " ");
        Ok(format!("# {comment}\n{body}\n"))
    }
}

/// The version of the addon's live policy file (bot_bottle_addon/live_policy.py).
pub const ADDON_LIVE_VERSION: u32 = 1;

/// The addon's live policy file: the live approvals in force (`approved`, not the launch's
/// allowlist, which the addon has from its config) and a note naming the change (so every
/// file has a hash of its own, by which the addon's `live policy loaded` line is
/// recognised). One JSON object, one line.
pub fn render_addon(bottle_id: &str, approved: &[String], note: &str) -> String {
    let value = serde_json::json!({
        "version": ADDON_LIVE_VERSION,
        "bottle_id": bottle_id,
        "approved": approved,
        "note": note.replace(['\n', '\r'], " "),
    });
    format!("{value}\n")
}

/// An allow-host/deny-host argument checked like a manifest allowlist entry, and also
/// refused when it is an address (mitmproxy lets requests through to names only).
pub fn check_host(arg: &str) -> Result<String, String> {
    if host_pattern::is_address(arg) {
        return Err(format!(
            "`{arg}` is an IP address: bot-bottle lets requests through to host names only (mitmproxy refuses IP literals), so allowing it would change nothing; name the host"
        ));
    }
    host_pattern::normalize(arg).map_err(|m| format!("bad host: {m}"))
}

/// `2026-12-04T23:10:00.123Z` for a time since the epoch.
pub fn utc_timestamp(since_epoch: std::time::Duration) -> String {
    let secs = since_epoch.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since_epoch.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(n: u32, host: &str, change: ChangeKind) -> PolicyChange {
        PolicyChange {
            n,
            at: format!("2026-12-04T23:10:0{n}.000Z"),
            host: host.into(),
            change,
            config_sha256: String::new(),
        }
    }

    fn policy(changes: Vec<PolicyChange>) -> LivePolicy {
        LivePolicy {
            base: vec!["api.anthropic.com".into(), "*.allowed.test".into()],
            changes,
            config: r#"{"version":1,"mode":"strict","api_allowlist":["api.anthropic.com","*.allowed.test"],"logging":{}}"#.into(),
        }
    }

    #[test]
    fn approvals_fold_the_changes_and_follow_the_launch_allowlist() {
        let p = policy(vec![
            change(1, "denied.test", ChangeKind::Added),
            change(2, "registry.npmjs.org", ChangeKind::Added),
            change(3, "denied.test", ChangeKind::Removed),
            change(4, "*.pypi.org", ChangeKind::Added),
        ]);
        let hosts = p.approved_hosts();
        assert_eq!(hosts, ["registry.npmjs.org", "*.pypi.org"]);
        assert_eq!(
            p.allowlist(),
            [
                "api.anthropic.com",
                "*.allowed.test",
                "registry.npmjs.org",
                "*.pypi.org"
            ]
        );
    }

    #[test]
    fn allow_adds_only_what_is_not_covered_and_deny_takes_back_only_live_approvals() {
        let p = policy(vec![change(1, "*.pypi.org", ChangeKind::Added)]);
        let plan = p.allow(&[
            "denied.test".into(),
            "x.allowed.test".into(),
            "files.pypi.org".into(),
            "denied.test".into(),
        ]);
        assert_eq!(plan.add, ["denied.test"]);
        assert_eq!(
            plan.already,
            [
                ("x.allowed.test".into(), "*.allowed.test".into(), false),
                ("files.pypi.org".into(), "*.pypi.org".into(), true),
                ("denied.test".into(), "denied.test".into(), true),
            ]
        );
        assert_eq!(p.deny(&["*.pypi.org".into()]).unwrap(), ["*.pypi.org"]);
        let err = p.deny(&["x.allowed.test".into()]).unwrap_err();
        assert!(err.contains("from its manifest"), "{err}");
        let err = p.deny(&["denied.test".into()]).unwrap_err();
        assert!(err.contains("live approvals: *.pypi.org"), "{err}");
    }

    #[test]
    fn the_live_config_is_the_launch_config_with_the_new_allowlist_after_a_comment() {
        let p = policy(Vec::new());
        let text = p
            .render(
                &["api.anthropic.com".into(), "denied.test".into()],
                "bot-bottle live policy\nchange 1",
            )
            .unwrap();
        let (comment, body) = text.split_once('\n').unwrap();
        assert_eq!(comment, "# bot-bottle live policy change 1");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            v["api_allowlist"],
            serde_json::json!(["api.anthropic.com", "denied.test"])
        );
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["version", "mode", "api_allowlist", "logging"],
            "order kept"
        );
    }

    #[test]
    fn the_addons_live_policy_is_the_approvals_in_force_after_a_note() {
        let text = render_addon(
            "0123456789abcdef",
            &["*.example.dev".into(), "denied.test".into()],
            "change 2\nat noon",
        );
        assert!(text.ends_with('\n') && text.lines().count() == 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"version": 1, "bottle_id": "0123456789abcdef",
                "approved": ["*.example.dev", "denied.test"], "note": "change 2 at noon"})
        );
    }

    #[test]
    fn hosts_are_checked_like_the_manifest_allowlist_and_addresses_refused() {
        assert_eq!(
            check_host("Registry.NPMJS.org").unwrap(),
            "registry.npmjs.org"
        );
        assert_eq!(check_host("*.pypi.org").unwrap(), "*.pypi.org");
        for (bad, says) in [
            ("10.0.0.5", "IP address"),
            ("[::1]", "IP address"),
            ("https://x.org", "scheme"),
            ("x.org:443", "port"),
            ("*", "bare `*`"),
            ("a.*.org", "wildcard"),
            ("localhost", "single label"),
        ] {
            let err = check_host(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        let t = std::time::Duration::from_millis(1_796_425_800_123);
        assert_eq!(utc_timestamp(t), "2026-12-04T23:10:00.123Z");
        assert_eq!(
            utc_timestamp(std::time::Duration::ZERO),
            "1970-01-01T00:00:00.000Z"
        );
    }
}
