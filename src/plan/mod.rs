//! The plan of a launch.

pub mod bottle_plan;
pub mod docker_command;
pub mod pipelock_config;
pub mod plan_report;
pub mod planner;
pub mod undo;
