//! `docker exec` into the agent container as a given user: the one command shape the
//! provisioning steps (files, skills, the CA, Claude Code's state) share. Pure.

use crate::plan::docker_command::DockerCommand;
use crate::plan::slot::Slot;

/// `docker exec [--interactive] --user USER <agent>`; the caller appends the command.
pub(super) fn exec(interactive: bool, user: &str) -> DockerCommand {
    DockerCommand::new(["exec"])
        .args(interactive.then_some("--interactive"))
        .args(["--user", user])
        .slot(Slot::AgentName)
}
