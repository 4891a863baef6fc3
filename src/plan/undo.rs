//! `Undo`: how to take back one launch step, as plain data in the plan; the undo stack
//! runs them at teardown. Pure.

use crate::plan::docker_command::DockerCommand;
use crate::plan::planner::{LABEL_ID, LABEL_ROLE};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "undo", rename_all = "snake_case")]
pub enum Undo {
    /// Remove the containers of this launch with this role. By label, not by name, so a
    /// container of someone else's that holds a name we wanted is never touched.
    Containers { bottle_id: String, role: String },
    /// Remove a network, first disconnecting anything still attached to it (a container
    /// someone connected by hand must not keep the network alive).
    Network { name: String },
    /// Remove the `--cwd` image.
    Image { tag: String },
    /// Delete a file bottle wrote (the env-file).
    File(PathBuf),
}

impl Undo {
    /// What teardown will do, as `bottle plan` shows it.
    pub fn describe(&self) -> String {
        match self {
            Undo::Containers { bottle_id, role } => format!(
                "docker rm --force --volumes $(docker ps --all --quiet --filter label={LABEL_ID}={bottle_id} --filter label={LABEL_ROLE}={role})"
            ),
            Undo::Network { name } => {
                format!("docker network rm {name}  (disconnecting any container still attached)")
            }
            Undo::Image { tag } => Undo::image_remove(tag).display(),
            Undo::File(path) => format!("rm {}", path.display()),
        }
    }

    pub fn image_remove(tag: &str) -> DockerCommand {
        DockerCommand::new(["image", "rm", "--force", tag])
    }
}
