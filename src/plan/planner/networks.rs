//! The bottle's three networks: the agent's and the proxy's, both internal (and giving
//! the host no address on them), and pipelock's egress, the only one with a route out.
//! Pure.

use crate::plan::bottle_plan::{NetworkPlan, NetworkRole};
use crate::plan::docker_command::DockerCommand;
use crate::plan::phase::Lane;
use crate::plan::planner::names::Names;
use crate::plan::role::Role;
use crate::plan::step::Step;
use crate::plan::undo::Undo;

/// The networks in creation order, and the lanes that create them (all at once).
pub(crate) fn networks(names: &Names) -> (Vec<NetworkPlan>, Vec<Lane>) {
    let specs = [
        (
            &names.net_agent,
            NetworkRole::Agent,
            Role::AgentNetwork,
            true,
        ),
        (
            &names.net_proxy,
            NetworkRole::Proxy,
            Role::ProxyNetwork,
            true,
        ),
        (
            &names.net_egress,
            NetworkRole::Egress,
            Role::EgressNetwork,
            false,
        ),
    ];
    specs
        .into_iter()
        .map(|(name, role, label, internal)| {
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
                .args(names.labels.args(label))
                .arg(name.as_str());
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
