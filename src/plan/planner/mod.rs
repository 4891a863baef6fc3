//! The planner: (catalog, options, host snapshot) → `BottlePlan`. Pure and deterministic:
//! the same inputs give the same plan, byte for byte. Each resource is planned by its own
//! module; `launch` below is the one place that decides the order of the launch.

mod agent;
mod agent_exec;
mod attach;
mod claude_code;
mod git_config;
mod hardening;
mod images;
mod networks;
mod plan_env;
pub mod plan_options;
mod ports;
mod provision;
mod sidecars;
mod supervision;

use crate::config::catalog::{Agent, Bottle, Catalog, is_docker_name};
use crate::config::published_port::{PublishedPort, check_list};
use crate::config::resources::Resources;
use crate::error::Error;
use crate::host_snapshot::HostSnapshot;
use crate::naming::{BottleNames, Role};
use crate::plan::addon_config::unscanned_headers;
use crate::plan::bottle_plan::BottlePlan;
use crate::plan::phase::{Lane, Phase};
use crate::plan::slot::Slot;
use crate::plan::step::{Action, Step};
use plan_options::PlanOptions;
pub use sidecars::MITM_CA_ENV;

/// The slots the launch fills before the first phase: the terminal, and the CA bottle
/// makes for the bottle.
pub const INITIAL_SLOTS: [Slot; 2] = [Slot::Tty, Slot::CaCertificate];

pub fn plan(
    catalog: &Catalog,
    options: &PlanOptions,
    host: &HostSnapshot,
) -> Result<BottlePlan, Error> {
    let (agent, bottle, resources) = checked(catalog, options, host)?;
    let published = published_ports(agent, options)?;
    let names = BottleNames::new(
        &agent.name,
        &host.launch_id,
        options.name.as_deref(),
        host.uid,
    );
    let (env, credentials) = plan_env::plan_env(bottle, host)?;
    let ignore_headers = unscanned_headers(&credentials);
    let images = images::images(options, host)?;
    let (networks, network_lanes) = networks::networks(&names, !published.is_empty());
    let pipelock_input = || sidecars::PipelockInput {
        egress: &bottle.egress,
        scanned_env: &env.scanned_by_pipelock,
        credentials: &credentials,
        ignore_headers: &ignore_headers,
        engine: host.engine,
    };
    let (pipelock, pipelock_lane) =
        sidecars::pipelock(&names, &images.pipelock, Role::Pipelock, pipelock_input());
    let (model_pipelock, model_pipelock_lane) = sidecars::pipelock(
        &names,
        &images.pipelock,
        Role::ModelPipelock,
        pipelock_input(),
    );
    let (mitmproxy, mitmproxy_lane) = sidecars::mitmproxy(
        &names,
        &images.mitmproxy,
        sidecars::MitmproxyInput {
            egress: &bottle.egress,
            credentials: &credentials,
            guarded: &env.scanned_by_pipelock,
            engine: host.engine,
            git_push: bottle.git.push.as_ref(),
            model: &bottle.model,
        },
    );
    let (agent_container, mut agent_steps) = agent::agent_container(
        &names,
        agent::AgentInput {
            image: &images.agent.arg(),
            env: &env,
            credentials: &credentials,
            resources: &resources,
            runtime: bottle.runtime,
            proxy_url: &mitmproxy.proxy_url,
        },
    );
    agent_steps.extend(provision::provision(provision::ProvisionInput {
        agent,
        host,
        cwd: options.cwd,
        git: &bottle.git,
        credentials: &credentials,
        command: if options.command.is_empty() {
            &agent.command
        } else {
            &options.command
        },
    }));
    let attach = Step::new(Action::Attach {
        command: attach::attach(agent, &options.command),
    });
    let (ports, port_steps) = ports::ports(&names, &published, &images.mitmproxy, host).unzip();
    let first = [images::image_lanes(&images), network_lanes].concat();
    let sidecars = [pipelock_lane, model_pipelock_lane, mitmproxy_lane];
    let launch = launch_order(first, sidecars, agent_steps, port_steps, attach);
    let supervision = supervision::supervision(&names, ports.as_ref());
    Ok(BottlePlan {
        bottle_id: names.bottle_id.clone(),
        agent: agent.name.clone(),
        bottle: bottle.name.clone(),
        slug: names.slug.as_str().to_string(),
        runtime: bottle.runtime,
        images,
        egress: bottle.egress.clone(),
        model: bottle.model.clone(),
        env,
        credentials,
        resources,
        git: bottle.git.clone(),
        cwd: options.cwd.then(|| host.cwd.display().to_string()),
        networks,
        pipelock,
        model_pipelock,
        mitmproxy,
        agent_container,
        ports,
        supervision,
        launch,
    })
}

/// `-p` as typed (each parsed, the list checked), else the agent's `ports`.
fn published_ports(agent: &Agent, options: &PlanOptions) -> Result<Vec<PublishedPort>, Error> {
    if options.ports.is_empty() {
        return Ok(agent.ports.clone());
    }
    let ports = options
        .ports
        .iter()
        .map(|p| PublishedPort::parse(p).map_err(|m| Error::usage(format!("-p {m}"))))
        .collect::<Result<Vec<_>, _>>()?;
    check_list(&ports).map_err(|(i, m)| {
        Error::usage(format!("-p {}: {m}", options.ports[i.min(ports.len() - 1)]))
    })?;
    Ok(ports)
}

/// The agent, its bottle and the agent's limits fitted to the engine; an error for input
/// the plan cannot be made from.
fn checked<'a>(
    catalog: &'a Catalog,
    options: &PlanOptions,
    host: &HostSnapshot,
) -> Result<(&'a Agent, &'a Bottle, Resources), Error> {
    let agent = catalog.agent(&options.agent)?;
    let bottle = catalog.bottles.get(&agent.bottle).ok_or_else(|| {
        Error::usage(format!(
            "agent `{}` names a missing bottle `{}`",
            agent.name, agent.bottle
        ))
    })?;
    if host.launch_id.len() < 8 || !host.launch_id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::usage("launch id must be at least 8 hex digits"));
    }
    if let Some(name) = &options.name {
        check_container_name(name)?;
    }
    let resources = bottle.resources.fitted(host.engine).map_err(|(path, m)| {
        Error::usage(format!(
            "{}: bottles.{}.resources{path}: {m}",
            bottle.source, bottle.name
        ))
    })?;
    Ok((agent, bottle, resources))
}

/// The order of the launch, and the only place it is decided. Everything that does not
/// wait for something else runs at once: the images and networks (`first`); then the
/// sidecars and the agent (created and provisioned while the sidecars come up; only its
/// last step, mitmproxy's hosts entry, waits for mitmproxy's address); with `-p`, the
/// port relays, which need the agent container (before attach: the URLs work from the
/// start). The agent's command runs at attach, once every lane is done: never before
/// both sidecars answer.
fn launch_order(
    first: Vec<Lane>,
    sidecars: [Lane; 3],
    agent_steps: Vec<Step>,
    port_steps: Option<Vec<Step>>,
    attach: Step,
) -> Vec<Phase> {
    let mut together = sidecars.to_vec();
    together.push(Lane {
        name: "agent".into(),
        steps: agent_steps,
    });
    let mut phases = vec![
        Phase {
            title: "images and networks".into(),
            lanes: first,
        },
        Phase {
            title: "pipelock, mitmproxy and the agent (started together)".into(),
            lanes: together,
        },
    ];
    phases.extend(port_steps.map(|steps| Phase::single("published ports", steps)));
    phases.push(Phase {
        title: format!("attach to {}", Slot::AgentName.placeholder()),
        lanes: vec![Lane {
            name: "attach".into(),
            steps: vec![attach],
        }],
    });
    phases
}

/// Docker's rule for container names.
fn check_container_name(name: &str) -> Result<(), Error> {
    if is_docker_name(name, 2, 128) {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "--name `{name}` is not a valid container name: use 2 to 128 letters, digits, `_`, `.` and `-`, starting with a letter or digit"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixture::a_plan;
    use crate::plan::phase::check_slots;
    use crate::plan::step::Action;

    #[test]
    fn every_planned_slot_is_filled_before_it_is_needed() {
        for change in [
            (|_: &mut PlanOptions| {}) as fn(&mut PlanOptions),
            |o| o.cwd = true,
            |o| o.name = Some("pinned".into()),
            |o| o.command = vec!["bash".into()],
        ] {
            let plan = a_plan(change);
            check_slots(&plan.launch, &crate::plan::planner::INITIAL_SLOTS).unwrap();
        }
        let mut plan = a_plan(|_| {});
        // Provisioning before the agent runs.
        let agent = plan.launch[1]
            .lanes
            .iter_mut()
            .find(|l| l.name == "agent")
            .unwrap();
        let run = agent
            .steps
            .iter()
            .position(|s| matches!(s.action, Action::RunAgent { .. }))
            .unwrap();
        let moved = agent.steps.remove(run);
        agent.steps.push(moved);
        let err = check_slots(&plan.launch, &crate::plan::planner::INITIAL_SLOTS).unwrap_err();
        assert!(err.contains("<agent-name>"), "{err}");
    }

    /// The naming scheme teardown and cleanup recognise is the one the planner uses.
    #[test]
    fn the_naming_check_matches_the_planners_names() {
        use crate::naming::is_schemed;
        let plan = a_plan(|o| o.cwd = true);
        let (agent, id) = (plan.agent.as_str(), plan.bottle_id.as_str());
        assert!(is_schemed(
            Role::Agent,
            agent,
            id,
            &plan.agent_container.name
        ));
        for n in 2..=10 {
            let retry = format!("{}-{n}", plan.agent_container.name);
            assert!(is_schemed(Role::Agent, agent, id, &retry), "{retry}");
        }
        assert!(is_schemed(
            Role::Pipelock,
            agent,
            id,
            &plan.pipelock.container
        ));
        assert!(is_schemed(
            Role::ModelPipelock,
            agent,
            id,
            &plan.model_pipelock.container
        ));
        assert!(is_schemed(
            Role::Mitmproxy,
            agent,
            id,
            &plan.mitmproxy.container
        ));
        for net in &plan.networks {
            let role = net.role.resource_role();
            assert!(is_schemed(role, agent, id, &net.name), "{}", net.name);
        }
        // A pinned name is not the scheme's: only the launch (or its record) knows it.
        let pinned = a_plan(|o| o.name = Some("my-claude".into()));
        assert!(!is_schemed(
            Role::Agent,
            agent,
            id,
            &pinned.agent_container.name
        ));
    }
}
