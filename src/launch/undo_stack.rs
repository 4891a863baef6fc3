//! `UndoStack`: the launch's undos. Every step pushes how to undo itself before it starts
//! (from any lane: thread-safe), and what its create answered (the container's id) once
//! it returns; teardown runs them newest first, all of them, through the [`Undoer`], in
//! one docker command per kind (one `docker rm`, one `docker network rm`), each undo
//! still reported on its own, failures reported without stopping. In memory; running is
//! I/O.

use crate::engine::docker_engine::DockerEngine;
use crate::launch::undoer::{Known, KnownContainer, UndoReport, Undoer};
use crate::plan::slot::SlotValues;
use crate::plan::undo::Undo;
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub struct UndoStack {
    items: Mutex<(Vec<Undo>, Known)>,
}

impl UndoStack {
    fn lock(&self) -> MutexGuard<'_, (Vec<Undo>, Known)> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, undo: Undo) {
        self.lock().0.push(undo);
    }

    /// The create behind `undo` (a [`Undo::Containers`]) answered with the container's
    /// id: teardown removes it by id, without looking it up.
    pub fn created(&self, undo: &Undo, id: &str, name: &str) {
        let Undo::Containers { bottle_id, role } = undo else {
            return;
        };
        let mut items = self.lock();
        let known = &mut items.1;
        known.names.add(bottle_id, id);
        known.containers.push(KnownContainer {
            bottle_id: bottle_id.clone(),
            role: *role,
            id: id.into(),
            name: name.into(),
        });
        if !known.complete.contains(undo) {
            known.complete.push(undo.clone());
        }
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
        let (items, known) = std::mem::take(&mut *self.lock());
        let items: Vec<Undo> = items.into_iter().rev().collect();
        Undoer {
            engine,
            slots,
            known: &known,
        }
        .run(items)
    }
}
