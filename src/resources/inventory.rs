//! What bot-bottle has on the Docker engine, found by label: containers, networks and
//! `--cwd` images, grouped by bottle id. Reading is I/O (`docker ps/network ls/image ls`);
//! grouping and the `ls` table are pure.

use crate::engine::docker_cli::Docker;
use crate::plan::planner::{LABEL_AGENT, LABEL_ID, LABEL_ROLE, LABEL_UID};
use anyhow::{Result, bail};
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRow {
    pub id: String,
    pub name: String,
    pub bottle_id: String,
    pub agent: String,
    pub role: String,
    /// Docker's "5 minutes ago".
    pub running_for: String,
    pub state: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub containers: Vec<ContainerRow>,
    /// (name, bottle id)
    pub networks: Vec<(String, String)>,
    /// (reference, bottle id)
    pub images: Vec<(String, String)>,
}

impl Inventory {
    /// Everything labelled by bot-bottle; with `uid`, only what that uid launched.
    pub fn read(docker: &Docker, uid: Option<u32>) -> Result<Inventory> {
        let filter = match uid {
            Some(uid) => format!("label={LABEL_UID}={uid}"),
            None => format!("label={LABEL_ID}"),
        };
        let ps = docker.query([
            "ps".to_string(),
            "--all".into(),
            "--no-trunc".into(),
            "--filter".into(),
            filter.clone(),
            "--format".into(),
            format!(
                "{{{{.ID}}}}\t{{{{.Names}}}}\t{{{{.Label \"{LABEL_ID}\"}}}}\t{{{{.Label \"{LABEL_AGENT}\"}}}}\t{{{{.Label \"{LABEL_ROLE}\"}}}}\t{{{{.RunningFor}}}}\t{{{{.State}}}}"
            ),
        ])?;
        if !ps.ok() {
            bail!("docker ps failed: {}", ps.stderr.trim());
        }
        let containers = ps
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
            .collect();
        let nets = docker.query([
            "network".to_string(),
            "ls".into(),
            "--filter".into(),
            filter.clone(),
            "--format".into(),
            format!("{{{{.Name}}}}\t{{{{.Label \"{LABEL_ID}\"}}}}"),
        ])?;
        if !nets.ok() {
            bail!("docker network ls failed: {}", nets.stderr.trim());
        }
        let images = docker.query([
            "image".to_string(),
            "ls".into(),
            "--filter".into(),
            filter,
            "--format".into(),
            format!("{{{{.Repository}}}}:{{{{.Tag}}}}\t{{{{.Label \"{LABEL_ID}\"}}}}"),
        ])?;
        if !images.ok() {
            bail!("docker image ls failed: {}", images.stderr.trim());
        }
        Ok(Inventory {
            containers,
            networks: pairs(&nets.stdout_text()),
            images: pairs(&images.stdout_text()),
        })
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
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<16}  {:<16}  {:<16}  CONTAINERS",
            "AGENT", "ID", "AGE"
        );
        for (id, rows) in bottles {
            let agent = rows
                .iter()
                .find(|c| c.role == "agent")
                .or(rows.first())
                .expect("grouped rows are non-empty");
            let age = agent.running_for.trim_end_matches(" ago");
            let containers: Vec<String> = rows
                .iter()
                .map(|c| format!("{} ({}, {})", c.name, c.role, c.state))
                .collect();
            let _ = writeln!(
                out,
                "{:<16}  {:<16}  {:<16}  {}",
                agent.agent,
                id,
                age,
                containers.join(", ")
            );
        }
        out
    }
}

fn pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_groups_containers_by_bottle() {
        let row = |name: &str, id: &str, role: &str| ContainerRow {
            id: format!("c-{name}"),
            name: name.into(),
            bottle_id: id.into(),
            agent: "dev".into(),
            role: role.into(),
            running_for: "5 minutes ago".into(),
            state: "running".into(),
        };
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
}
