//! bot-bottle: run an AI coding agent in a Docker bottle whose only way out is
//! mitmproxy → pipelock. The library holds the pure core (manifest → catalog → plan →
//! docker argv) and the edges that do I/O (reading the host, running docker).

pub mod bottle_plan;
pub mod ca_cert;
pub mod catalog;
pub mod catalog_report;
pub mod cleanup;
pub mod cli;
pub mod docker;
pub mod docker_command;
pub mod env_value;
pub mod exit_code;
pub mod host_pattern;
pub mod host_snapshot;
pub mod image_archive;
pub mod image_contract;
pub mod image_loader;
pub mod image_lock;
pub mod image_ref;
pub mod images_cli;
pub mod inventory;
pub mod launch;
pub mod manifest;
pub mod manifest_files;
pub mod pipelock_config;
pub mod plan_report;
pub mod planner;
pub mod progress;
pub mod secrets;
pub mod signals;
pub mod undo;
pub mod undo_stack;
