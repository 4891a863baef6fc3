//! The exit codes `bottle` promises (README.md's table); [`crate::error::Error`] maps each
//! failure to one. Pure.

/// Everything went as asked.
pub const SUCCESS: i32 = 0;
/// A step failed at run time (Docker said no, an image is missing, a health check timed out).
pub const FAILURE: i32 = 1;
/// The input was wrong: command-line usage, a manifest, an unknown agent. Nothing was started.
pub const USAGE: i32 = 2;
/// `bottle logs`: the bottle named is not running.
pub const NOT_RUNNING: i32 = 3;
/// A signal (SIGINT, SIGTERM, SIGHUP) ended the launch: 128 + its number (130, 143, 129).
pub const INTERRUPTED_BASE: i32 = 128;
/// `bottle run`: a sidecar kept dying during the session (more restarts than the limit
/// within its window, or one that could not be restarted); the bottle was torn down.
pub const SIDECAR_FAILED: i32 = 4;
