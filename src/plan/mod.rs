//! The plan of a launch, as plain data (`BottlePlan`: phases, lanes, steps, their undos,
//! the slots only the launch fills), the planner that makes it, and its human form. Pure.

pub mod addon_config;
pub mod addon_policy;
pub mod bottle_plan;
pub mod docker_command;
pub mod env_secret_pattern;
#[cfg(test)]
pub(crate) mod fixture;
pub mod json_merge;
pub mod phase;
pub mod pipelock_config;
pub mod plan_report;
pub mod planner;
pub mod slot;
pub mod step;
pub mod supervision;
pub mod undo;
