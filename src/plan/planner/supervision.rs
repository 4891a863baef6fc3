//! Planning the sidecars' supervision during the session (both pipelocks, mitmproxy and,
//! with published ports, the port relay and the forwarder):
//! the `docker events` the launch watches (deaths of this bottle's containers), each
//! sidecar's readiness probe (the launch's own), mitmproxy's address and hosts entry to
//! redo after its restart, and the restart limit. Pure.

use crate::naming::{BottleNames, LABEL_ID, Role};
use crate::plan::bottle_plan::PortsPlan;
use crate::plan::docker_command::DockerCommand;
use crate::plan::planner::ports::relay_ready;
use crate::plan::planner::provision::hosts_entry;
use crate::plan::planner::sidecars::{
    READY_TIMEOUT_SECONDS, mitmproxy_address, mitmproxy_ready, pipelock_ready,
};
use crate::plan::supervision::{Redo, Supervised, SupervisionPlan};

/// More than this many sidecar restarts within [`WINDOW_SECONDS`] end the session: a
/// sidecar that dies that often is not coming back to serve.
pub(crate) const MAX_RESTARTS: u32 = 5;
pub(crate) const WINDOW_SECONDS: u64 = 60;

pub(crate) fn supervision(names: &BottleNames, ports: Option<&PortsPlan>) -> SupervisionPlan {
    let pipelock = names.of(Role::Pipelock);
    let model_pipelock = names.of(Role::ModelPipelock);
    let mitmproxy = names.of(Role::Mitmproxy);
    // One line per death: the container's name and its exit code.
    let events = DockerCommand::new([
        "events".to_string(),
        "--filter".into(),
        "type=container".into(),
        "--filter".into(),
        format!("label={LABEL_ID}={}", names.bottle_id),
        "--filter".into(),
        "event=die".into(),
        "--format".into(),
        "{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}".into(),
    ]);
    let mut sidecars = vec![
        Supervised {
            role: Role::Pipelock,
            ready: pipelock_ready(&pipelock),
            container: pipelock,
            then: Vec::new(),
        },
        Supervised {
            role: Role::ModelPipelock,
            ready: pipelock_ready(&model_pipelock),
            container: model_pipelock,
            then: Vec::new(),
        },
        Supervised {
            role: Role::Mitmproxy,
            ready: mitmproxy_ready(&mitmproxy),
            then: vec![Redo::HostsEntry {
                query: mitmproxy_address(names),
                hosts_entry: hosts_entry(),
            }],
            container: mitmproxy,
        },
    ];
    // The relays: ready again once each listens (the forwarder only once it reaches the
    // port relay); nothing to redo, the relay's address is the agent's.
    if let Some(ports) = ports {
        for (role, container) in [
            (Role::PortRelay, &ports.relay),
            (Role::Forwarder, &ports.forwarder),
        ] {
            sidecars.push(Supervised {
                role,
                ready: relay_ready(container),
                container: container.clone(),
                then: Vec::new(),
            });
        }
    }
    SupervisionPlan {
        events,
        sidecars,
        max_restarts: MAX_RESTARTS,
        window_seconds: WINDOW_SECONDS,
        ready_timeout_seconds: READY_TIMEOUT_SECONDS,
    }
}
