//! The one running bottle a command names (`bottle logs`, `allow-host`, `deny-host`): an
//! agent with one running bottle, a bottle id, or its first 8 or more hex digits, found
//! by its mitmproxy container (the container the bottle's traffic passes; a launch never
//! pins its name). The failures are the commands' documented ones: exit 2 for a name that
//! is neither an agent nor a bottle, or an agent with several running bottles; exit 3 for
//! a bottle that is not running. Listing is I/O (through the engine); the choice is pure.

use crate::engine::docker_engine::DockerEngine;
use crate::engine::listing::{self, Container, ContainerState};
use crate::error::Error;
use crate::naming::{Known, LabelFilter, Role};
use crate::runtime::runtime_dir::is_bottle_id;

/// A bottle's mitmproxy container, as `docker ps` lists it.
pub type Mitm = Container;

/// The running bottle `target` names; `is_agent` says whether a name is an agent of the
/// user's manifest (for the message when nothing runs).
pub fn find(
    engine: &dyn DockerEngine,
    target: &str,
    is_agent: &dyn Fn(&str) -> bool,
) -> Result<Mitm, Error> {
    let all = list(engine)?;
    running_one(&all, target, is_agent).cloned()
}

/// The one running mitmproxy container of `target` (an agent, a bottle id or its first 8
/// or more hex digits) among `all`; else why not.
pub fn running_one<'a>(
    all: &'a [Mitm],
    target: &str,
    is_agent: &dyn Fn(&str) -> bool,
) -> Result<&'a Mitm, Error> {
    let mine: Vec<&Mitm> = all
        .iter()
        .filter(|m| {
            let l = &m.labels;
            l.agent == target
                || l.bottle_id == target
                || (is_bottle_id(target) && l.bottle_id.starts_with(target))
        })
        .collect();
    let running: Vec<&Mitm> = mine
        .iter()
        .copied()
        .filter(|m| m.state == ContainerState::Running)
        .collect();
    match (&running[..], mine.first()) {
        ([one], _) => Ok(one),
        ([], None) if is_agent(target) => Err(Error::NotRunning(format!(
            "agent `{target}` has no running bottle (`bottle ls` lists the running ones)"
        ))),
        ([], None) if is_bottle_id(target) => Err(Error::NotRunning(format!(
            "no bottle with id `{target}` is running (`bottle ls` lists the running ones)"
        ))),
        ([], None) => Err(Error::usage(format!(
            "unknown agent or bottle id `{target}`: `bottle agents` lists the agents, `bottle ls` the running bottles and their ids"
        ))),
        ([], Some(stopped)) => Err(Error::NotRunning(format!(
            "bottle {} (agent `{}`) is not running: its mitmproxy container {} is {}",
            stopped.labels.bottle_id, stopped.labels.agent, stopped.name, stopped.state
        ))),
        (many, _) => {
            let ids: Vec<&str> = many.iter().map(|m| m.labels.bottle_id.as_str()).collect();
            Err(Error::usage(format!(
                "agent `{target}` has {} running bottles ({}): name one by its id",
                many.len(),
                ids.join(", ")
            )))
        }
    }
}

/// Every bot-bottle mitmproxy container (running or not) that bottle created: named by
/// the naming scheme (a launch never pins mitmproxy's name).
fn list(engine: &dyn DockerEngine) -> Result<Vec<Mitm>, Error> {
    let known = Known::default();
    Ok(
        listing::containers(engine, &[LabelFilter::role(Role::Mitmproxy)])?
            .into_iter()
            .filter(|c| known.owns(&c.listed()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::{Labelled, RoleLabel};

    fn mitm(bottle_id: &str, agent: &str, state: ContainerState) -> Mitm {
        Container {
            id: format!("c-{bottle_id}"),
            name: format!("bot-bottle-mitm-{agent}-{}", &bottle_id[..8]),
            labels: Labelled {
                bottle_id: bottle_id.into(),
                agent: agent.into(),
                role: RoleLabel::Known(Role::Mitmproxy),
            },
            running_for: "1 minute ago".into(),
            state,
            ports: String::new(),
        }
    }

    /// The exit codes `bottle logs` documents: 3 when the bottle is not running, 2 for a
    /// name that is neither an agent nor a bottle, or an agent with several bottles.
    #[test]
    fn a_bottle_that_is_not_running_is_exit_3_and_a_bad_name_exit_2() {
        let all = [
            mitm("0123456789abcdef", "dev", ContainerState::Running),
            mitm("89abcdef01234567", "dev", ContainerState::Running),
            mitm("fedcba9876543210", "web", ContainerState::Exited),
        ];
        let agents = |name: &str| ["dev", "web", "idle"].contains(&name);
        let code = |target: &str| match running_one(&all, target, &agents) {
            Ok(m) => Ok(m.labels.bottle_id.clone()),
            Err(e) => Err((e.exit_code(), e.to_string())),
        };
        assert_eq!(code("01234567"), Ok("0123456789abcdef".to_string()));
        let (exit, message) = code("web").unwrap_err();
        assert_eq!(exit, 3);
        assert!(message.ends_with("is exited"), "{message}");
        assert_eq!(code("idle").unwrap_err().0, 3);
        assert_eq!(code("0000000000000000").unwrap_err().0, 3);
        assert_eq!(code("nobody").unwrap_err().0, 2);
        let (exit, message) = code("dev").unwrap_err();
        assert_eq!(exit, 2);
        assert!(message.contains("2 running bottles"), "{message}");
    }
}
