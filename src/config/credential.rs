//! `Credential`: a secret the agent never holds. Its value comes from a prompt or a host
//! variable at launch and goes only to mitmproxy (and pipelock, to scan for it); the
//! agent's environment gets a fixed, non-secret placeholder, which mitmproxy's addon swaps
//! for the value only on requests to the credential's hosts, in its header. The model
//! credentials are credentials of this kind by default. Pure.

use crate::config::egress::Egress;
use crate::config::env_value::{EnvValue, is_env_name};
use crate::config::host_pattern;
use crate::config::manifest::CredentialSpec;
use crate::config::provider::PROVIDERS;
use serde::Serialize;

/// The model credentials: injected for Anthropic's API when the host has them.
pub const MODEL_CREDENTIALS: &[&str] = &["ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"];
/// Where the model credentials go by default: the first provider's (Anthropic's) API.
pub const MODEL_HOSTS: &[&str] = PROVIDERS[0].hosts;
/// The username git is given for a Basic credential unless the manifest says otherwise
/// (GitHub, Gitea and GitLab accept a token as the password with any username).
pub const DEFAULT_BASIC_USERNAME: &str = "x-access-token";

/// Headers that frame or route a request: a credential in one would be lost or misread.
const FORBIDDEN_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Credential {
    /// The variable the agent sees (holding the placeholder).
    pub name: String,
    pub source: ValueSource,
    /// Allowlist patterns (`host` or `*.domain`): the only destinations that get the value.
    pub hosts: Vec<String>,
    /// The header the value goes in, as written (`Authorization`, `x-api-key`).
    pub header: String,
    pub scheme: Scheme,
}

/// Where a forwarded variable's or a credential's value comes from at launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum ValueSource {
    /// `?prompt`: asked on the terminal at launch, never echoed.
    Prompt { prompt: Option<String> },
    /// `${VAR}`: copied from the host variable at launch (which was set when planning).
    Host { var: String },
}

impl ValueSource {
    /// For plans: `asked at launch: "…"`, `asked at launch`, `from host $VAR`.
    pub fn describe(&self) -> String {
        match self {
            ValueSource::Prompt { prompt: Some(p) } => format!("asked at launch: {p:?}"),
            ValueSource::Prompt { prompt: None } => "asked at launch".to_string(),
            ValueSource::Host { var } => format!("from host ${var}"),
        }
    }
}

/// How the value sits in its header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "scheme", rename_all = "snake_case")]
pub enum Scheme {
    /// The header's value is the placeholder (`x-api-key: <placeholder>`).
    Plain,
    /// `Authorization: Bearer <placeholder>` (or any prefix before the placeholder, such
    /// as GitHub's `token <placeholder>`).
    Bearer,
    /// `Authorization: Basic base64(username:<placeholder>)`: git over HTTPS.
    Basic { username: String },
}

impl Credential {
    /// Checks `credentials.<name>` of a bottle whose egress is `egress`. An error is
    /// `(path under the credential, message)`.
    pub fn from_spec(
        name: &str,
        spec: &CredentialSpec,
        egress: &Egress,
    ) -> Result<Credential, (String, String)> {
        if !is_env_name(name) {
            return Err((
                String::new(),
                format!(
                    "`{name}` is not a valid environment variable name (the agent gets the placeholder under it); use letters, digits and _, not starting with a digit"
                ),
            ));
        }
        let source = match EnvValue::parse(&spec.value).map_err(|m| (".value".into(), m))? {
            EnvValue::Prompt { prompt } => ValueSource::Prompt { prompt },
            EnvValue::Host { var } => ValueSource::Host { var },
            EnvValue::Literal(_) => {
                return Err((
                    ".value".into(),
                    "a credential's value must come from \"?\" (asked at launch) or \"${HOST_VAR}\" (your environment): a literal would sit in the manifest file".into(),
                ));
            }
        };
        let hosts = hosts(spec, egress)?;
        let header = header(spec)?;
        let scheme = scheme(spec)?;
        Ok(Credential {
            name: name.to_string(),
            source,
            hosts,
            header,
            scheme,
        })
    }

    /// A model credential the host has, injected for Anthropic's API: `ANTHROPIC_API_KEY`
    /// as `x-api-key`, `CLAUDE_CODE_OAUTH_TOKEN` as `Authorization: Bearer`.
    pub fn model(name: &str) -> Credential {
        let (header, scheme) = if name == "ANTHROPIC_API_KEY" {
            ("x-api-key", Scheme::Plain)
        } else {
            ("Authorization", Scheme::Bearer)
        };
        Credential {
            name: name.to_string(),
            source: ValueSource::Host {
                var: name.to_string(),
            },
            hosts: MODEL_HOSTS.iter().map(|h| h.to_string()).collect(),
            header: header.to_string(),
            scheme,
        }
    }

    /// The fixed, non-secret value the agent holds instead. It names its variable and is
    /// shaped like no real key, so no DLP pattern mistakes it for one (Claude Code sends
    /// either model credential as it finds it; checked with the real CLI).
    pub fn placeholder(&self) -> String {
        format!("bot-bottle-placeholder-{}", self.name)
    }

    /// The variable that carries the real value into mitmproxy's (and pipelock's)
    /// environment.
    pub fn value_env(&self) -> String {
        format!("BOT_BOTTLE_CREDENTIAL_{}", self.name)
    }
}

/// RFC 9110 `token`: a header field name.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// `hosts`: not empty, each a host pattern on the bottle's allowlist; duplicates dropped.
fn hosts(spec: &CredentialSpec, egress: &Egress) -> Result<Vec<String>, (String, String)> {
    if spec.hosts.is_empty() {
        return Err((
            ".hosts".into(),
            "the host list is empty: name the hosts this credential may be sent to (each on the bottle's allowlist)".into(),
        ));
    }
    let mut hosts = Vec::new();
    for (i, entry) in spec.hosts.iter().enumerate() {
        let at = format!(".hosts[{i}]");
        let host = host_pattern::normalize(entry).map_err(|m| (at.clone(), m))?;
        if !egress.allows(&host) {
            return Err((
                at,
                format!(
                    "`{host}` is not on this bottle's allowlist, so the credential could never be sent there; add it to egress.allowlist or remove it here"
                ),
            ));
        }
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    Ok(hosts)
}

/// `header` (default `Authorization`): a header name that does not frame or route.
fn header(spec: &CredentialSpec) -> Result<String, (String, String)> {
    let header = spec
        .header
        .clone()
        .unwrap_or_else(|| "Authorization".into());
    if !is_header_name(&header) {
        return Err((
            ".header".into(),
            format!(
                "`{header}` is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~)"
            ),
        ));
    }
    if FORBIDDEN_HEADERS.contains(&header.to_ascii_lowercase().as_str()) {
        return Err((
            ".header".into(),
            format!("`{header}` frames or routes the request; a credential cannot go there"),
        ));
    }
    Ok(header)
}

/// `scheme` (and `username`, which only Basic takes).
fn scheme(spec: &CredentialSpec) -> Result<Scheme, (String, String)> {
    let scheme = match spec
        .scheme
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("none") => Scheme::Plain,
        Some("bearer") => Scheme::Bearer,
        Some("basic") => Scheme::Basic {
            username: spec
                .username
                .clone()
                .unwrap_or_else(|| DEFAULT_BASIC_USERNAME.into()),
        },
        Some(_) => {
            return Err((
                ".scheme".into(),
                format!(
                    "unknown scheme `{}`; expected \"Bearer\", \"Basic\" or \"none\" (the value alone)",
                    spec.scheme.as_deref().unwrap_or_default()
                ),
            ));
        }
    };
    if let Some(user) = &spec.username {
        if !matches!(scheme, Scheme::Basic { .. }) {
            return Err((
                ".username".into(),
                "a username goes with the Basic scheme only".into(),
            ));
        }
        if user.is_empty() || user.contains([':', '\n', '\r', '\0']) {
            return Err((
                ".username".into(),
                "the username may not be empty or hold `:`, a newline or NUL".into(),
            ));
        }
    }
    Ok(scheme)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn egress() -> Egress {
        Egress::from_spec(
            &serde_json::from_value(json!({"allowlist": ["git.example.com", "*.corp.example"]}))
                .unwrap(),
        )
        .unwrap()
    }

    fn check(spec: serde_json::Value) -> Result<Credential, (String, String)> {
        Credential::from_spec(
            "GIT_TOKEN",
            &serde_json::from_value(spec).unwrap(),
            &egress(),
        )
    }

    #[test]
    fn a_basic_credential_for_git() {
        let c = check(
            json!({"value": "${GH}", "hosts": ["git.example.com", "a.corp.example"],
                             "scheme": "Basic"}),
        )
        .unwrap();
        assert_eq!(c.header, "Authorization");
        assert_eq!(
            c.scheme,
            Scheme::Basic {
                username: "x-access-token".into()
            }
        );
        assert_eq!(c.source, ValueSource::Host { var: "GH".into() });
        assert_eq!(c.placeholder(), "bot-bottle-placeholder-GIT_TOKEN");
    }

    #[test]
    fn bad_credentials_name_the_field() {
        for (spec, path, says) in [
            (
                json!({"value": "ghp_literal", "hosts": ["git.example.com"]}),
                ".value",
                "literal",
            ),
            (json!({"value": "?", "hosts": []}), ".hosts", "empty"),
            (
                json!({"value": "?", "hosts": ["github.com"]}),
                ".hosts[0]",
                "not on this bottle's allowlist",
            ),
            (json!({"value": "?", "hosts": ["*"]}), ".hosts[0]", "bare"),
            (
                json!({"value": "?", "hosts": ["git.example.com"], "header": "X Bad"}),
                ".header",
                "not a valid HTTP header",
            ),
            (
                json!({"value": "?", "hosts": ["git.example.com"], "header": "Host"}),
                ".header",
                "frames or routes",
            ),
            (
                json!({"value": "?", "hosts": ["git.example.com"], "scheme": "Digest"}),
                ".scheme",
                "unknown scheme",
            ),
            (
                json!({"value": "?", "hosts": ["git.example.com"], "username": "me"}),
                ".username",
                "Basic scheme only",
            ),
        ] {
            let (p, m) = check(spec.clone()).unwrap_err();
            assert_eq!(p, path, "{spec}");
            assert!(m.contains(says), "{spec}: {m}");
        }
    }

    #[test]
    fn model_credentials_and_their_fixed_placeholders() {
        let api = Credential::model("ANTHROPIC_API_KEY");
        let oauth = Credential::model("CLAUDE_CODE_OAUTH_TOKEN");
        assert_eq!(api.header, "x-api-key");
        assert_eq!(oauth.scheme, Scheme::Bearer);
        assert_eq!(
            api.placeholder(),
            "bot-bottle-placeholder-ANTHROPIC_API_KEY"
        );
        assert!(
            !oauth.placeholder().starts_with("sk-ant-"),
            "no DLP pattern may match it"
        );
        assert_ne!(api.placeholder(), oauth.placeholder());
        assert_eq!(api.value_env(), "BOT_BOTTLE_CREDENTIAL_ANTHROPIC_API_KEY");
    }
}
