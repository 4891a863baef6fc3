//! `Bottle`: one validated bottle of the user's manifest (or the embedded default): the
//! agent's environment, its credentials, what it may reach (egress) and what the model
//! provider's servers may reach for it (model), its resource limits, its git identity and
//! runtime. Every error names the file and the JSON path. Pure.

use crate::config::credential::{Credential, MODEL_CREDENTIALS};
use crate::config::egress::Egress;
use crate::config::env_value::{EnvValue, is_env_name};
use crate::config::git_identity::GitIdentity;
use crate::config::manifest::{BottleSpec, ManifestError, Runtime};
use crate::config::model_policy::{self, ModelPolicy};
use crate::config::resources::Resources;
use serde::Serialize;

/// Variables bot-bottle sets itself; a bottle may not override them, or the agent would
/// lose its proxy or its trust in the bottle's CA.
pub const RESERVED_ENV: &[&str] = &[
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "https_proxy",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NODE_EXTRA_CA_CERTS",
    "NODE_USE_ENV_PROXY",
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bottle {
    pub name: String,
    pub source: String,
    pub env: Vec<(String, EnvValue)>,
    /// Declared credentials; the model credentials the host has are added at planning.
    pub credentials: Vec<Credential>,
    pub egress: Egress,
    pub resources: Resources,
    pub git: GitIdentity,
    /// What the model provider's servers may do for the agent (`model`).
    pub model: ModelPolicy,
    pub runtime: Runtime,
}

impl Bottle {
    /// The embedded default bottle: Claude Code's hosts, default limits, nothing else.
    pub fn embedded(name: &str, source: &str) -> Bottle {
        Bottle {
            name: name.into(),
            source: source.into(),
            env: Vec::new(),
            credentials: Vec::new(),
            egress: Egress::default(),
            resources: Resources::default(),
            git: GitIdentity::default(),
            model: ModelPolicy::default(),
            runtime: Runtime::Runc,
        }
    }

    pub fn from_spec(file: &str, name: &str, spec: &BottleSpec) -> Result<Bottle, ManifestError> {
        let at = |field: &str| format!("bottles.{name}{field}");
        let fail = |path: String, message: String| ManifestError {
            file: file.to_string(),
            path,
            message,
        };
        if spec.ssh.is_some() {
            return Err(fail(
                at(".ssh"),
                "SSH stays out of the bottle (pipelock cannot inspect it). For git, declare a credential bound to your git host with \"scheme\": \"Basic\": git then works over HTTPS through the proxy, and ssh-style remotes (git@host:org/repo.git) for that host are rewritten to HTTPS. See README, \"Credentials\"".into(),
            ));
        }
        let egress = Egress::from_spec(&spec.egress)
            .map_err(|(p, m)| fail(at(&format!(".egress{p}")), m))?;
        let resources = Resources::from_spec(&spec.resources)
            .map_err(|(p, m)| fail(at(&format!(".resources{p}")), m))?;
        let git = match &spec.git {
            Some(g) => {
                GitIdentity::from_spec(g).map_err(|(p, m)| fail(at(&format!(".git{p}")), m))?
            }
            None => GitIdentity::default(),
        };
        let model = match &spec.model {
            Some(v) if !v.is_null() => {
                model_policy::from_value(v).map_err(|(p, m)| fail(at(&p), m))?
            }
            _ => ModelPolicy::default(),
        };
        let mut env = Vec::new();
        for (key, raw) in &spec.env {
            let path = at(&format!(".env.{key}"));
            check_variable(key).map_err(|m| fail(path.clone(), m))?;
            if MODEL_CREDENTIALS.contains(&key.as_str()) {
                return Err(fail(
                    path,
                    format!(
                        "`{key}` is a model credential, which the agent must not hold: leave it out (bottle injects your host's {key} for api.anthropic.com at the proxy), or declare it under `credentials`"
                    ),
                ));
            }
            let value = EnvValue::parse(raw).map_err(|m| fail(path, m))?;
            env.push((key.clone(), value));
        }
        let mut credentials = Vec::new();
        for (key, cred) in &spec.credentials {
            let path = at(&format!(".credentials.{key}"));
            check_variable(key).map_err(|m| fail(path.clone(), m))?;
            if spec.env.contains_key(key) {
                return Err(fail(
                    path,
                    format!(
                        "`{key}` is also declared under env: a name is either an env variable (the agent holds its value) or a credential (it never does), not both"
                    ),
                ));
            }
            let credential = Credential::from_spec(key, cred, &egress)
                .map_err(|(p, m)| fail(format!("{path}{p}"), m))?;
            credentials.push(credential);
        }
        Ok(Bottle {
            name: name.to_string(),
            source: file.to_string(),
            env,
            credentials,
            egress,
            resources,
            git,
            model,
            runtime: spec.runtime.unwrap_or_default(),
        })
    }
}

/// A name the agent's environment may carry: valid, and not one bot-bottle or the docker
/// CLI needs for itself.
fn check_variable(key: &str) -> Result<(), String> {
    if !is_env_name(key) {
        return Err(format!(
            "`{key}` is not a valid environment variable name; use letters, digits and _, not starting with a digit"
        ));
    }
    if key.starts_with("DOCKER_") {
        return Err(format!(
            "`{key}` is reserved: forwarded values pass through the docker CLI's environment, where DOCKER_* would redirect bot-bottle's own docker commands"
        ));
    }
    if key.starts_with("BOT_BOTTLE_") {
        return Err(format!(
            "`{key}` is reserved: BOT_BOTTLE_* names carry bot-bottle's own values"
        ));
    }
    if RESERVED_ENV.contains(&key) {
        return Err(format!(
            "`{key}` is set by bot-bottle itself (proxy and CA settings) and cannot be overridden"
        ));
    }
    Ok(())
}
