//! `Undo`: how to take back one launch step (or remove one leftover), as plain data. The
//! plan registers one per step that creates something; teardown and `bottle cleanup` run
//! them through the launch's undoer. Pure.

use crate::naming::{LABEL_ID, LABEL_ROLE, Role};
use crate::plan::docker_command::Arg;
use crate::plan::slot::Slot;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "undo", rename_all = "snake_case")]
pub enum Undo {
    /// Remove the containers of this launch with this role. By label, not by name, so a
    /// container of someone else's that holds a name we wanted is never touched.
    Containers { bottle_id: String, role: Role },
    /// Remove a network, first disconnecting anything still attached to it (a container
    /// someone connected by hand must not keep the network alive).
    Network { name: String },
    /// Remove an image bottle built (the `--cwd` image).
    Image { tag: String },
    /// Delete a file bottle wrote (the env-file); its path may be a slot.
    File { path: Arg },
}

/// What an undo removes, for batching: undos of one kind can share a docker command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UndoKind {
    Containers,
    Network,
    Image,
    File,
}

impl Undo {
    pub fn kind(&self) -> UndoKind {
        match self {
            Undo::Containers { .. } => UndoKind::Containers,
            Undo::Network { .. } => UndoKind::Network,
            Undo::Image { .. } => UndoKind::Image,
            Undo::File { .. } => UndoKind::File,
        }
    }

    /// The network's name or the image's tag.
    pub fn target(&self) -> Option<&str> {
        match self {
            Undo::Network { name } => Some(name),
            Undo::Image { tag } => Some(tag),
            Undo::Containers { .. } | Undo::File { .. } => None,
        }
    }

    /// What teardown will do, as `bottle plan` shows it.
    pub fn describe(&self) -> String {
        match self {
            Undo::Containers { bottle_id, role } => format!(
                "docker rm --force --volumes $(docker ps --all --quiet --filter label={LABEL_ID}={bottle_id} --filter label={LABEL_ROLE}={})",
                role.label()
            ),
            Undo::Network { name } => {
                format!("docker network rm {name}  (disconnecting any container still attached)")
            }
            Undo::Image { tag } => format!("docker image rm --force {tag}"),
            Undo::File {
                path:
                    Arg::Slot {
                        slot: Slot::EnvFile,
                        ..
                    },
            } => format!(
                "rm {}  (already deleted once the agent container started)",
                Slot::EnvFile.placeholder()
            ),
            Undo::File { path } => match path {
                Arg::Lit(p) | Arg::Content { text: p, .. } => format!("rm {p}"),
                Arg::Slot {
                    prefix,
                    slot,
                    suffix,
                } => format!("rm {prefix}{}{suffix}", slot.placeholder()),
            },
        }
    }
}
