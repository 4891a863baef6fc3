//! `Role`: what a resource is for in a bottle, and the labels every resource carries
//! (`bot-bottle.id`, `.agent`, `.role`, `.uid`) by which `ls`, `cleanup` and teardown
//! find them. Pure.

use serde::Serialize;

pub const LABEL_ID: &str = "bot-bottle.id";
pub const LABEL_AGENT: &str = "bot-bottle.agent";
pub const LABEL_ROLE: &str = "bot-bottle.role";
pub const LABEL_UID: &str = "bot-bottle.uid";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Agent,
    Pipelock,
    Mitmproxy,
    /// agent + mitmproxy, internal.
    AgentNetwork,
    /// mitmproxy + pipelock, internal.
    ProxyNetwork,
    /// pipelock alone, with a route out.
    EgressNetwork,
    /// The `--cwd` agent image.
    CwdImage,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Agent,
        Role::Pipelock,
        Role::Mitmproxy,
        Role::AgentNetwork,
        Role::ProxyNetwork,
        Role::EgressNetwork,
        Role::CwdImage,
    ];

    /// The role a `bot-bottle.role` label names.
    pub fn from_label(label: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.label() == label)
    }

    /// The `bot-bottle.role` label value.
    pub fn label(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Pipelock => "pipelock",
            Role::Mitmproxy => "mitmproxy",
            Role::AgentNetwork => "agent-network",
            Role::ProxyNetwork => "proxy-network",
            Role::EgressNetwork => "egress-network",
            Role::CwdImage => "cwd-image",
        }
    }
}

/// The labels of one launch's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    pub bottle_id: String,
    pub agent: String,
    pub uid: u32,
}

impl Labels {
    /// `--label k=v` pairs for a resource with `role`.
    pub fn args(&self, role: Role) -> Vec<String> {
        [
            format!("{LABEL_ID}={}", self.bottle_id),
            format!("{LABEL_AGENT}={}", self.agent),
            format!("{LABEL_ROLE}={}", role.label()),
            format!("{LABEL_UID}={}", self.uid),
        ]
        .into_iter()
        .flat_map(|l| ["--label".to_string(), l])
        .collect()
    }
}
