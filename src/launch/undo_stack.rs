//! The launch's undo stack: every step registers how to undo itself before it starts, and
//! teardown runs the undos in reverse, all of them, reporting failures without stopping.
//! I/O (through `docker`), thread-safe so concurrent steps can register.

use crate::engine::docker_cli::{Docker, Mode};
use crate::plan::docker_command::{DockerCommand, SlotValues};
use crate::plan::planner::{LABEL_ID, LABEL_ROLE};
use crate::plan::undo::Undo;
use std::sync::Mutex;

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
        Undo::Image { tag } => finish(docker, &Undo::image_remove(tag), &format!("image {tag}")),
    }
}

/// Docker's answer for something already gone, or being removed by someone else (a
/// concurrent `bottle cleanup`): for teardown, as good as done.
pub fn is_gone(stderr: &str) -> bool {
    stderr.contains("No such")
        || stderr.contains("not found")
        || stderr.contains("already in progress")
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
    if first.ok() || is_gone(&first.stderr) {
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
    if done.ok() || is_gone(&done.stderr) {
        Ok(())
    } else {
        Err(format!(
            "cannot remove {what}: `{}`: {}",
            cmd.display(),
            done.stderr.trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_undo_runs_newest_first_and_failures_do_not_stop_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("first");
        let last = dir.path().join("last");
        std::fs::write(&first, "x").unwrap();
        std::fs::write(&last, "x").unwrap();
        // A directory cannot be removed as a file: this undo fails.
        let stuck = dir.path().join("stuck");
        std::fs::create_dir(&stuck).unwrap();
        std::fs::write(stuck.join("inside"), "x").unwrap();
        let stack = UndoStack::default();
        stack.push(Undo::File(first.clone()));
        stack.push(Undo::File(stuck.clone()));
        stack.push(Undo::File(dir.path().join("never-existed")));
        stack.push(Undo::File(last.clone()));
        let failures = stack.run_all(&Docker::new(false));
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains("stuck"));
        assert!(
            !first.exists() && !last.exists(),
            "undos after and before the failure ran"
        );
        assert!(stack.is_empty());
    }
}
