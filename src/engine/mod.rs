//! The engine seam: every docker process goes through a [`docker_engine::DockerEngine`].
//! [`docker_cli::DockerCli`] runs the real docker CLI; the unit tests use a scripted,
//! recording engine. `answer::Answer` is the one reading of Docker's error messages.

pub(crate) mod answer;
pub mod call;
pub mod docker_cli;
pub mod docker_engine;
pub mod finished;
pub(crate) mod in_flight;
pub mod listing;
pub mod program_output;
#[cfg(test)]
pub(crate) mod scripted_engine;
