//! Running docker.

pub mod docker_cli;
