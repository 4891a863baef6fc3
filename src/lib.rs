//! bot-bottle: run an AI coding agent in a Docker bottle whose only way out is
//! mitmproxy → pipelock. The library holds the pure core (manifest → catalog → plan →
//! docker argv) and the edges that do I/O (reading the host, running docker).

pub mod cli;
pub mod config;
pub mod engine;
pub mod exit_code;
pub mod host_snapshot;
pub mod image;
pub mod launch;
pub mod plan;
pub mod progress;
pub mod resources;
pub mod signals;
