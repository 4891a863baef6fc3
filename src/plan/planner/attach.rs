//! Attaching the user: `docker exec --interactive [--tty]` of the command after `--`, else
//! the agent's command with its prompt as the last argument. The user's arguments are
//! literals: only the container is a slot. Pure.

use crate::config::catalog::Agent;
use crate::image::contract::ImageContract;
use crate::plan::docker_command::{DockerCommand, Stdin};
use crate::plan::slot::Slot;

pub(crate) fn attach(agent: &Agent, command: &[String]) -> DockerCommand {
    let c = &ImageContract::get().agent;
    let attach = DockerCommand::new(["exec", "--interactive"])
        .slot(Slot::Tty)
        .args(["--user", &c.user_spec(), "--workdir", &c.workdir])
        .slot(Slot::AgentName);
    let attach = if !command.is_empty() {
        attach.args(command.iter().cloned())
    } else if agent.prompt.is_some() {
        attach
            .args([
                "sh",
                "-c",
                "exec \"$@\" \"$(cat \"$0\")\"",
                &c.prompt_path(),
            ])
            .args(agent.command.iter().cloned())
    } else {
        attach.args(agent.command.iter().cloned())
    };
    attach.stdin(Stdin::Terminal)
}
