//! Teardown: taking back what a launch created, for `bottle run` and `bottle cleanup`
//! alike. The [`undo_stack::UndoStack`] a launch pushes its undos on (each before its step
//! starts) and what each create answered; the [`knowledge::Knowledge`] that gives teardown
//! (containers known by id, names outside the scheme), which cleanup builds from launch
//! records instead; and the [`undoer::Undoer`] that runs `Undo` values against the engine,
//! one docker command per kind, each undo reported on its own. I/O (through the engine;
//! files for the env-file).

mod container_removal;
pub mod knowledge;
pub mod removal;
pub mod undo_stack;
pub mod undoer;
