//! What an undo removed ([`Removed`], one [`UndoReport`] per undo), and what every removal
//! shares: its docker command run to the end, Docker's line about one target. I/O
//! (through the engine) for [`run`]; the rest is pure.

use crate::engine::call::Call;
use crate::engine::docker_engine::DockerEngine;
use crate::engine::finished::Finished;
use crate::naming::Role;
use crate::plan::undo::Undo;

/// One resource an undo removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// `container`, `network`, `image` or `file`.
    pub kind: &'static str,
    pub name: String,
    /// The container's role, when the undo knows it.
    pub role: Option<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoReport {
    pub undo: Undo,
    /// What it removed (nothing when it was already gone), or why it failed.
    pub result: Result<Vec<Removed>, String>,
    /// Containers that carry the undo's labels but not a name bottle gave them (made
    /// from a committed agent image): left alone, said why.
    pub kept: Vec<String>,
}

/// Runs a removal to the end (whatever signal came); an error says which command.
pub(super) fn run(engine: &dyn DockerEngine, args: Vec<String>) -> Result<Finished, String> {
    let call = Call::new(args).to_the_end();
    engine
        .run(&call)
        .map_err(|e| format!("`{}`: {e:#}", call.shown))
}

pub(super) fn report(undo: &Undo, result: Result<Vec<Removed>, String>) -> UndoReport {
    UndoReport {
        undo: undo.clone(),
        result,
        kept: Vec::new(),
    }
}

/// The line of Docker's stderr about `target` (all of it when no line names it).
pub(super) fn line_about(done: &Finished, target: &str) -> String {
    done.stderr
        .lines()
        .find(|l| l.contains(target))
        .unwrap_or(done.stderr.trim())
        .trim()
        .to_string()
}
