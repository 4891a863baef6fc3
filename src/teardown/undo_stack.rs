//! `UndoStack`: the launch's undos. Every step pushes how to undo itself before it starts
//! (from any lane: thread-safe), and what its create answered (the container's id) once
//! it returns; teardown runs them newest first, all of them, through the [`Undoer`], in
//! one docker command per kind (one `docker rm`, one `docker network rm`), each undo
//! still reported on its own, failures reported without stopping. In memory; running is
//! I/O.

use crate::engine::docker_engine::DockerEngine;
use crate::plan::slot::SlotValues;
use crate::plan::undo::Undo;
use crate::teardown::knowledge::Knowledge;
use crate::teardown::undoer::{UndoReport, Undoer};
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub struct UndoStack {
    items: Mutex<(Vec<Undo>, Knowledge)>,
}

impl UndoStack {
    fn lock(&self) -> MutexGuard<'_, (Vec<Undo>, Knowledge)> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, undo: Undo) {
        self.lock().0.push(undo);
    }

    /// The create behind `undo` (a [`Undo::Containers`]) answered with the container's
    /// id: teardown removes it by id, without looking it up.
    pub fn created(&self, undo: &Undo, id: &str, name: &str) {
        self.lock().1.created(undo, id, name);
    }

    /// A container of `bottle_id` may exist under `name` (a create is about to run): a
    /// name outside the naming scheme (a pinned `--name`) is then still ours.
    pub fn may_exist(&self, bottle_id: &str, name: &str) {
        self.lock().1.names.add(bottle_id, name);
    }

    /// The undos registered so far, oldest first.
    pub fn registered(&self) -> Vec<Undo> {
        self.lock().0.clone()
    }

    /// Runs every undo, newest first, one docker command per kind, and empties the
    /// stack. One report per undo.
    pub fn run_all(&self, engine: &dyn DockerEngine, slots: &SlotValues) -> Vec<UndoReport> {
        let (items, knowledge) = std::mem::take(&mut *self.lock());
        let items: Vec<Undo> = items.into_iter().rev().collect();
        Undoer {
            engine,
            slots,
            knowledge: &knowledge,
        }
        .run(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::call::Call;
    use crate::engine::scripted_engine::{Reply, ScriptedEngine};
    use crate::plan::fixture::fake;
    use crate::progress::Journal;
    use std::sync::{Arc, Mutex};

    #[test]
    fn teardown_runs_every_undo_newest_first_and_a_failure_does_not_stop_the_rest() {
        let docker = Arc::new(fake());
        for net in ["n1", "n2", "n3"] {
            docker.answer(&Call::new(["network", "create", net]));
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("env");
        std::fs::write(&file, "x").unwrap();
        let journal: Journal = Arc::new(Mutex::new(Vec::new()));
        let fake = docker.clone();
        let engine = ScriptedEngine::new(journal, move |call| {
            if call.args.contains(&"n2".to_string()) {
                Reply::fail("Error response from daemon: permission denied")
            } else {
                fake.answer(call)
            }
        });
        let stack = UndoStack::default();
        stack.push(Undo::Network { name: "n1".into() });
        stack.push(Undo::File {
            path: crate::plan::docker_command::Arg::Lit(file.display().to_string()),
        });
        stack.push(Undo::Network { name: "n2".into() });
        stack.push(Undo::Network { name: "n3".into() });
        let reports = stack.run_all(&engine, &SlotValues::default());
        assert!(
            stack.run_all(&engine, &SlotValues::default()).is_empty(),
            "run_all empties the stack"
        );
        let failed: Vec<&Undo> = reports
            .iter()
            .filter(|r| r.result.is_err())
            .map(|r| &r.undo)
            .collect();
        assert_eq!(failed, [&Undo::Network { name: "n2".into() }]);
        assert_eq!(
            docker.removed(),
            ["network n3", "network n1"],
            "newest first, past the failure"
        );
        assert!(!file.exists());
        let undone: Vec<&Undo> = reports.iter().map(|r| &r.undo).collect();
        assert_eq!(
            undone,
            [
                &Undo::Network { name: "n3".into() },
                &Undo::Network { name: "n2".into() },
                &Undo::File {
                    path: crate::plan::docker_command::Arg::Lit(file.display().to_string())
                },
                &Undo::Network { name: "n1".into() },
            ]
        );
    }
}
