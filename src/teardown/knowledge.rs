//! `Knowledge`: what teardown knows about the containers its undos remove, beyond their
//! labels: the launch's own (each create's answer: the container's id, so no lookup is
//! needed), or `bottle cleanup`'s (the launch records). In memory; pure.

use crate::naming::{self, Role};
use crate::plan::undo::Undo;

/// A container whose create answered with its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownContainer {
    pub bottle_id: String,
    pub role: Role,
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Knowledge {
    /// Containers whose create answered with their id.
    pub containers: Vec<KnownContainer>,
    /// Container undos whose every container is in `containers` (its create step
    /// succeeded): removed by id, without a lookup.
    pub complete: Vec<Undo>,
    /// Names and ids of what bottle created under a name outside the naming scheme (a
    /// pinned `--name`, what a record lists, a create's answer): for the ownership check.
    pub names: naming::Known,
}

impl Knowledge {
    /// Cleanup's: only the names its records list.
    pub fn of_names(names: naming::Known) -> Knowledge {
        Knowledge {
            names,
            ..Knowledge::default()
        }
    }

    /// A container of `undo` was created under `name` and answered with `id`: teardown
    /// removes it by id, and once every create of `undo` answered, without a lookup.
    pub fn created(&mut self, undo: &Undo, id: &str, name: &str) {
        let Undo::Containers { bottle_id, role } = undo else {
            return;
        };
        self.names.add(bottle_id, id);
        self.containers.push(KnownContainer {
            bottle_id: bottle_id.clone(),
            role: *role,
            id: id.into(),
            name: name.into(),
        });
        if !self.complete.contains(undo) {
            self.complete.push(undo.clone());
        }
    }
}
