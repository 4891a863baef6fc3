//! `Egress`: what a bottle may reach and how much: the host allowlist, the private hosts
//! pipelock may connect to despite its SSRF check, the per-host method and path rules, the
//! request rate, the body and response size limits, and the longest a request may take.
//! Validated from the manifest with defaults that fit a Claude Code session. Pure.

use crate::config::egress_rules::{self, EgressRule};
use crate::config::host_pattern;
use crate::config::manifest::EgressSpec;
use crate::config::number;
use serde::Serialize;

/// Hosts Claude Code needs; every bottle's allowlist starts with them.
pub const DEFAULT_ALLOWLIST: &[&str] = &[
    "api.anthropic.com",
    "statsig.anthropic.com",
    "sentry.io",
    "claude.ai",
    "platform.claude.com",
    "downloads.claude.ai",
    "raw.githubusercontent.com",
];

/// Requests per minute to one registrable domain. pipelock's own default (60) is below
/// what one Claude Code session makes (model calls, telemetry and tool fetches share
/// anthropic.com's budget).
pub const DEFAULT_REQUESTS_PER_MINUTE: u64 = 600;
/// The largest request body, in MiB, the addon and pipelock both accept.
pub const DEFAULT_MAX_REQUEST_MB: u64 = 16;
/// The largest non-streamed response, in MiB. pipelock cuts a larger one short.
pub const DEFAULT_MAX_RESPONSE_MB: u64 = 64;
/// The longest a request may take, response body included: a model answer streams for
/// minutes, and pipelock ends any request at this limit.
pub const DEFAULT_REQUEST_TIMEOUT_SECONDS: u64 = 1800;

const MAX_REQUESTS_PER_MINUTE: u64 = 100_000;
const MAX_REQUEST_MB: u64 = 1024;
const MAX_RESPONSE_MB: u64 = 4096;
const MAX_REQUEST_TIMEOUT_SECONDS: u64 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Egress {
    /// The default hosts followed by the bottle's own, without repeats.
    pub allowlist: Vec<String>,
    /// Hosts on private addresses (an internal registry or git server) that pipelock may
    /// connect to: its `trusted_domains`. Reachable only once on the allowlist (from the
    /// manifest, or approved live).
    pub private_hosts: Vec<String>,
    /// Which methods and paths the hosts they name are open to (egress_rules).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<EgressRule>,
    pub requests_per_minute: u64,
    pub max_request_mb: u64,
    pub max_response_mb: u64,
    pub request_timeout_seconds: u64,
}

impl Default for Egress {
    fn default() -> Egress {
        Egress {
            allowlist: DEFAULT_ALLOWLIST.iter().map(|h| h.to_string()).collect(),
            private_hosts: Vec::new(),
            rules: Vec::new(),
            requests_per_minute: DEFAULT_REQUESTS_PER_MINUTE,
            max_request_mb: DEFAULT_MAX_REQUEST_MB,
            max_response_mb: DEFAULT_MAX_RESPONSE_MB,
            request_timeout_seconds: DEFAULT_REQUEST_TIMEOUT_SECONDS,
        }
    }
}

impl Egress {
    /// Checks the bottle's `egress` object. An error is `(path under egress, message)`.
    pub fn from_spec(spec: &EgressSpec) -> Result<Egress, (String, String)> {
        let mut egress = Egress::default();
        for (i, entry) in spec.allowlist.iter().enumerate() {
            let host =
                host_pattern::normalize(entry).map_err(|m| (format!(".allowlist[{i}]"), m))?;
            if !egress.allowlist.contains(&host) {
                egress.allowlist.push(host);
            }
        }
        for (i, entry) in spec.private_hosts.iter().enumerate() {
            let at = format!(".private_hosts[{i}]");
            if host_pattern::is_address(entry) {
                return Err((
                    at,
                    format!(
                        "`{entry}` is an address; private_hosts takes host names (pipelock lets those through its private-address check by name), like git.internal.example"
                    ),
                ));
            }
            // Not necessarily on the allowlist: a private host may be approved live
            // (`bottle allow-host`), and pipelock refuses a reload that adds trusted_domains
            // in strict mode, so it must be trusted from the launch on. It allows nothing by
            // itself.
            let host = host_pattern::normalize(entry).map_err(|m| (at, m))?;
            if !egress.private_hosts.contains(&host) {
                egress.private_hosts.push(host);
            }
        }
        egress.rules = egress_rules::from_specs(&spec.rules, &egress.allowlist)?;
        let limit =
            |value: &Option<serde_json::Value>, field: &str, max: u64, unit: &str, default: u64| {
                value.as_ref().map_or(Ok(default), |v| {
                    number::whole(v, max, unit).map_err(|m| (format!(".{field}"), m))
                })
            };
        egress.requests_per_minute = limit(
            &spec.requests_per_minute,
            "requests_per_minute",
            MAX_REQUESTS_PER_MINUTE,
            "requests per minute",
            DEFAULT_REQUESTS_PER_MINUTE,
        )?;
        egress.max_request_mb = limit(
            &spec.max_request_mb,
            "max_request_mb",
            MAX_REQUEST_MB,
            "MiB",
            DEFAULT_MAX_REQUEST_MB,
        )?;
        egress.max_response_mb = limit(
            &spec.max_response_mb,
            "max_response_mb",
            MAX_RESPONSE_MB,
            "MiB",
            DEFAULT_MAX_RESPONSE_MB,
        )?;
        egress.request_timeout_seconds = limit(
            &spec.request_timeout_seconds,
            "request_timeout_seconds",
            MAX_REQUEST_TIMEOUT_SECONDS,
            "seconds",
            DEFAULT_REQUEST_TIMEOUT_SECONDS,
        )?;
        Ok(egress)
    }

    /// The request body limit in bytes, as the addon and pipelock both get it.
    pub fn max_request_bytes(&self) -> u64 {
        self.max_request_mb * 1024 * 1024
    }

    /// Whether `host` (a name, or an allowlist pattern) is covered by the allowlist.
    pub fn allows(&self, host: &str) -> bool {
        self.allowlist.iter().any(|a| host_pattern::covers(a, host))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: serde_json::Value) -> EgressSpec {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn defaults_fit_a_claude_code_session() {
        let e = Egress::from_spec(&EgressSpec::default()).unwrap();
        assert_eq!(e, Egress::default());
        assert_eq!(e.max_request_bytes(), 16 * 1024 * 1024);
        assert!(e.allows("api.anthropic.com"));
    }

    #[test]
    fn private_hosts_are_names() {
        let ok = Egress::from_spec(&spec(json!({
            "allowlist": ["*.internal.example", "git.corp"],
            "private_hosts": ["git.corp", "registry.internal.example", "git.corp"]
        })))
        .unwrap();
        // Off the allowlist too: one that may be approved live.
        let later = Egress::from_spec(&spec(json!({
            "allowlist": ["git.corp"], "private_hosts": ["registry.corp"]
        })))
        .unwrap();
        assert_eq!(later.private_hosts, ["registry.corp"]);
        assert!(!later.allows("registry.corp"));
        assert_eq!(
            ok.private_hosts,
            ["git.corp", "registry.internal.example"],
            "normalised, without repeats"
        );
        for (bad, path, says) in [
            (json!(["10.0.0.5"]), ".private_hosts[0]", "is an address"),
            (json!(["10.0.0.0/8"]), ".private_hosts[0]", "is an address"),
            (json!(["*"]), ".private_hosts[0]", "bare `*`"),
            (json!(["https://git.corp"]), ".private_hosts[0]", "scheme"),
            (json!(["git.corp:8443"]), ".private_hosts[0]", "port"),
        ] {
            let (p, m) = Egress::from_spec(&spec(json!({
                "allowlist": ["git.corp"], "private_hosts": bad
            })))
            .unwrap_err();
            assert_eq!(p, path);
            assert!(m.contains(says), "{bad}: {m}");
        }
    }

    #[test]
    fn limits_are_positive_whole_numbers() {
        let e = Egress::from_spec(&spec(json!({
            "requests_per_minute": 1200, "max_request_mb": 32,
            "max_response_mb": 128, "request_timeout_seconds": 3600
        })))
        .unwrap();
        assert_eq!(
            (
                e.requests_per_minute,
                e.max_request_mb,
                e.max_response_mb,
                e.request_timeout_seconds
            ),
            (1200, 32, 128, 3600)
        );
        for field in [
            "requests_per_minute",
            "max_request_mb",
            "max_response_mb",
            "request_timeout_seconds",
        ] {
            for bad in [json!(0), json!(-1), json!("10"), json!(2.5)] {
                let (p, _) = Egress::from_spec(&spec(json!({ field: bad }))).unwrap_err();
                assert_eq!(p, format!(".{field}"));
            }
        }
    }
}
