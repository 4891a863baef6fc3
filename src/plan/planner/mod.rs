//! The planner: (catalog, options, host snapshot) → `BottlePlan`. Pure and deterministic:
//! the same inputs give the same plan, byte for byte. Each resource is planned by its own
//! module; `launch` below is the one place that decides the order of the launch.

mod agent;
mod attach;
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
    let names = Names::new(
        &agent.name,
        &host.launch_id,
        options.name.as_deref(),
        host.uid,
    );
    let env = plan_env::plan_env(bottle, host)?;
    let images = images::images(options, host)?;
    let derived = options
        .cwd
        .then(|| images::derived_image(&names, &images.agent, host));
    let agent_image = derived
        .as_ref()
        .map(|(d, _)| d.tag.clone())
        .unwrap_or_else(|| images.agent.arg());
    let (networks, network_steps) = networks::networks(&names);
    let (pipelock, pipelock_lane) = sidecars::pipelock(
        &names,
        &images.pipelock,
        &bottle.allowlist,
        &env.scanned_by_pipelock,
    );
    let (mitmproxy, mitmproxy_lane) = sidecars::mitmproxy(&names, &images.mitmproxy);
    let (agent_container, agent_steps) = agent::agent_container(
        &names,
        &agent_image,
        &env,
        bottle.runtime,
        &mitmproxy.proxy_url,
    );
    let launch = vec![
        Phase::single("images", images::image_steps(&images, derived.as_ref())),
        Phase::single("networks", network_steps),
        Phase {
            title: "pipelock and mitmproxy (started together)".into(),
            lanes: vec![pipelock_lane, mitmproxy_lane],
        },
        Phase::single("agent", agent_steps),
        Phase::single("provision", provision::provision(agent, host)),
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
        allowlist: bottle.allowlist.clone(),
        env,
        derived_image: derived.map(|(d, _)| d),
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
