//! What bot-bottle has on the engine (`ls`), and removing it (`cleanup`). I/O, through the
//! engine.

pub mod cleanup;
pub mod inventory;
pub mod running_bottle;
