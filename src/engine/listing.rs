//! The one listing of bot-bottle's resources on the engine: containers (`docker ps
//! --all`), networks (`docker network ls`) and images (`docker image ls`, then one `docker
//! image inspect` for their labels), filtered by label, each row typed (its labels read
//! back as [`Labelled`], a container's [`ContainerState`]). Every caller (`ls`, `cleanup`,
//! `logs`, teardown) lists through here. A listing runs to the end whatever signal
//! arrives: teardown lists after a ^C. I/O (through the engine).

use crate::engine::call::Call;
use crate::engine::docker_engine::DockerEngine;
use crate::error::Error;
use crate::naming::{
    Kind, LABEL_AGENT, LABEL_ID, LABEL_PORTS, LABEL_ROLE, LabelFilter, Labelled, Listed, RoleLabel,
};
use std::fmt;

/// A container's state, as `docker ps` says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
    /// A state this Docker names and bottle does not know.
    Other(String),
}

impl ContainerState {
    pub fn read(text: &str) -> ContainerState {
        match text {
            "created" => ContainerState::Created,
            "running" => ContainerState::Running,
            "paused" => ContainerState::Paused,
            "restarting" => ContainerState::Restarting,
            "removing" => ContainerState::Removing,
            "exited" => ContainerState::Exited,
            "dead" => ContainerState::Dead,
            other => ContainerState::Other(other.to_string()),
        }
    }
}

/// Docker's word for it.
impl fmt::Display for ContainerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Restarting => "restarting",
            ContainerState::Removing => "removing",
            ContainerState::Exited => "exited",
            ContainerState::Dead => "dead",
            ContainerState::Other(other) => other,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    pub name: String,
    pub labels: Labelled,
    /// Docker's "5 minutes ago".
    pub running_for: String,
    pub state: ContainerState,
    /// The forwarder's published ports (its `bot-bottle.ports` label), else empty.
    pub ports: String,
}

/// A network or an image (its `repository:tag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub kind: Kind,
    pub name: String,
    pub labels: Labelled,
}

impl Container {
    /// For the ownership check.
    pub fn listed(&self) -> Listed<'_> {
        Listed {
            kind: Kind::Container,
            name: &self.name,
            id: Some(&self.id),
            labels: &self.labels,
        }
    }
}

impl Resource {
    /// For the ownership check.
    pub fn listed(&self) -> Listed<'_> {
        Listed {
            kind: self.kind,
            name: &self.name,
            id: None,
            labels: &self.labels,
        }
    }
}

/// `{{.Label "k"}}` (`docker ps`, `docker network ls`).
fn label(key: &str) -> String {
    format!("{{{{.Label \"{key}\"}}}}")
}

/// The containers (running or not) that pass every filter.
pub fn containers(
    engine: &dyn DockerEngine,
    filters: &[LabelFilter],
) -> Result<Vec<Container>, Error> {
    let format = format!(
        // The ports label (often empty) is not last: the listing's text is trimmed.
        "{{{{.ID}}}}\t{{{{.Names}}}}\t{}\t{}\t{}\t{}\t{{{{.RunningFor}}}}\t{{{{.State}}}}",
        label(LABEL_ID),
        label(LABEL_AGENT),
        label(LABEL_ROLE),
        label(LABEL_PORTS)
    );
    let mut args = vec!["ps", "--all", "--no-trunc"];
    args.extend(filters.iter().flat_map(|f| ["--filter", f.arg()]));
    args.extend(["--format", &format]);
    Ok(list(engine, &args)?
        .lines()
        .filter_map(|line| {
            let [id, name, bottle_id, agent, role, ports, running_for, state] =
                line.split('\t').collect::<Vec<_>>()[..]
            else {
                return None;
            };
            Some(Container {
                id: id.into(),
                name: name.into(),
                labels: labelled(bottle_id, agent, role),
                running_for: running_for.into(),
                state: ContainerState::read(state),
                ports: ports.into(),
            })
        })
        .collect())
}

/// The networks that pass `filter`.
pub fn networks(engine: &dyn DockerEngine, filter: &LabelFilter) -> Result<Vec<Resource>, Error> {
    let format = format!(
        "{{{{.Name}}}}\t{}\t{}\t{}",
        label(LABEL_ID),
        label(LABEL_AGENT),
        label(LABEL_ROLE)
    );
    let text = list(
        engine,
        &[
            "network",
            "ls",
            "--filter",
            filter.arg(),
            "--format",
            &format,
        ],
    )?;
    Ok(rows(Kind::Network, text.lines()))
}

/// The tagged images that pass `filter`. `docker image ls` has no label template (Docker
/// 20.10): the tags, then their labels in one `docker image inspect`.
pub fn images(engine: &dyn DockerEngine, filter: &LabelFilter) -> Result<Vec<Resource>, Error> {
    let tags = list(
        engine,
        &[
            "image",
            "ls",
            "--filter",
            filter.arg(),
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ],
    )?;
    let tags: Vec<&str> = tags.lines().filter(|t| !t.contains("<none>")).collect();
    if tags.is_empty() {
        return Ok(Vec::new());
    }
    let label = |k: &str| format!("{{{{index .Config.Labels \"{k}\"}}}}");
    let format = format!(
        "{}\t{}\t{}",
        label(LABEL_ID),
        label(LABEL_AGENT),
        label(LABEL_ROLE)
    );
    let mut args = vec!["image", "inspect", "--format", &format];
    args.extend(&tags);
    let labels = list(engine, &args)?;
    let lines: Vec<String> = tags
        .iter()
        .zip(labels.lines())
        .map(|(tag, l)| format!("{tag}\t{l}"))
        .collect();
    Ok(rows(Kind::Image, lines.iter().map(String::as_str)))
}

/// A listing's stdout; its failure names the command (without its templates) and
/// Docker's answer.
fn list(engine: &dyn DockerEngine, args: &[&str]) -> Result<String, Error> {
    let call = Call::new(args.iter().copied()).to_the_end();
    let done = engine.run(&call)?;
    if !done.ok() {
        let what: Vec<&str> = args
            .iter()
            .copied()
            .take_while(|a| !a.starts_with('-'))
            .collect();
        return Err(Error::Docker {
            command: format!("docker {}", what.join(" ")),
            code: done.code,
            stderr: done.stderr,
        });
    }
    Ok(done.stdout_text())
}

fn labelled(bottle_id: &str, agent: &str, role: &str) -> Labelled {
    Labelled {
        bottle_id: bottle_id.into(),
        agent: agent.into(),
        role: RoleLabel::read(role),
    }
}

/// `name\tid\tagent\trole` lines.
fn rows<'a>(kind: Kind, lines: impl Iterator<Item = &'a str>) -> Vec<Resource> {
    lines
        .filter_map(|l| {
            let [name, bottle_id, agent, role] = l.split('\t').collect::<Vec<_>>()[..] else {
                return None;
            };
            Some(Resource {
                kind,
                name: name.into(),
                labels: labelled(bottle_id, agent, role),
            })
        })
        .collect()
}
