//! `Provider`: a model provider's API as data: the hosts its API answers on (the model
//! lane), the request headers that carry an account's identity, and the endpoints of its
//! own login flow. One table ([`PROVIDERS`]); another provider is one more entry. mitmproxy's
//! addon gets the table (addon config `model_lane.providers`); the model pipelock's
//! allowlist is its hosts. Pure.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Provider {
    /// Names the provider in the addon config and its refusals.
    pub name: &'static str,
    /// The API's hosts: requests to them take the model lane.
    pub hosts: &'static [&'static str],
    /// Lower-cased request headers that carry an account's key or token: on the model lane
    /// only the bottle's own credential may travel in them.
    pub identity_headers: &'static [&'static str],
    /// The provider's login (OAuth token) endpoints: a login from inside the bottle would
    /// bring in an identity the bottle did not declare.
    pub login: &'static [Endpoint],
}

/// One endpoint: a host and an exact path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    pub host: &'static str,
    pub path: &'static str,
}

/// The providers bot-bottle knows. Anthropic: the Messages API on api.anthropic.com, keys
/// in `x-api-key` (API keys) or `Authorization: Bearer` (OAuth tokens, `claude
/// setup-token`), a session cookie being an identity too; and the token endpoints Claude
/// Code's `/login` posts to.
pub const PROVIDERS: &[Provider] = &[Provider {
    name: "anthropic",
    hosts: &["api.anthropic.com"],
    identity_headers: &["authorization", "x-api-key", "cookie"],
    login: &[
        Endpoint {
            host: "platform.claude.com",
            path: "/v1/oauth/token",
        },
        Endpoint {
            host: "console.anthropic.com",
            path: "/v1/oauth/token",
        },
    ],
}];

/// Every provider's API hosts, in the table's order, each once.
pub fn provider_hosts() -> Vec<String> {
    let mut hosts: Vec<String> = Vec::new();
    for p in PROVIDERS {
        for h in p.hosts {
            if !hosts.iter().any(|x| x == h) {
                hosts.push(h.to_string());
            }
        }
    }
    hosts
}

/// Whether `host` (a name or an allowlist pattern) is exactly one of the providers' API
/// hosts.
pub fn is_provider_host(host: &str) -> bool {
    PROVIDERS
        .iter()
        .any(|p| p.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::host_pattern;

    #[test]
    fn the_table_is_well_formed() {
        assert!(!PROVIDERS.is_empty());
        for (i, p) in PROVIDERS.iter().enumerate() {
            assert!(
                !p.hosts.is_empty() && !p.identity_headers.is_empty(),
                "{p:?}"
            );
            for h in p.hosts.iter().chain(p.login.iter().map(|e| &e.host)) {
                assert_eq!(host_pattern::normalize(h).as_deref(), Ok(*h), "{h}");
                assert!(!h.starts_with("*."), "a provider host is a name: {h}");
            }
            for h in p.identity_headers {
                assert_eq!(*h, h.to_ascii_lowercase());
            }
            for e in p.login {
                assert!(e.path.starts_with('/'), "{e:?}");
            }
            assert!(PROVIDERS[i + 1..].iter().all(|q| q.name != p.name));
        }
        assert_eq!(provider_hosts(), ["api.anthropic.com"]);
        assert!(is_provider_host("API.anthropic.com"));
        assert!(!is_provider_host("statsig.anthropic.com"));
    }
}
