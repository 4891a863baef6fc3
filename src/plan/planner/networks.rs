//! The bottle's three networks: the agent's and the proxy's, both internal (and giving
//! the host no address on them), and pipelock's egress, the only one with a route out;
//! with published ports a fourth, the forwarder's, which Docker publishes from but which
//! masquerades nothing (no route out). Pure.

use crate::naming::BottleNames;
use crate::plan::bottle_plan::{NetworkPlan, NetworkRole};
use crate::plan::docker_command::DockerCommand;
use crate::plan::phase::Lane;
use crate::plan::step::Step;
use crate::plan::undo::Undo;

/// Docker publishes ports only from a network that is not internal. On the forwarder's,
/// no masquerade: a packet sent out keeps its private source and gets no answer, so
/// the forwarder has no working route off the host; `-p` without an address would bind
/// loopback only; no traffic between containers (it has one anyway).
const PORTS_OPTIONS: [&str; 6] = [
    "--opt",
    "com.docker.network.bridge.enable_ip_masquerade=false",
    "--opt",
    "com.docker.network.bridge.host_binding_ipv4=127.0.0.1",
    "--opt",
    "com.docker.network.bridge.enable_icc=false",
];

/// The networks in creation order, and the lanes that create them (all at once).
pub(crate) fn networks(names: &BottleNames, ports: bool) -> (Vec<NetworkPlan>, Vec<Lane>) {
    let mut specs = vec![
        (NetworkRole::Agent, true),
        (NetworkRole::Proxy, true),
        (NetworkRole::Egress, false),
    ];
    if ports {
        specs.push((NetworkRole::Ports, false));
    }
    specs
        .into_iter()
        .map(|(role, internal)| {
            let name = names.of(role.resource_role());
            // An internal bridge still gives the host an address on it, through which the
            // containers could reach host services; inhibit_ipv4 leaves the host without one.
            let create = DockerCommand::new(["network", "create"])
                .args(
                    internal
                        .then_some([
                            "--internal",
                            "--opt",
                            "com.docker.network.bridge.inhibit_ipv4=true",
                        ])
                        .into_iter()
                        .flatten(),
                )
                .args(
                    (role == NetworkRole::Ports)
                        .then_some(PORTS_OPTIONS)
                        .into_iter()
                        .flatten(),
                )
                .args(names.labels.args(role.resource_role()))
                .arg(&name);
            let plan = NetworkPlan {
                name: name.clone(),
                role,
                internal,
            };
            let lane = Lane {
                name: format!("{} network", role.name()),
                steps: vec![Step::run(create).undo(Undo::Network { name: name.clone() })],
            };
            (plan, lane)
        })
        .unzip()
}
