//! `UndoStack`: the launch's undos. Every step pushes how to undo itself before it starts
//! (from any lane: thread-safe); teardown runs them newest first, all of them, through the
//! [`Undoer`], reporting failures without stopping. In memory; running is I/O.

use crate::engine::docker_engine::DockerEngine;
use crate::launch::undoer::{Batching, UndoReport, Undoer};
use crate::plan::slot::SlotValues;
use crate::plan::undo::Undo;
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub struct UndoStack {
    items: Mutex<Vec<Undo>>,
}

impl UndoStack {
    fn lock(&self) -> MutexGuard<'_, Vec<Undo>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, undo: Undo) {
        self.lock().push(undo);
    }

    /// Runs every undo, newest first, and empties the stack. One report per undo.
    pub fn run_all(&self, engine: &dyn DockerEngine, slots: &SlotValues) -> Vec<UndoReport> {
        let items: Vec<Undo> = std::mem::take(&mut *self.lock())
            .into_iter()
            .rev()
            .collect();
        Undoer { engine, slots }.run(items, Batching::One)
    }
}
