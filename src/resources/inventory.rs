//! `Inventory`: what bot-bottle has on the Docker engine, found by label: containers,
//! networks and images, with their bottle id, agent and role; narrowed to one uid, to one
//! agent or bottle id, and to what bottle created (labels AND a name bottle gave it, or
//! one a launch record lists: a container made from a committed agent image carries the
//! labels, not the name); as the `ls` table and as the undos that remove it. Reading is
//! I/O (through the engine); the rest is pure.

use crate::engine::docker_engine::DockerEngine;
use crate::launch::naming;
use crate::launch::undoer::Known;
use crate::plan::role::{LABEL_AGENT, LABEL_ID, LABEL_ROLE, LABEL_UID, Role};
use crate::plan::undo::Undo;
use crate::table::Table;
use anyhow::{Result, bail};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRow {
    pub id: String,
    pub name: String,
    pub bottle_id: String,
    pub agent: String,
    /// The `bot-bottle.role` label.
    pub role: String,
    /// Docker's "5 minutes ago".
    pub running_for: String,
    pub state: String,
}

/// The containers (running or not) `docker ps --all --filter FILTER` lists, with
/// bot-bottle's labels.
pub fn containers(docker: &dyn DockerEngine, filter: &str) -> Result<Vec<ContainerRow>> {
    let format = format!(
        "{{{{.ID}}}}\t{{{{.Names}}}}\t{{{{.Label \"{LABEL_ID}\"}}}}\t{{{{.Label \"{LABEL_AGENT}\"}}}}\t{{{{.Label \"{LABEL_ROLE}\"}}}}\t{{{{.RunningFor}}}}\t{{{{.State}}}}"
    );
    let done = docker.query(&[
        "ps",
        "--all",
        "--no-trunc",
        "--filter",
        filter,
        "--format",
        &format,
    ])?;
    if !done.ok() {
        bail!("docker ps failed: {}", done.stderr.trim());
    }
    Ok(done
        .stdout_text()
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            (f.len() == 7).then(|| ContainerRow {
                id: f[0].into(),
                name: f[1].into(),
                bottle_id: f[2].into(),
                agent: f[3].into(),
                role: f[4].into(),
                running_for: f[5].into(),
                state: f[6].into(),
            })
        })
        .collect())
}

/// A network or an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRow {
    pub name: String,
    pub bottle_id: String,
    pub agent: String,
    /// The `bot-bottle.role` label.
    pub role: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub containers: Vec<ContainerRow>,
    pub networks: Vec<ResourceRow>,
    /// `repository:tag`.
    pub images: Vec<ResourceRow>,
}

impl Inventory {
    /// Everything labelled by bot-bottle; with `uid`, only what that uid launched.
    pub fn read(docker: &dyn DockerEngine, uid: Option<u32>) -> Result<Inventory> {
        let filter = match uid {
            Some(uid) => format!("label={LABEL_UID}={uid}"),
            None => format!("label={LABEL_ID}"),
        };
        let labels = format!("{{{{.Label \"{LABEL_ID}\"}}}}\t{{{{.Label \"{LABEL_AGENT}\"}}}}");
        let role = format!("{{{{.Label \"{LABEL_ROLE}\"}}}}");
        let list = |args: &[&str], what: &str| -> Result<String> {
            let done = docker.query(args)?;
            if !done.ok() {
                bail!("docker {what} failed: {}", done.stderr.trim());
            }
            Ok(done.stdout_text())
        };
        let containers = containers(docker, &filter)?;
        let nets = list(
            &[
                "network",
                "ls",
                "--filter",
                &filter,
                "--format",
                &format!("{{{{.Name}}}}\t{labels}\t{role}"),
            ],
            "network ls",
        )?;
        // `docker image ls` has no label template (Docker 20.10): list the tags, then
        // read their labels in one `docker image inspect`.
        let tags = list(
            &[
                "image",
                "ls",
                "--filter",
                &filter,
                "--format",
                "{{.Repository}}:{{.Tag}}",
            ],
            "image ls",
        )?;
        let tags: Vec<&str> = tags.lines().filter(|t| !t.contains("<none>")).collect();
        let images = if tags.is_empty() {
            String::new()
        } else {
            let label = |k: &str| format!("{{{{index .Config.Labels \"{k}\"}}}}");
            let format = format!(
                "{}\t{}\t{}",
                label(LABEL_ID),
                label(LABEL_AGENT),
                label(LABEL_ROLE)
            );
            let mut args = vec!["image", "inspect", "--format", &format];
            args.extend(&tags);
            let labels = list(&args, "image inspect")?;
            tags.iter()
                .zip(labels.lines())
                .map(|(tag, l)| format!("{tag}\t{l}\n"))
                .collect()
        };
        Ok(Inventory {
            containers,
            networks: rows(&nets),
            images: rows(&images),
        })
    }

    /// Only the resources of agent `target`, or of the bottle whose id is `target`.
    pub fn only(mut self, target: &str) -> Inventory {
        self.containers
            .retain(|c| c.agent == target || c.bottle_id == target);
        for list in [&mut self.networks, &mut self.images] {
            list.retain(|r| r.agent == target || r.bottle_id == target);
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty() && self.images.is_empty()
    }

    /// The `bottle ls` table: one row per bottle id that has containers.
    pub fn table(&self) -> String {
        let mut bottles: BTreeMap<&str, Vec<&ContainerRow>> = BTreeMap::new();
        for c in &self.containers {
            bottles.entry(&c.bottle_id).or_default().push(c);
        }
        let mut table = Table::new(["AGENT", "ID", "AGE", "CONTAINERS"]);
        for (id, rows) in bottles {
            let agent = rows
                .iter()
                .find(|c| c.role == Role::Agent.label())
                .or(rows.first())
                .expect("grouped rows are non-empty");
            let containers: Vec<String> = rows
                .iter()
                .map(|c| format!("{} ({}, {})", c.name, c.role, c.state))
                .collect();
            table.row([
                agent.agent.clone(),
                id.to_string(),
                agent.running_for.trim_end_matches(" ago").to_string(),
                containers.join(", "),
            ]);
        }
        table.render()
    }

    /// What bottle created, and what only looks like it (one line each, saying why it
    /// stays): a container or network whose name is the naming scheme's for its labels,
    /// or that `known` lists (a launch record); an image only when a record lists it.
    pub fn owned(self, known: &Known) -> (Inventory, Vec<String>) {
        let listed =
            |bottle: &str, name: &str| known.names.iter().any(|(b, n)| b == bottle && n == name);
        let mut kept = Vec::new();
        let mut out = Inventory::default();
        for c in self.containers {
            let ours = match Role::from_label(&c.role) {
                Some(role) => known.owns(&c.bottle_id, role, &c.agent, &c.id, &c.name),
                // Reported by `undos` (a role label bottle does not set).
                None => true,
            };
            if ours {
                out.containers.push(c);
            } else {
                kept.push(format!(
                    "left container {}: it carries bot-bottle labels (bottle {}) but not a name bottle gave it (made from a committed image?)",
                    c.name, c.bottle_id
                ));
            }
        }
        for n in self.networks {
            let schemed = Role::from_label(&n.role)
                .is_some_and(|r| naming::is_schemed(r, &n.agent, &n.bottle_id, &n.name));
            if schemed || listed(&n.bottle_id, &n.name) {
                out.networks.push(n);
            } else {
                kept.push(format!(
                    "left network {}: it carries bot-bottle labels (bottle {}) but not a name bottle gave it",
                    n.name, n.bottle_id
                ));
            }
        }
        // Images: never by label alone (a committed agent image keeps the labels).
        out.images = self
            .images
            .into_iter()
            .filter(|i| listed(&i.bottle_id, &i.name))
            .collect();
        (out, kept)
    }

    /// The undos that remove all of it, containers first, then networks, then images;
    /// and the containers whose role label no undo can name.
    pub fn undos(&self) -> (Vec<Undo>, Vec<&ContainerRow>) {
        let mut undos = Vec::new();
        let mut unknown = Vec::new();
        for c in &self.containers {
            match Role::from_label(&c.role) {
                Some(role) => {
                    let undo = Undo::Containers {
                        bottle_id: c.bottle_id.clone(),
                        role,
                    };
                    if !undos.contains(&undo) {
                        undos.push(undo);
                    }
                }
                None => unknown.push(c),
            }
        }
        undos.extend(self.networks.iter().map(|n| Undo::Network {
            name: n.name.clone(),
        }));
        undos.extend(self.images.iter().map(|i| Undo::Image {
            tag: i.name.clone(),
        }));
        (undos, unknown)
    }
}

fn rows(text: &str) -> Vec<ResourceRow> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f.len() == 4).then(|| ResourceRow {
                name: f[0].into(),
                bottle_id: f[1].into(),
                agent: f[2].into(),
                role: f[3].into(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, id: &str, role: &str) -> ContainerRow {
        ContainerRow {
            id: format!("c-{name}"),
            name: name.into(),
            bottle_id: id.into(),
            agent: "dev".into(),
            role: role.into(),
            running_for: "5 minutes ago".into(),
            state: "running".into(),
        }
    }

    #[test]
    fn table_groups_containers_by_bottle() {
        let inv = Inventory {
            containers: vec![
                row("bot-bottle-pipelock-dev-1", "1111", "pipelock"),
                row("bot-bottle-dev-1", "1111", "agent"),
                row("bot-bottle-dev-2", "2222", "agent"),
            ],
            ..Inventory::default()
        };
        let table = inv.table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[1].starts_with("dev")
                && lines[1].contains("1111")
                && lines[1].contains("5 minutes")
        );
        assert!(lines[1].contains("bot-bottle-pipelock-dev-1 (pipelock, running)"));
        assert!(lines[2].contains("2222"));
    }

    #[test]
    fn only_keeps_one_agent_or_one_bottle_and_undos_cover_it() {
        let mut other = row("bot-bottle-web-3", "3333", "agent");
        other.agent = "web".into();
        let net = |name: &str, id: &str, agent: &str| ResourceRow {
            name: name.into(),
            bottle_id: id.into(),
            agent: agent.into(),
            role: "agent-network".into(),
        };
        let inv = Inventory {
            containers: vec![
                row("bot-bottle-pipelock-dev-1", "1111", "pipelock"),
                row("bot-bottle-dev-1", "1111", "agent"),
                row("odd", "1111", "not-a-role"),
                other,
            ],
            networks: vec![net("n1", "1111", "dev"), net("n3", "3333", "web")],
            images: vec![net("bot-bottle-cwd-web-3:latest", "3333", "web")],
        };
        let web = inv.clone().only("web");
        assert_eq!(web.containers.len(), 1);
        assert_eq!(web.networks[0].name, "n3");
        assert_eq!(web.images.len(), 1);
        let by_id = inv.clone().only("1111");
        assert_eq!(by_id.containers.len(), 3);
        assert!(by_id.images.is_empty());
        assert!(inv.clone().only("nobody").is_empty());
        let (undos, unknown) = by_id.undos();
        assert_eq!(
            undos,
            [
                Undo::Containers {
                    bottle_id: "1111".into(),
                    role: Role::Pipelock
                },
                Undo::Containers {
                    bottle_id: "1111".into(),
                    role: Role::Agent
                },
                Undo::Network { name: "n1".into() },
            ]
        );
        assert_eq!(unknown[0].name, "odd");
    }
}
