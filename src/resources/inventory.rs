//! `Inventory`: what bot-bottle has on the Docker engine, found by label (the engine's
//! [`listing`]): containers, networks and images, with their bottle id, agent and role;
//! narrowed to one agent or bottle id, and to what bottle created (the one ownership
//! check, [`Known::owns`]); as the `ls` table and as the undos that remove it. Reading is
//! I/O (through the engine); the rest is pure.

use crate::engine::docker_engine::DockerEngine;
use crate::engine::listing::{self, Container, Resource};
use crate::error::Error;
use crate::naming::{Known, LabelFilter, Role, RoleLabel, look_alike};
use crate::plan::undo::Undo;
use crate::table::Table;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub containers: Vec<Container>,
    pub networks: Vec<Resource>,
    /// `repository:tag`.
    pub images: Vec<Resource>,
}

impl Inventory {
    /// Everything labelled by bot-bottle; with `uid`, only what that uid launched.
    pub fn read(docker: &dyn DockerEngine, uid: Option<u32>) -> Result<Inventory, Error> {
        let filter = match uid {
            Some(uid) => LabelFilter::uid(uid),
            None => LabelFilter::any_bottle(),
        };
        Ok(Inventory {
            containers: listing::containers(docker, std::slice::from_ref(&filter))?,
            networks: listing::networks(docker, &filter)?,
            images: listing::images(docker, &filter)?,
        })
    }

    /// Only the resources of agent `target`, or of the bottle whose id is `target`.
    pub fn only(mut self, target: &str) -> Inventory {
        let of = |l: &crate::naming::Labelled| l.agent == target || l.bottle_id == target;
        self.containers.retain(|c| of(&c.labels));
        for list in [&mut self.networks, &mut self.images] {
            list.retain(|r| of(&r.labels));
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty() && self.images.is_empty()
    }

    /// The `bottle ls` table: one row per bottle id that has containers. Every labelled
    /// container, not only what [`Inventory::owned`] keeps: a bottle whose agent has a
    /// pinned name is running, and only its launch record (another user's, maybe) knows
    /// that name.
    ///
    /// `live`: each bottle's live approvals (`bottle allow-host`), by bottle id.
    pub fn table(&self, live: &BTreeMap<String, Vec<String>>) -> String {
        let mut bottles: BTreeMap<&str, Vec<&Container>> = BTreeMap::new();
        for c in &self.containers {
            bottles.entry(&c.labels.bottle_id).or_default().push(c);
        }
        let mut table = Table::new([
            "AGENT",
            "ID",
            "AGE",
            "LIVE APPROVALS",
            "PORTS",
            "CONTAINERS",
        ]);
        for (id, rows) in bottles {
            let agent = rows
                .iter()
                .find(|c| c.labels.role == RoleLabel::Known(Role::Agent))
                .or(rows.first())
                .expect("grouped rows are non-empty");
            let containers: Vec<String> = rows
                .iter()
                .map(|c| format!("{} ({}, {})", c.name, c.labels.role, c.state))
                .collect();
            // The forwarder's label: `127.0.0.1:8080->5173`, host port to agent port.
            let ports: Vec<&str> = rows
                .iter()
                .filter(|c| c.labels.role == RoleLabel::Known(Role::Forwarder))
                .flat_map(|c| c.ports.split(',').filter(|p| !p.is_empty()))
                .collect();
            let approvals = live
                .get(id)
                .filter(|hosts| !hosts.is_empty())
                .map_or_else(|| "-".to_string(), |hosts| hosts.join(","));
            table.row([
                agent.labels.agent.clone(),
                id.to_string(),
                agent.running_for.trim_end_matches(" ago").to_string(),
                approvals,
                if ports.is_empty() {
                    "-".to_string()
                } else {
                    ports.join(", ")
                },
                containers.join(", "),
            ]);
        }
        table.render()
    }

    /// What bottle created (by [`Known::owns`]), and what only looks like it (one line
    /// each, saying why it stays). A container whose role label bottle does not set is
    /// kept here, for [`Inventory::undos`] to report.
    pub fn owned(self, known: &Known) -> (Inventory, Vec<String>) {
        let mut kept = Vec::new();
        let mut out = Inventory::default();
        for c in self.containers {
            if c.labels.role.role().is_none() || known.owns(&c.listed()) {
                out.containers.push(c);
            } else {
                kept.push(look_alike(&c.listed()));
            }
        }
        for n in self.networks {
            if known.owns(&n.listed()) {
                out.networks.push(n);
            } else {
                kept.push(look_alike(&n.listed()));
            }
        }
        out.images = self
            .images
            .into_iter()
            .filter(|i| known.owns(&i.listed()))
            .collect();
        (out, kept)
    }

    /// The undos that remove all of it, containers first, then networks, then images;
    /// and the containers whose role label no undo can name.
    pub fn undos(&self) -> (Vec<Undo>, Vec<&Container>) {
        let mut undos = Vec::new();
        let mut unknown = Vec::new();
        for c in &self.containers {
            match c.labels.role.role() {
                Some(role) => {
                    let undo = Undo::Containers {
                        bottle_id: c.labels.bottle_id.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::listing::ContainerState;
    use crate::naming::{Kind, Labelled};

    fn labels(id: &str, agent: &str, role: &str) -> Labelled {
        Labelled {
            bottle_id: id.into(),
            agent: agent.into(),
            role: RoleLabel::read(role),
        }
    }

    fn row(name: &str, id: &str, role: &str) -> Container {
        Container {
            id: format!("c-{name}"),
            name: name.into(),
            labels: labels(id, "dev", role),
            running_for: "5 minutes ago".into(),
            state: ContainerState::Running,
            ports: String::new(),
        }
    }

    #[test]
    fn table_groups_containers_by_bottle() {
        let mut forwarder = row("bot-bottle-fwd-dev-1", "1111", "forwarder");
        forwarder.ports = "127.0.0.1:8080->5173,127.0.0.1:3000->3000".into();
        let inv = Inventory {
            containers: vec![
                row("bot-bottle-pipelock-dev-1", "1111", "pipelock"),
                row("bot-bottle-dev-1", "1111", "agent"),
                forwarder,
                row("bot-bottle-dev-2", "2222", "agent"),
            ],
            ..Inventory::default()
        };
        let live = BTreeMap::from([(
            "1111".to_string(),
            vec!["denied.test".to_string(), "*.pypi.org".to_string()],
        )]);
        let table = inv.table(&live);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].contains(" denied.test,*.pypi.org "), "{table}");
        assert!(lines[2].contains(" - "), "{table}");
        assert!(
            lines[1].starts_with("dev")
                && lines[1].contains("1111")
                && lines[1].contains("5 minutes")
        );
        assert!(lines[1].contains("bot-bottle-pipelock-dev-1 (pipelock, running)"));
        assert!(
            lines[1].contains("127.0.0.1:8080->5173, 127.0.0.1:3000->3000"),
            "{table}"
        );
        assert!(
            lines[2].contains("2222") && lines[2].contains(" - "),
            "{table}"
        );
    }

    #[test]
    fn only_keeps_one_agent_or_one_bottle_and_undos_cover_it() {
        let mut other = row("bot-bottle-web-3", "3333", "agent");
        other.labels.agent = "web".into();
        let net = |name: &str, id: &str, agent: &str| Resource {
            kind: Kind::Network,
            name: name.into(),
            labels: labels(id, agent, "agent-network"),
        };
        let inv = Inventory {
            containers: vec![
                row("bot-bottle-pipelock-dev-1", "1111", "pipelock"),
                row("bot-bottle-dev-1", "1111", "agent"),
                row("odd", "1111", "not-a-role"),
                other,
            ],
            networks: vec![net("n1", "1111", "dev"), net("n3", "3333", "web")],
            images: vec![Resource {
                kind: Kind::Image,
                ..net("bot-bottle-cwd-web-3:latest", "3333", "web")
            }],
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
