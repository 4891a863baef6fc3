//! Running a plan: the values asked for at launch, the executor and its slot board, the
//! undo stack and the undoer (shared with `bottle cleanup`), and the CA check.

pub mod ca_cert;
pub mod executor;
pub mod launch_values;
pub(crate) mod slot_board;
pub mod undo_stack;
pub mod undoer;

#[cfg(test)]
mod fake_docker;
#[cfg(test)]
mod tests;
