//! `PlanOptions`: what the command line adds to the manifest for one launch. Pure.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    pub agent: String,
    /// `--name`: the agent container's exact name.
    pub name: Option<String>,
    /// `--cwd`: copy the working directory into the agent's work directory.
    pub cwd: bool,
    pub agent_image: Option<String>,
    pub pipelock_image: Option<String>,
    pub mitmproxy_image: Option<String>,
    /// The command after `--`, replacing the agent's.
    pub command: Vec<String>,
    /// `-p [HOST_PORT:]AGENT_PORT`, as typed; any replace the agent's `ports`.
    pub ports: Vec<String>,
}
