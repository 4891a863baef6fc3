//! `BottlePlan`: everything a launch will do, as plain serializable data: names, labels,
//! images, the pipelock config, every docker command in order and its undo. Pure. Secret
//! values are never here, only their names.

use crate::config::manifest::Runtime;
use crate::image::image_ref::ImageRef;
use crate::plan::docker_command::DockerCommand;
use crate::plan::pipelock_config::PipelockConfig;
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
    /// What pipelock lets through: the default Claude hosts plus the bottle's own.
    pub allowlist: Vec<String>,
    pub env: PlanEnv,
    pub derived_image: Option<DerivedImage>,
    /// In creation order: agent network, proxy network, egress network.
    pub networks: Vec<NetworkPlan>,
    pub pipelock: PipelockPlan,
    pub mitmproxy: MitmproxyPlan,
    pub agent_container: AgentContainerPlan,
    /// In order: ca, prompt, skills.
    pub provision: Vec<ProvisionStep>,
    pub attach: DockerCommand,
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
    /// values from leaving. Model credentials are left out: the agent must send them to
    /// the model's API.
    pub scanned_by_pipelock: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForwardedEnv {
    pub name: String,
    pub source: ForwardSource,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum ForwardSource {
    /// Asked on the terminal at launch, never echoed.
    Prompt { prompt: Option<String> },
    /// Copied from the host variable `var` (which was set when planning).
    Host { var: String },
    /// A model credential present in the host environment.
    Credential,
}

/// `--cwd`: an agent image with the working directory copied in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DerivedImage {
    pub tag: String,
    pub context: String,
    pub build: DockerCommand,
    pub undo: Undo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkPlan {
    pub name: String,
    /// `agent` (agent + mitmproxy), `proxy` (mitmproxy + pipelock) or `egress` (pipelock alone).
    pub role: String,
    /// Internal networks have no route off the host.
    pub internal: bool,
    pub create: DockerCommand,
    pub undo: Undo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PipelockPlan {
    pub container: String,
    /// `host:port` mitmproxy sends requests to.
    pub address: String,
    pub config: PipelockConfig,
    pub config_path: String,
    pub create: DockerCommand,
    pub copy_config: DockerCommand,
    pub connect_egress: DockerCommand,
    pub start: DockerCommand,
    /// Exits 0 once pipelock answers `/health`.
    pub health: DockerCommand,
    pub undo: Undo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MitmproxyPlan {
    pub container: String,
    /// `http://name:port`, the agent's proxy.
    pub proxy_url: String,
    pub create: DockerCommand,
    pub connect_proxy: DockerCommand,
    pub start: DockerCommand,
    /// Writes a tar holding the CA certificate (never the key) to stdout.
    pub fetch_ca: DockerCommand,
    pub undo: Undo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentContainerPlan {
    pub name: String,
    /// `--name` was given: a conflict fails instead of trying `-2`, `-3`, ….
    pub name_pinned: bool,
    pub run: DockerCommand,
    pub undo: Undo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProvisionStep {
    /// `ca`, `prompt`, or `skill:<name>`.
    pub name: String,
    pub commands: Vec<DockerCommand>,
}

impl PlanImages {
    /// Agent, pipelock, mitmproxy.
    pub fn all(&self) -> [&ImageRef; 3] {
        [&self.agent, &self.pipelock, &self.mitmproxy]
    }
}

impl BottlePlan {
    /// The launch in order as (step, commands), for display.
    pub fn launch_steps(&self) -> Vec<(String, Vec<&DockerCommand>)> {
        let mut steps = Vec::new();
        if let Some(d) = &self.derived_image {
            steps.push((
                "image: build the --cwd agent image".to_string(),
                vec![&d.build],
            ));
        }
        steps.push((
            "networks".to_string(),
            self.networks.iter().map(|n| &n.create).collect(),
        ));
        let p = &self.pipelock;
        steps.push((
            "pipelock".to_string(),
            vec![
                &p.create,
                &p.copy_config,
                &p.connect_egress,
                &p.start,
                &p.health,
            ],
        ));
        let m = &self.mitmproxy;
        steps.push((
            "mitmproxy".to_string(),
            vec![&m.create, &m.connect_proxy, &m.start],
        ));
        steps.push(("agent".to_string(), vec![&self.agent_container.run]));
        for (i, step) in self.provision.iter().enumerate() {
            let mut cmds: Vec<&DockerCommand> = Vec::new();
            if i == 0 {
                cmds.push(&m.fetch_ca);
            }
            cmds.extend(step.commands.iter());
            steps.push((format!("provision {}", step.name), cmds));
        }
        steps.push(("attach".to_string(), vec![&self.attach]));
        steps
    }

    /// The undos, in the order teardown runs them (reverse of creation).
    pub fn teardown(&self) -> Vec<&Undo> {
        let mut undo = vec![
            &self.agent_container.undo,
            &self.mitmproxy.undo,
            &self.pipelock.undo,
        ];
        undo.extend(self.networks.iter().rev().map(|n| &n.undo));
        if let Some(d) = &self.derived_image {
            undo.push(&d.undo);
        }
        undo
    }
}

impl BottlePlan {
    /// The same plan with the agent container called `name` (a retry after a name
    /// conflict): every argument naming the container, alone or as `name:path`, follows.
    pub fn with_agent_name(&self, name: &str) -> BottlePlan {
        let old = self.agent_container.name.clone();
        let rename = |cmd: &DockerCommand| -> DockerCommand {
            let mut cmd = cmd.clone();
            for arg in &mut cmd.args {
                if let crate::plan::docker_command::Arg::Lit(s) = arg {
                    if *s == old {
                        *s = name.to_string();
                    } else if let Some(rest) = s.strip_prefix(&format!("{old}:")) {
                        *s = format!("{name}:{rest}");
                    }
                }
            }
            cmd
        };
        let mut plan = self.clone();
        plan.agent_container.name = name.to_string();
        plan.agent_container.run = rename(&self.agent_container.run);
        for step in &mut plan.provision {
            step.commands = step.commands.iter().map(rename).collect();
        }
        plan.attach = rename(&self.attach);
        plan
    }
}
