//! `SupervisionPlan`: how the launch keeps its sidecars alive while the user is attached:
//! the events it watches, and for each sidecar how to tell it is back (its readiness
//! probe) and what the bottle redoes then (mitmproxy's new address into the agent's hosts
//! file); and the limit past which a sidecar that keeps dying ends the session. Docker's
//! own restart policy (`--restart on-failure:N` on each sidecar's `docker run`) restarts a
//! crash or an OOM kill; the supervisor restarts what Docker does not (a `docker kill`,
//! a policy run out) and reports every death. Pure data.

use crate::naming::Role;
use crate::plan::docker_command::DockerCommand;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupervisionPlan {
    /// `docker events` for the bottle's containers' deaths, one line per event.
    pub events: DockerCommand,
    pub sidecars: Vec<Supervised>,
    /// More than this many restarts within `window_seconds` end the session.
    pub max_restarts: u32,
    pub window_seconds: u64,
    /// How long a restarted sidecar may take to be ready again.
    pub ready_timeout_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Supervised {
    pub role: Role,
    pub container: String,
    /// Succeeds once the sidecar serves again.
    pub ready: DockerCommand,
    /// Run once it is ready again, in order (mitmproxy: its address, then the agent's
    /// hosts entry, which a new address would otherwise leave stale).
    pub then: Vec<Redo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "redo", rename_all = "snake_case")]
pub enum Redo {
    /// Reads the sidecar's address on the agent network (stdout: the address) and runs
    /// `hosts_entry` with `container:address` as its hosts-entry slot.
    HostsEntry {
        query: DockerCommand,
        hosts_entry: DockerCommand,
    },
}
