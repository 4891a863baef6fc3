//! `BottlePlan`: everything a launch will do, as plain serializable data: what the bottle
//! is made of (names, images, environment names, the pipelock config) and the launch
//! itself as phases of steps, each with its undo. The executor, `bottle plan` and the
//! progress numbering all read the same `launch`. Pure. Secret values are never here,
//! only their names.

use crate::config::credential::Credential;
use crate::config::egress::Egress;
use crate::config::git_identity::GitIdentity;
use crate::config::manifest::Runtime;
use crate::config::model_policy::ModelPolicy;
use crate::config::resources::Resources;
use crate::image::image_ref::ImageRef;
use crate::naming::Role;
use crate::plan::addon_config::AddonConfig;
use crate::plan::phase::Phase;
use crate::plan::pipelock_config::PipelockConfig;
use crate::plan::slot::{Slot, SlotValues};
use crate::plan::supervision::SupervisionPlan;
use crate::plan::undo::Undo;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BottlePlan {
    /// The launch id; the `bot-bottle.id` label on every resource.
    pub bottle_id: String,
    pub agent: String,
    pub bottle: String,
    /// `<agent>-<first 8 hex digits of the launch id>`: unique per launch.
    pub slug: String,
    pub runtime: Runtime,
    pub images: PlanImages,
    /// What pipelock lets through (the default Claude hosts plus the bottle's own), the
    /// private hosts it may reach, and the rate, size and time limits.
    pub egress: Egress,
    /// What the model provider's servers may do for the agent (`model`).
    pub model: ModelPolicy,
    pub env: PlanEnv,
    /// Injected at the proxy; the agent holds only placeholders. Names and hosts only.
    pub credentials: Vec<Credential>,
    /// The agent container's limits, fitted to the engine when it was asked.
    pub resources: Resources,
    pub git: GitIdentity,
    /// `--cwd`: the directory copied into the agent's work directory.
    pub cwd: Option<String>,
    /// In creation order: agent network, proxy network, egress network (then the ports
    /// network, with `-p`).
    pub networks: Vec<NetworkPlan>,
    /// The web lane's pipelock: every request but the model providers' API.
    pub pipelock: PipelockPlan,
    /// The model lane's pipelock: the providers' API hosts only.
    pub model_pipelock: PipelockPlan,
    pub mitmproxy: MitmproxyPlan,
    pub agent_container: AgentContainerPlan,
    /// `bottle run -p`: the ports opened on the host's loopback, and the two containers
    /// that carry them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ports: Option<PortsPlan>,
    /// Keeping the sidecars alive while the user is attached.
    pub supervision: SupervisionPlan,
    /// The launch, in order; teardown (the registered undos, newest first) follows it.
    pub launch: Vec<Phase>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanImages {
    pub agent: ImageRef,
    pub pipelock: ImageRef,
    pub mitmproxy: ImageRef,
}

/// The bottle's environment, by name only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanEnv {
    /// Written to the 0600 env-file (`--env-file`).
    pub literals: Vec<String>,
    /// Passed as `-e NAME`, values only in the docker child's environment.
    pub forwarded: Vec<ForwardedEnv>,
    /// Forwarded names also given to pipelock, whose environment scan then blocks their
    /// values from leaving (all of them: the model credentials are not forwarded).
    pub scanned_by_pipelock: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForwardedEnv {
    pub name: String,
    pub source: crate::config::credential::ValueSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkRole {
    /// agent + mitmproxy.
    Agent,
    /// mitmproxy + pipelock.
    Proxy,
    /// pipelock alone, with a route out.
    Egress,
    /// The forwarder alone (`bottle run -p`): published on the host's loopback, no NAT out.
    Ports,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkPlan {
    pub name: String,
    pub role: NetworkRole,
    /// Internal networks have no route off the host.
    pub internal: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PipelockPlan {
    pub container: String,
    /// `host:port` mitmproxy sends requests to.
    pub address: String,
    pub config: PipelockConfig,
    pub config_path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MitmproxyPlan {
    pub container: String,
    /// `http://name:port`, the agent's proxy.
    pub proxy_url: String,
    /// What the verdict addon is told (its environment carries it).
    pub addon: AddonConfig,
}

/// The published ports: host loopback → forwarder → port relay (in the agent's network
/// namespace) → the agent's server on its own loopback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortsPlan {
    /// On the ports network (published) and the agent network.
    pub forwarder: String,
    /// In the agent container's network namespace.
    pub relay: String,
    /// Also published on `::1` (the host has it).
    pub loopback_v6: bool,
    pub published: Vec<PortPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortPlan {
    pub agent_port: u16,
    pub host_port: u16,
    /// The port the forwarder and the relay listen on for it.
    pub relay_port: u16,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentContainerPlan {
    /// The planned name; after a name conflict the launch uses `name-2`, … (the
    /// [`Slot::AgentName`] every command naming the container reads).
    pub name: String,
    /// `--name` was given: a conflict fails instead of trying `-2`, `-3`, ….
    pub name_pinned: bool,
}

impl NetworkRole {
    pub fn name(self) -> &'static str {
        match self {
            NetworkRole::Agent => "agent",
            NetworkRole::Proxy => "proxy",
            NetworkRole::Egress => "egress",
            NetworkRole::Ports => "ports",
        }
    }

    /// The network's role in the resource model (its label and name).
    pub fn resource_role(self) -> Role {
        match self {
            NetworkRole::Agent => Role::AgentNetwork,
            NetworkRole::Proxy => Role::ProxyNetwork,
            NetworkRole::Egress => Role::EgressNetwork,
            NetworkRole::Ports => Role::PortsNetwork,
        }
    }
}

impl PlanImages {
    /// Agent, pipelock, mitmproxy.
    pub fn all(&self) -> [&ImageRef; 3] {
        [&self.agent, &self.pipelock, &self.mitmproxy]
    }
}

impl BottlePlan {
    /// The undos the launch registers, in the order teardown runs them (newest first; the
    /// lanes of a phase in their listed order).
    pub fn teardown(&self) -> Vec<&Undo> {
        let mut undos: Vec<&Undo> = self
            .launch
            .iter()
            .flat_map(|p| p.steps())
            .filter_map(|s| s.undo.as_ref())
            .collect();
        undos.reverse();
        undos
    }

    /// What the plan can say about its slots before a launch: the planned agent name.
    pub fn planned_slots(&self) -> SlotValues {
        SlotValues::default().with(Slot::AgentName, &self.agent_container.name)
    }

    /// Progress numbering: the phases, then teardown.
    pub fn numbered_steps(&self) -> usize {
        self.launch.len() + 1
    }
}
