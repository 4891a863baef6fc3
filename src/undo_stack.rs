//! The launch's undo stack: every step registers how to undo itself before it starts, and
//! teardown runs the undos in reverse, all of them, reporting failures without stopping.
//! I/O (through `docker`), thread-safe so concurrent steps can register.

use crate::docker::{Docker, Mode};
use crate::docker_command::{DockerCommand, SlotValues};
use crate::planner::{LABEL_ID, LABEL_ROLE};
use std::path::PathBuf;
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undo {
    /// Remove the containers of this launch with this role. By label, not by name, so a
    /// container of someone else's that holds a name we wanted is never touched.
    Containers { bottle_id: String, role: String },
    /// Remove a network, first disconnecting anything still attached to it (a container
    /// someone connected by hand must not keep the network alive).
    Network { name: String },
    /// Remove an image, … by a plain docker command.
    Docker { what: String, cmd: DockerCommand },
    /// Delete a file bottle wrote (the env-file).
    File(PathBuf),
}

#[derive(Default)]
pub struct UndoStack {
    items: Mutex<Vec<Undo>>,
}

impl UndoStack {
    pub fn push(&self, undo: Undo) {
        self.items
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(undo);
    }

    pub fn len(&self) -> usize {
        self.items.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs every undo, newest first, and empties the stack. Returns one message per
    /// failure; an undo whose target is already gone counts as done.
    pub fn run_all(&self, docker: &Docker) -> Vec<String> {
        let items: Vec<Undo> =
            std::mem::take(&mut *self.items.lock().unwrap_or_else(|e| e.into_inner()));
        let mut failures = Vec::new();
        for undo in items.into_iter().rev() {
            // A panic in one undo must not keep the others from running.
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_one(docker, &undo)))
                    .unwrap_or_else(|_| Err(format!("internal error while undoing {undo:?}")));
            if let Err(e) = result {
                failures.push(e);
            }
        }
        failures
    }
}

fn run_one(docker: &Docker, undo: &Undo) -> Result<(), String> {
    match undo {
        Undo::File(path) => match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
        },
        Undo::Containers { bottle_id, role } => {
            let list = DockerCommand::new([
                "ps".to_string(),
                "--all".into(),
                "--quiet".into(),
                "--filter".into(),
                format!("label={LABEL_ID}={bottle_id}"),
                "--filter".into(),
                format!("label={LABEL_ROLE}={role}"),
            ]);
            let found = docker
                .run(&list, &SlotValues::default(), None, Mode::Finish)
                .map_err(|e| format!("cannot list {role} containers: {e:#}"))?;
            if !found.ok() {
                return Err(format!(
                    "cannot list {role} containers: {}",
                    found.stderr.trim()
                ));
            }
            let ids: Vec<String> = found
                .stdout_text()
                .lines()
                .map(str::to_string)
                .filter(|l| !l.is_empty())
                .collect();
            if ids.is_empty() {
                return Ok(());
            }
            let rm = DockerCommand::new(["rm", "--force", "--volumes"]).args(ids);
            finish(docker, &rm, &format!("{role} container"))
        }
        Undo::Network { name } => remove_network(docker, name, Mode::Finish),
        Undo::Docker { what, cmd } => finish(docker, cmd, what),
    }
}

/// `docker network rm`, after force-disconnecting whatever is still attached.
pub fn remove_network(docker: &Docker, name: &str, mode: Mode) -> Result<(), String> {
    let run = |args: Vec<String>| {
        docker
            .run(
                &DockerCommand::new(args),
                &SlotValues::default(),
                None,
                mode,
            )
            .map_err(|e| format!("cannot remove network {name}: {e:#}"))
    };
    let first = run(vec!["network".into(), "rm".into(), name.into()])?;
    if first.ok() || first.stderr.contains("not found") || first.stderr.contains("No such") {
        return Ok(());
    }
    let attached = run(vec![
        "network".into(),
        "inspect".into(),
        "--format".into(),
        "{{range $id, $c := .Containers}}{{$id}} {{end}}".into(),
        name.into(),
    ])?;
    for id in attached.stdout_text().split_whitespace() {
        run(vec![
            "network".into(),
            "disconnect".into(),
            "--force".into(),
            name.into(),
            id.into(),
        ])?;
    }
    let second = run(vec!["network".into(), "rm".into(), name.into()])?;
    if second.ok() {
        Ok(())
    } else {
        Err(format!(
            "cannot remove network {name}: {}",
            second.stderr.trim()
        ))
    }
}

fn finish(docker: &Docker, cmd: &DockerCommand, what: &str) -> Result<(), String> {
    let done = docker
        .run(cmd, &SlotValues::default(), None, Mode::Finish)
        .map_err(|e| format!("cannot remove {what}: {e:#}"))?;
    // Already gone, or being removed by someone else (a concurrent `bottle cleanup`).
    let gone = done.stderr.contains("No such")
        || done.stderr.contains("not found")
        || done.stderr.contains("already in progress");
    if done.ok() || gone {
        Ok(())
    } else {
        Err(format!(
            "cannot remove {what}: `{}`: {}",
            cmd.display(),
            done.stderr.trim()
        ))
    }
}
