//! Running a plan: the values asked for at launch, the executor and its slot board, the
//! undo stack and the undoer (shared with `bottle cleanup`), and the CA check. I/O through
//! the engine; the CA check and the slot board are pure or in memory.

pub mod ca_cert;
pub mod executor;
pub mod launch_values;
pub(crate) mod slot_board;
pub(crate) mod tree_archive;
pub mod undo_stack;
pub mod undoer;

#[cfg(test)]
pub(crate) mod fake_docker;
#[cfg(test)]
mod tests;
