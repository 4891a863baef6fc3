//! bot-bottle: run an AI coding agent in a Docker bottle whose only way out is
//! mitmproxy → pipelock. The pure core goes manifest → catalog (`config`) → plan (`plan`),
//! naming every resource through one resource model (`naming`); the edges do I/O: the
//! host snapshot, the executor (`launch`), taking back what it made (`teardown`), the
//! engine seam every docker process goes through (`engine`), images (`image`), `ls` and
//! `cleanup` (`resources`), the runtime directory with each launch's env-file and record
//! (`runtime`), live changes of a running bottle's allowlist (`policy`), and what left the
//! bottle (`report`). `app` is the program; `error` what
//! can go wrong, each with its exit code. docs/architecture.md is the map.

pub mod app;
pub(crate) mod cli;
pub mod config;
pub mod digest;
pub mod engine;
pub mod error;
pub mod exit_code;
pub mod host_snapshot;
pub mod image;
pub(crate) mod launch;
pub mod naming;
pub mod plan;
pub mod policy;
pub(crate) mod progress;
pub(crate) mod prompt;
pub mod report;
pub(crate) mod resources;
pub mod runtime;
pub(crate) mod signals;
pub(crate) mod table;
pub(crate) mod teardown;
