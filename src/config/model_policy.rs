//! `ModelPolicy`: the bottle's `model` object, what the model provider's servers may do
//! for the agent: run their web search (`web_search`), and reach the hosts in
//! `server_hosts` (remote MCP servers, `web_fetch` domains) besides the bottle's
//! allowlist. Everything else of that kind the addon refuses on the model lane. Validated
//! from the manifest, every error naming its JSON path. Pure.

use crate::config::host_pattern;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ModelPolicy {
    /// The provider's server-side web search may run (it reaches any host).
    pub web_search: bool,
    /// Host patterns the provider's servers may reach for the agent, beyond the allowlist.
    pub server_hosts: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an object with \"web_search\" and/or \"server_hosts\""
)]
struct ModelSpec {
    #[serde(default)]
    web_search: bool,
    #[serde(default)]
    server_hosts: Vec<String>,
}

/// Checks the bottle's `model` value. An error is `(path under the bottle, message)`.
pub fn from_value(value: &serde_json::Value) -> Result<ModelPolicy, (String, String)> {
    if !value.is_object() {
        return Err((
            ".model".into(),
            "expected an object like {\"web_search\": false, \"server_hosts\": [\"mcp.example.com\"]}"
                .into(),
        ));
    }
    let spec: ModelSpec = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            String::new()
        } else {
            format!(".{path}")
        };
        (format!(".model{field}"), e.into_inner().to_string())
    })?;
    let mut server_hosts: Vec<String> = Vec::new();
    for (i, entry) in spec.server_hosts.iter().enumerate() {
        let at = format!(".model.server_hosts[{i}]");
        if host_pattern::is_address(entry) {
            return Err((
                at,
                format!(
                    "`{entry}` is an address; server_hosts takes host names (the provider's servers connect by name), like mcp.example.com"
                ),
            ));
        }
        let host = host_pattern::normalize(entry).map_err(|m| (at, m))?;
        if !server_hosts.contains(&host) {
            server_hosts.push(host);
        }
    }
    Ok(ModelPolicy {
        web_search: spec.web_search,
        server_hosts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_policy_is_web_search_and_server_hosts() {
        assert_eq!(from_value(&json!({})).unwrap(), ModelPolicy::default());
        let p = from_value(&json!({
            "web_search": true,
            "server_hosts": ["MCP.example.com", "*.docs.example", "mcp.example.com"]
        }))
        .unwrap();
        assert!(p.web_search);
        assert_eq!(
            p.server_hosts,
            ["mcp.example.com", "*.docs.example"],
            "normalised, without repeats"
        );
    }

    #[test]
    fn every_mistake_names_its_field() {
        for (bad, path, says) in [
            (json!(true), ".model", "expected an object"),
            (
                json!({"websearch": true}),
                ".model.websearch",
                "unknown field",
            ),
            (
                json!({"web_search": "yes"}),
                ".model.web_search",
                "expected a boolean",
            ),
            (
                json!({"server_hosts": "mcp.example.com"}),
                ".model.server_hosts",
                "expected a sequence",
            ),
            (
                json!({"server_hosts": ["*"]}),
                ".model.server_hosts[0]",
                "bare `*`",
            ),
            (
                json!({"server_hosts": ["ok.example", "https://mcp.example.com/sse"]}),
                ".model.server_hosts[1]",
                "scheme",
            ),
            (
                json!({"server_hosts": ["10.1.2.3"]}),
                ".model.server_hosts[0]",
                "is an address",
            ),
            (
                json!({"server_hosts": ["mcp"]}),
                ".model.server_hosts[0]",
                "single label",
            ),
        ] {
            let (p, m) = from_value(&bad).unwrap_err();
            assert_eq!(p, path, "{bad}: {m}");
            assert!(m.contains(says), "{bad}: {m}");
        }
    }
}
