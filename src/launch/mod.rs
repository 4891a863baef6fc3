//! Running a plan.

pub mod ca_cert;
pub mod executor;
pub mod launch_values;
pub mod undo_stack;
