//! The Docker-backed tests. Every one is `#[ignore = "needs a Docker engine; …"]`, so a
//! plain `cargo test` lists them as ignored, never as passed; `tests/run.sh` runs them
//! with `--ignored` when an engine answers, and run without one they fail.
//!
//! They share one engine and run as threads of one process: the launch tests take
//! [`crate::support::engine::engine`], which holds them one at a time (a `cleanup -y`
//! would otherwise remove another test's bottle) and, by `flock`, apart from other
//! processes; each launch uses an agent name of its own. The image tests build and remove
//! their own uniquely tagged images and may run beside them.

mod claude;
mod cleanup;
mod credentials;
mod dns_exfil;
mod fail_closed;
mod first_run;
mod images;
mod launch;
mod live_policy;
mod model_lane;
mod ports;
mod report;
mod rules;
mod supervision;
mod walls;
