//! Published ports (`bottle run -p`): two small relays run by the mitmproxy image's
//! python3 (`port_relay.py`, compiled in). The port relay joins the agent container's
//! network namespace and connects only to the agent's own loopback (`127.0.0.1`, then
//! `::1`), so a dev server bound to localhost is reached too; the forwarder sits on the
//! ports network, published on the host's loopback only, joins the agent network and
//! connects only to the port relay. Both confined like the other sidecars (no
//! capability, read-only root, limits; the forwarder with no DNS that leaves), neither on
//! the proxy or egress network. Pure.

use crate::config::published_port::{PublishedPort, RELAY_BASE};
use crate::config::resources::EngineCapacity;
use crate::host_snapshot::HostSnapshot;
use crate::image::contract::ImageContract;
use crate::image::image_ref::ImageRef;
use crate::naming::{BottleNames, LABEL_PORTS, Role};
use crate::plan::bottle_plan::{PortPlan, PortsPlan};
use crate::plan::docker_command::DockerCommand;
use crate::plan::planner::hardening;
use crate::plan::planner::sidecars::{READY_TIMEOUT_SECONDS, restart_policy};
use crate::plan::slot::Slot;
use crate::plan::step::{Action, Capture, Step};
use crate::plan::undo::Undo;

/// The relay program, passed to `python3 -c`.
pub(crate) const RELAY_PY: &str = include_str!("port_relay.py");
/// What the relay writes once it listens (its address); a probe reads it.
const READY_FILE: &str = "/tmp/bot-bottle-relay.ready";
/// Each relay's memory (python's asyncio, a few buffers per connection).
const MEMORY_MB: u64 = 64;
/// Its /tmp (the ready file only).
const TMPFS_MB: u64 = 1;

/// What the ports need from the bottle.
struct PortsInput<'a> {
    /// The mitmproxy image (it has python3).
    image: &'a ImageRef,
    engine: Option<EngineCapacity>,
}

/// The plan and the steps (run after the agent container exists), or `None` without
/// ports. The relays run from `image` (the mitmproxy image: it has python3); the host's
/// `::1` is published too when it has one.
pub(crate) fn ports(
    names: &BottleNames,
    ports: &[PublishedPort],
    image: &ImageRef,
    host: &HostSnapshot,
) -> Option<(PortsPlan, Vec<Step>)> {
    if ports.is_empty() {
        return None;
    }
    let input = PortsInput {
        image,
        engine: host.engine,
    };
    let published: Vec<PortPlan> = ports
        .iter()
        .zip(RELAY_BASE..)
        .map(|(p, relay_port)| PortPlan {
            agent_port: p.agent,
            host_port: p.host,
            relay_port,
            url: p.url(),
        })
        .collect();
    let plan = PortsPlan {
        forwarder: names.of(Role::Forwarder),
        relay: names.of(Role::PortRelay),
        loopback_v6: host.loopback_v6,
        published,
    };
    let mut steps = relay_steps(names, &plan, &input);
    steps.extend(forwarder_steps(names, &plan, &input));
    Some((plan, steps))
}

/// `docker run --detach` of a relay: named, labelled, confined, read-only with a tiny
/// /tmp, limited. `network` is the whole `--network` value.
fn relay_run(names: &BottleNames, role: Role, name: &str, input: &PortsInput) -> DockerCommand {
    let c = &ImageContract::get().mitmproxy;
    DockerCommand::new(["run", "--detach", "--name", name])
        .args(names.labels.args(role))
        .args(["--user", &format!("{}:{}", c.uid, c.gid)])
        .args(hardening::confined())
        .args(hardening::read_only(
            &["/tmp".to_string()],
            c.uid,
            c.gid,
            TMPFS_MB,
        ))
        .args(hardening::sidecar_limits(MEMORY_MB, input.engine))
        // Supervised like the other sidecars: a restart keeps its networks (the relay
        // rejoins the agent's namespace) and its command; the tmpfs, and so the ready
        // file, starts empty.
        .args(restart_policy())
}

/// Succeeds once a relay listens: its ready file (the forwarder writes it only once the
/// port relay answers it).
pub(crate) fn relay_ready(name: &str) -> DockerCommand {
    DockerCommand::new(["exec", name, "cat", READY_FILE])
}

fn relay_command(run: DockerCommand, input: &PortsInput, role: &str) -> DockerCommand {
    run.arg(input.image.arg())
        .args([ImageContract::get().mitmproxy.python.as_str(), "-c"])
        .content("the port relay, port_relay.py", RELAY_PY)
        .arg(role)
}

/// Waits for the relay's ready file (the address it listens on), maybe keeping it.
fn ready(name: &str, what: &str, capture: Option<Capture>) -> Step {
    Step::new(Action::WaitFor {
        probe: relay_ready(name),
        container: name.to_string(),
        what: what.to_string(),
        timeout_seconds: READY_TIMEOUT_SECONDS,
        capture,
    })
}

/// The port relay: in the agent's network namespace (Docker allows no `--dns` there; it
/// shares the agent's, which resolves nothing outside), listening on the agent's address
/// at each relay port, connecting to the agent's `127.0.0.1`, then `::1` (a server on
/// `0.0.0.0` or `::` answers on both).
fn relay_steps(names: &BottleNames, plan: &PortsPlan, input: &PortsInput) -> Vec<Step> {
    let run = relay_run(names, Role::PortRelay, &plan.relay, input)
        .arg("--network")
        .slot_within("container:", Slot::AgentName, "");
    let specs = plan.published.iter().map(|p| {
        format!(
            "{}=127.0.0.1:{}|[::1]:{}",
            p.relay_port, p.agent_port, p.agent_port
        )
    });
    let run = relay_command(run, input, "relay").arg("-").args(specs);
    vec![
        Step::create_container(run, &plan.relay).undo(Undo::Containers {
            bottle_id: names.bottle_id.clone(),
            role: Role::PortRelay,
        }),
        // Its address is the agent's: the forwarder connects there, no name looked up.
        ready(
            &plan.relay,
            "the port relay in the agent",
            Some(Capture::AgentAddress),
        ),
    ]
}

/// The forwarder: started on the ports network with the ports published on loopback,
/// then joined to the agent network; it listens on its ports-network address only (the
/// agent cannot reach it), once the port relay answers it, and connects only to the
/// relay, at the agent's address (no name looked up).
fn forwarder_steps(names: &BottleNames, plan: &PortsPlan, input: &PortsInput) -> Vec<Step> {
    let label: Vec<String> = plan
        .published
        .iter()
        .map(|p| format!("127.0.0.1:{}->{}", p.host_port, p.agent_port))
        .collect();
    let mut run = relay_run(names, Role::Forwarder, &plan.forwarder, input)
        .args([
            "--label".to_string(),
            format!("{LABEL_PORTS}={}", label.join(",")),
        ])
        .args(["--network", &names.of(Role::PortsNetwork)])
        .args(hardening::no_outside_dns());
    for p in &plan.published {
        run = run.args([
            "--publish".to_string(),
            format!("127.0.0.1:{}:{}", p.host_port, p.relay_port),
        ]);
        if plan.loopback_v6 {
            run = run.args([
                "--publish".to_string(),
                format!("[::1]:{}:{}", p.host_port, p.relay_port),
            ]);
        }
    }
    let specs = plan
        .published
        .iter()
        .map(|p| format!("{}={}", p.relay_port, p.relay_port));
    let run = relay_command(run, input, "forwarder")
        .slot(Slot::AgentAddress)
        .args(specs);
    let urls: Vec<String> = plan
        .published
        .iter()
        .map(|p| format!("{} -> agent port {}", p.url, p.agent_port))
        .collect();
    vec![
        Step::create_container(run, &plan.forwarder).undo(Undo::Containers {
            bottle_id: names.bottle_id.clone(),
            role: Role::Forwarder,
        }),
        Step::run(DockerCommand::new([
            "network",
            "connect",
            &names.of(Role::AgentNetwork),
            &plan.forwarder,
        ])),
        ready(&plan.forwarder, "the port forwarder", None).done(format!(
            "published on the host's loopback: {}",
            urls.join(", ")
        )),
    ]
}
