//! `AddonConfig`: what mitmproxy's verdict addon (nix/mitmproxy/bottle_verdict.py) is
//! told: where pipelock listens, the request body limit, the sidecars a CONNECT may never
//! reach, the credentials to inject (placeholder, hosts, header; the real values only by
//! the name of the variable that carries them), the agent's secrets to guard, the headers
//! pipelock skips, the bottle's allowlist (under its wildcard entries the addon refuses names
//! that carry data before any lookup, docs/dns.md) and the model lane, the bottle's id. Its
//! schema is the addon's (docs/addon.md). Pure.

use crate::config::credential::{Credential, Scheme};
use crate::config::egress::Egress;
use crate::config::model_policy::ModelPolicy;
use crate::config::provider::{PROVIDERS, Provider};
use crate::plan::addon_policy::AddonPolicy;
use serde::Serialize;

/// The addon reads its config from this variable of mitmproxy's environment.
pub const ADDON_CONFIG_ENV: &str = "BOT_BOTTLE_ADDON_CONFIG";
/// The model lane's verdict cache per bottle: 32 MiB holds a long conversation's blocks.
pub const MODEL_CACHE_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddonConfig {
    pub version: u32,
    /// `host:port` of pipelock's listener.
    pub pipelock: String,
    pub max_body_bytes: u64,
    pub sidecars: Vec<String>,
    pub credentials: Vec<AddonCredential>,
    pub guarded: Vec<Guarded>,
    /// `rules` and `git_push` (addon_policy), keys absent when the bottle has none.
    #[serde(flatten)]
    pub policy: AddonPolicy,
    pub unscanned_headers: Vec<String>,
    /// The bottle's whole allowlist (provider hosts included): what the model lane lets the
    /// provider's servers reach for the agent, with `model_lane.server_hosts`; under its `*.`
    /// entries the addon judges the labels the agent chose (host_labels.py, docs/dns.md).
    pub allowlist: Vec<String>,
    pub model_lane: ModelLane,
    /// The bottle's id: pipelock's allowlist block names it in `bottle allow-host <id>
    /// <host>` (docs/addon.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bottle_id: Option<String>,
}

/// The model lane (docs/addon.md): where its pipelock listens, the provider table, what the
/// provider's servers may do, and the bound of the addon's verdict cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelLane {
    /// `host:port` of the model pipelock.
    pub pipelock: String,
    pub providers: Vec<Provider>,
    pub web_search: bool,
    pub server_hosts: Vec<String>,
    /// Bytes of redacted content blocks the addon keeps per bottle.
    pub cache_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddonCredential {
    pub name: String,
    /// The variable of mitmproxy's environment holding the real value.
    pub env: String,
    pub hosts: Vec<String>,
    pub header: String,
    /// `null`, `"Bearer"` or `"Basic"`.
    pub scheme: Option<&'static str>,
    pub placeholder: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// A secret the agent holds (a forwarded env value): the addon refuses requests that carry
/// it in the headers pipelock skips.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Guarded {
    pub name: String,
    pub env: String,
}

impl ModelLane {
    pub fn new(pipelock: String, model: &ModelPolicy) -> ModelLane {
        ModelLane {
            pipelock,
            providers: PROVIDERS.to_vec(),
            web_search: model.web_search,
            server_hosts: model.server_hosts.clone(),
            cache_bytes: MODEL_CACHE_BYTES,
        }
    }
}

impl AddonConfig {
    pub fn new(
        pipelock: String,
        egress: &Egress,
        sidecars: Vec<String>,
        credentials: &[Credential],
        guarded: &[String],
        model_lane: ModelLane,
    ) -> AddonConfig {
        AddonConfig {
            version: 1,
            pipelock,
            max_body_bytes: egress.max_request_bytes(),
            sidecars,
            credentials: credentials
                .iter()
                .map(|c| AddonCredential {
                    name: c.name.clone(),
                    env: c.value_env(),
                    hosts: c.hosts.clone(),
                    header: c.header.to_ascii_lowercase(),
                    scheme: match c.scheme {
                        Scheme::Plain => None,
                        Scheme::Bearer => Some("Bearer"),
                        Scheme::Basic { .. } => Some("Basic"),
                    },
                    placeholder: c.placeholder(),
                    username: match &c.scheme {
                        Scheme::Basic { username } => Some(username.clone()),
                        _ => None,
                    },
                })
                .collect(),
            guarded: guarded
                .iter()
                .map(|name| Guarded {
                    name: name.clone(),
                    env: guarded_env(name),
                })
                .collect(),
            policy: AddonPolicy::default(),
            unscanned_headers: unscanned_headers(credentials),
            allowlist: egress.allowlist.clone(),
            model_lane,
            bottle_id: None,
        }
    }

    /// The JSON the addon reads (one line: it travels in an environment variable).
    pub fn render(&self) -> String {
        serde_json::to_string(self).expect("plain data serializes")
    }
}

/// The variable of mitmproxy's environment that carries a guarded secret's value.
pub fn guarded_env(name: &str) -> String {
    format!("BOT_BOTTLE_GUARDED_{name}")
}

/// The headers credentials go in, lower-cased, each once, in order: pipelock is told to
/// skip them (the injected value would trip its scan) and the addon scans them instead.
pub fn unscanned_headers(credentials: &[Credential]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in credentials {
        let h = c.header.to_ascii_lowercase();
        if !out.contains(&h) {
            out.push(h);
        }
    }
    out
}
