//! `Step`: one thing a launch does (an `Action`), the undo it registers before it starts,
//! and the progress lines around it. `Action` says what, not how: the launch's executor
//! runs any list of them. Pure.

use crate::image::image_ref::ImageRef;
use crate::plan::docker_command::DockerCommand;
use crate::plan::slot::Slot;
use crate::plan::undo::Undo;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// A progress line before the step (placeholders of filled slots replaced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub announce: Option<String>,
    pub action: Action,
    /// Pushed on the undo stack before the action starts, so a step cut short (a failure,
    /// a signal, a crash) is still taken back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undo: Option<Undo>,
    /// A progress line once the step succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub done: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Action {
    /// The image must be in Docker; a missing Nix-pinned image is streamed from its
    /// stream script into `docker load`.
    EnsureImage { image: ImageRef },
    /// A command that must succeed. It creates or changes something, so it runs to the
    /// end even when a signal arrives. `creates`: the container it creates, by name (the
    /// launch record names it before the command runs, with its id once it answered).
    Run {
        command: DockerCommand,
        #[serde(skip_serializing_if = "Option::is_none")]
        creates: Option<String>,
    },
    /// Repeats `probe` (a signal stops it) until it succeeds; fails as soon as
    /// `container` is not running, or after `timeout_seconds`, with its last log lines.
    /// With `capture`, the probe's stdout fills a slot.
    WaitFor {
        probe: DockerCommand,
        container: String,
        /// What is awaited, for messages (`pipelock /health`).
        what: String,
        timeout_seconds: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        capture: Option<Capture>,
    },
    /// A read-only query whose stdout fills a slot.
    Query {
        query: DockerCommand,
        capture: Capture,
    },
    /// Writes the bottle's literal values (`names`) to a new 0600 file; its path fills
    /// [`Slot::EnvFile`].
    WriteEnvFile { names: Vec<String> },
    /// Deletes the env-file once `docker run` has read it.
    RemoveEnvFile,
    /// `docker run` of the agent container. Without `pinned`, a name in use is retried as
    /// `name-2` … `name-<attempts>`; the name used fills [`Slot::AgentName`].
    RunAgent {
        run: DockerCommand,
        name: String,
        pinned: bool,
        attempts: u32,
    },
    /// Merges `patch` into a JSON file in a container (`plan::json_merge`: objects key by
    /// key, arrays extended, keys the patch does not name kept): `read` prints the file
    /// (nothing when there is none), the merge is pure, `write` gets the result on stdin.
    /// A file that is not a JSON object fails the step, naming `file`.
    MergeJson {
        file: String,
        read: DockerCommand,
        patch: serde_json::Value,
        write: DockerCommand,
    },
    /// The user's session on the agent; its exit code is the launch's.
    Attach { command: DockerCommand },
}

/// How a command's stdout becomes a slot's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "capture", rename_all = "snake_case")]
pub enum Capture {
    /// An IP address; `name:address` fills [`Slot::MitmHostEntry`].
    HostEntry { name: String },
    /// The agent's IPv4 address, as the port relay in its namespace found it; fills
    /// [`Slot::AgentAddress`].
    AgentAddress,
}

impl Capture {
    pub fn slot(&self) -> Slot {
        match self {
            Capture::HostEntry { .. } => Slot::MitmHostEntry,
            Capture::AgentAddress => Slot::AgentAddress,
        }
    }
}

impl Step {
    pub fn new(action: Action) -> Step {
        Step {
            announce: None,
            action,
            undo: None,
            done: None,
        }
    }

    pub fn run(command: DockerCommand) -> Step {
        Step::new(Action::Run {
            command,
            creates: None,
        })
    }

    /// `docker run --detach --name NAME …` of a container the launch creates.
    pub fn create_container(command: DockerCommand, name: &str) -> Step {
        Step::new(Action::Run {
            command,
            creates: Some(name.to_string()),
        })
    }

    pub fn undo(mut self, undo: Undo) -> Step {
        self.undo = Some(undo);
        self
    }

    pub fn announce(mut self, line: impl Into<String>) -> Step {
        self.announce = Some(line.into());
        self
    }

    pub fn done(mut self, line: impl Into<String>) -> Step {
        self.done = Some(line.into());
        self
    }

    /// The slots that must be filled before the step starts.
    pub fn needs(&self) -> Vec<Slot> {
        let mut needs = match &self.action {
            Action::EnsureImage { .. } | Action::WriteEnvFile { .. } => Vec::new(),
            Action::Run { command, .. } | Action::Attach { command } => command.slots(),
            Action::WaitFor { probe, .. } => probe.slots(),
            Action::Query { query, .. } => query.slots(),
            Action::RemoveEnvFile => vec![Slot::EnvFile],
            Action::RunAgent { run, .. } => run.slots(),
            Action::MergeJson { read, write, .. } => {
                let mut slots = read.slots();
                slots.extend(write.slots());
                slots.sort();
                slots.dedup();
                slots
            }
        };
        if let Some(filled) = self.fills() {
            needs.retain(|s| *s != filled);
        }
        needs
    }

    /// The slot the step fills when it succeeds.
    pub fn fills(&self) -> Option<Slot> {
        match &self.action {
            Action::WaitFor { capture, .. } => capture.as_ref().map(Capture::slot),
            Action::Query { capture, .. } => Some(capture.slot()),
            Action::WriteEnvFile { .. } => Some(Slot::EnvFile),
            Action::RunAgent { .. } => Some(Slot::AgentName),
            _ => None,
        }
    }
}
