//! What bot-bottle has on the engine (`ls`), and removing it (`cleanup`).

pub mod cleanup;
pub mod inventory;
