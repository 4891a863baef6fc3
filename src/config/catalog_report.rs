//! `bottle agents` and `bottle info`: the catalog explained to a person. Pure.

use crate::config::catalog::{Agent, Bottle, Catalog};
use crate::config::claude_code::is_claude_program;
use crate::config::env_value::EnvValue;
use std::fmt::Write;

pub fn agents(catalog: &Catalog) -> String {
    let mut out = String::new();
    let width = catalog
        .agents
        .keys()
        .map(String::len)
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(out, "{:<width$}  {:<12}  SOURCE", "AGENT", "BOTTLE");
    for agent in catalog.agents.values() {
        let _ = writeln!(
            out,
            "{:<width$}  {:<12}  {}",
            agent.name, agent.bottle, agent.source
        );
    }
    out
}

/// The egress rules and the git push policy: what the hosts they name are open to.
fn rules(w: &mut String, bottle: &crate::config::bottle::Bottle) {
    if bottle.egress.rules.is_empty() {
        let _ = writeln!(
            w,
            "  egress rules: none (allowed hosts are open to every method and path)"
        );
    } else {
        let _ = writeln!(
            w,
            "  egress rules (a host named here is open only to these; GET includes HEAD):"
        );
        for line in crate::config::egress_rules::describe(&bottle.egress.rules) {
            let _ = writeln!(w, "    {line}");
        }
    }
    match &bottle.git.push {
        None => {
            let _ = writeln!(w, "  git push: any ref");
        }
        Some(p) => {
            let refs = if p.refs.is_empty() {
                "none".to_string()
            } else {
                p.refs.join(", ")
            };
            let delete = if p.delete { "allowed" } else { "refused" };
            let _ = writeln!(w, "  git push: refs {refs}; deleting refs {delete}");
        }
    }
}

pub fn info(catalog: &Catalog, agent: &Agent) -> String {
    let bottle = &catalog.bottles[&agent.bottle];
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "agent {}  (from {})", agent.name, agent.source);
    let quoted: Vec<String> = agent
        .command
        .iter()
        .map(|a| {
            shlex::try_quote(a)
                .map(|q| q.into_owned())
                .unwrap_or_else(|_| format!("{a:?}"))
        })
        .collect();
    let _ = writeln!(w, "  command: {}", quoted.join(" "));
    match &agent.prompt {
        Some(p) => {
            let first = p.lines().next().unwrap_or("");
            let _ = writeln!(
                w,
                "  prompt:  {} line(s), starting {first:?}; passed as the command's last argument",
                p.lines().count()
            );
        }
        None => {
            let _ = writeln!(w, "  prompt:  none");
        }
    }
    let skills = if agent.skills.is_empty() {
        "none".to_string()
    } else {
        agent.skills.join(", ")
    };
    let _ = writeln!(w, "  skills:  {skills}");
    let _ = writeln!(w, "  claude code: {}", claude_code_line(agent));
    let ports: Vec<String> = agent
        .ports
        .iter()
        .map(|p| format!("{} -> agent port {}", p.url(), p.agent))
        .collect();
    let ports = if ports.is_empty() {
        "none (bottle run -p [HOST_PORT:]AGENT_PORT opens one)".to_string()
    } else {
        ports.join(", ")
    };
    let _ = writeln!(w, "  ports:   {ports}");
    let _ = writeln!(w, "bottle {}  (from {})", bottle.name, bottle.source);
    let _ = writeln!(w, "  runtime: {:?}", bottle.runtime);
    let _ = writeln!(
        w,
        "  egress allowlist ({} hosts):",
        bottle.egress.allowlist.len()
    );
    for host in &bottle.egress.allowlist {
        let _ = writeln!(w, "    {host}");
    }
    rules(w, bottle);
    model_lane(w, bottle);
    let _ = writeln!(w, "  env:");
    if bottle.env.is_empty() {
        let _ = writeln!(w, "    (none declared)");
    }
    for (name, value) in &bottle.env {
        let how = match value {
            EnvValue::Prompt { prompt: Some(p) } => format!("secret, asked at launch ({p:?})"),
            EnvValue::Prompt { prompt: None } => "secret, asked at launch".to_string(),
            EnvValue::Host { var } => format!("secret, copied from host ${var}"),
            EnvValue::Literal(_) => "literal (value not shown)".to_string(),
        };
        let _ = writeln!(w, "    {name}: {how}");
    }
    let _ = writeln!(w, "  credentials (the agent holds placeholders):");
    for c in &bottle.credentials {
        let _ = writeln!(w, "    {}: for {}", c.name, c.hosts.join(", "));
    }
    let _ = writeln!(
        w,
        "    and, when set on the host: {} (for {})",
        crate::config::credential::MODEL_CREDENTIALS.join(", "),
        crate::config::credential::MODEL_HOSTS.join(", ")
    );
    out
}

/// The model lane: its hosts, and what the provider's servers may do (`model`).
fn model_lane(w: &mut String, bottle: &Bottle) {
    let hosts: Vec<String> = crate::config::provider::provider_hosts()
        .into_iter()
        .filter(|h| bottle.egress.allows(h))
        .collect();
    let m = &bottle.model;
    let beyond = if m.server_hosts.is_empty() {
        "nothing".to_string()
    } else {
        m.server_hosts.join(", ")
    };
    let _ = writeln!(
        w,
        "  model lane: {} (its own pipelock); the provider's servers may search the web: {}, reach beyond the allowlist: {beyond}",
        hosts.join(", "),
        if m.web_search { "yes" } else { "no" }
    );
}

/// What bottle does for Claude Code in this agent (README, "Claude Code in a bottle").
fn claude_code_line(agent: &Agent) -> String {
    let cc = &agent.claude_code;
    let why = match cc.enabled {
        Some(true) => "claude_code.enabled",
        Some(false) => return "no (claude_code.enabled is false): its files are left alone".into(),
        None if is_claude_program(&agent.command) => "the command's program is `claude`",
        None => {
            return "no (the command's program is not `claude`; claude_code.enabled says otherwise)"
                .into();
        }
    };
    let off: Vec<&str> = cc.turned_off().map(|h| h.what).collect();
    let off = if off.is_empty() {
        "nothing".to_string()
    } else {
        off.join(", ")
    };
    format!(
        "yes ({why}): its first-run questions are answered (onboarding, the API key's placeholder, trust in the work directory, bypass-permissions mode when asked for); turned off: {off}"
    )
}
