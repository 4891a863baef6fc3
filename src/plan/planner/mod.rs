//! The planner: (catalog, options, host snapshot) → `BottlePlan`. Pure and deterministic:
//! the same inputs give the same plan, byte for byte. Each resource is planned by its own
//! module; `launch` below is the one place that decides the order of the launch.

mod agent;
mod attach;
mod claude_code;
mod git_config;
mod hardening;
mod images;
mod names;
mod networks;
mod plan_env;
pub mod plan_options;
mod provision;
mod sidecars;

use crate::config::catalog::{Catalog, is_docker_name};
use crate::exit_code::UserError;
use crate::host_snapshot::HostSnapshot;
use crate::plan::addon_config::unscanned_headers;
use crate::plan::bottle_plan::BottlePlan;
use crate::plan::phase::{Lane, Phase};
use crate::plan::slot::Slot;
use crate::plan::step::{Action, Step};
use names::Names;
use plan_options::PlanOptions;

/// The slots the launch fills before the first phase.
pub const INITIAL_SLOTS: [Slot; 1] = [Slot::Tty];

pub fn plan(
    catalog: &Catalog,
    options: &PlanOptions,
    host: &HostSnapshot,
) -> Result<BottlePlan, UserError> {
    let agent = catalog.agent(&options.agent)?;
    let bottle = catalog.bottles.get(&agent.bottle).ok_or_else(|| {
        UserError::new(format!(
            "agent `{}` names a missing bottle `{}`",
            agent.name, agent.bottle
        ))
    })?;
    if host.launch_id.len() < 8 || !host.launch_id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(UserError::new("launch id must be at least 8 hex digits"));
    }
    if let Some(name) = &options.name {
        check_container_name(name)?;
    }
    let resources = bottle.resources.fitted(host.engine).map_err(|(path, m)| {
        UserError::new(format!(
            "{}: bottles.{}.resources{path}: {m}",
            bottle.source, bottle.name
        ))
    })?;
    let names = Names::new(
        &agent.name,
        &host.launch_id,
        options.name.as_deref(),
        host.uid,
    );
    let (env, credentials) = plan_env::plan_env(bottle, host)?;
    let ignore_headers = unscanned_headers(&credentials);
    let images = images::images(options, host)?;
    let (networks, network_lanes) = networks::networks(&names);
    let (pipelock, pipelock_lane) = sidecars::pipelock(
        &names,
        &images.pipelock,
        sidecars::PipelockInput {
            egress: &bottle.egress,
            scanned_env: &env.scanned_by_pipelock,
            credentials: &credentials,
            ignore_headers: &ignore_headers,
            engine: host.engine,
        },
    );
    let (mitmproxy, mitmproxy_lane) = sidecars::mitmproxy(
        &names,
        &images.mitmproxy,
        sidecars::MitmproxyInput {
            egress: &bottle.egress,
            credentials: &credentials,
            guarded: &env.scanned_by_pipelock,
            engine: host.engine,
        },
    );
    let agent_image = images.agent.arg();
    let (agent_container, mut agent_steps) = agent::agent_container(
        &names,
        agent::AgentInput {
            image: &agent_image,
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
    // The order of the launch, and the only place it is decided. Everything that does
    // not wait for something else runs at once: the images and networks; then the two
    // sidecars and the agent (which waits only for mitmproxy's address, and provisions
    // while the sidecars come up, its CA last). The agent's command runs at attach, once
    // every lane is done: never before both sidecars answer.
    let mut first = images::image_lanes(&images);
    first.extend(network_lanes);
    let launch = vec![
        Phase {
            title: "images and networks".into(),
            lanes: first,
        },
        Phase {
            title: "pipelock, mitmproxy and the agent (started together)".into(),
            lanes: vec![
                pipelock_lane,
                mitmproxy_lane,
                Lane {
                    name: "agent".into(),
                    steps: agent_steps,
                },
            ],
        },
        Phase {
            title: format!("attach to {}", Slot::AgentName.placeholder()),
            lanes: vec![Lane {
                name: "attach".into(),
                steps: vec![Step::new(Action::Attach {
                    command: attach::attach(agent, &options.command),
                })],
            }],
        },
    ];
    Ok(BottlePlan {
        bottle_id: names.bottle_id.clone(),
        agent: agent.name.clone(),
        bottle: bottle.name.clone(),
        slug: names.slug.clone(),
        runtime: bottle.runtime,
        images,
        egress: bottle.egress.clone(),
        env,
        credentials,
        resources,
        git: bottle.git.clone(),
        cwd: options.cwd.then(|| host.cwd.display().to_string()),
        networks,
        pipelock,
        mitmproxy,
        agent_container,
        launch,
    })
}

/// Docker's rule for container names.
fn check_container_name(name: &str) -> Result<(), UserError> {
    if is_docker_name(name, 2, 128) {
        Ok(())
    } else {
        Err(UserError::new(format!(
            "--name `{name}` is not a valid container name: use 2 to 128 letters, digits, `_`, `.` and `-`, starting with a letter or digit"
        )))
    }
}
