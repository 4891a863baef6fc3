//! What is on the engine.

pub mod cleanup;
pub mod inventory;
