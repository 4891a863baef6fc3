//! The engine seam: every docker process goes through a [`docker_engine::DockerEngine`].
//! [`docker_cli::DockerCli`] runs the real docker CLI; `answer::Answer` is the one reading
//! of Docker's error messages; [`listing`] the one listing of bot-bottle's containers,
//! networks and images. For the unit tests, the engine's fakes live here too: a scripted,
//! recording engine (`scripted_engine`) and a small model of Docker (`fake_docker`) that
//! its scripts usually answer from.

pub(crate) mod answer;
pub mod call;
pub mod docker_cli;
pub mod docker_engine;
#[cfg(test)]
pub(crate) mod fake_docker;
pub mod finished;
pub(crate) mod in_flight;
pub mod listing;
pub mod program_output;
#[cfg(test)]
pub(crate) mod scripted_engine;
