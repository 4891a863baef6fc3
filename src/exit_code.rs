//! The exit codes `bottle` promises (documented in README.md) and the error type that
//! carries "this was the user's input" up to `main`. Pure.

use std::fmt;

/// Everything went as asked.
pub const SUCCESS: i32 = 0;
/// A step failed at run time (Docker said no, an image is missing, a health check timed out).
pub const FAILURE: i32 = 1;
/// The input was wrong: command-line usage, a manifest, an unknown agent. Nothing was started.
pub const USAGE: i32 = 2;

/// A signal (SIGINT, SIGTERM, SIGHUP) ended the launch: 128 + its number (130, 143, 129).
pub const INTERRUPTED_BASE: i32 = 128;

/// An error in what the user gave us; `main` prints it and exits with [`USAGE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    pub message: String,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> Self {
        UserError {
            message: message.into(),
        }
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// A launch stopped by a signal; exits with 128 + the signal number, like a shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted {
    pub signal: i32,
}

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "interrupted by {}", crate::signals::name(self.signal))
    }
}

impl std::error::Error for Interrupted {}

/// The exit code for an error that reached `main`.
pub fn for_error(err: &anyhow::Error) -> i32 {
    if let Some(i) = err.chain().find_map(|e| e.downcast_ref::<Interrupted>()) {
        INTERRUPTED_BASE + i.signal
    } else if err.chain().any(|e| e.downcast_ref::<UserError>().is_some()) {
        USAGE
    } else {
        FAILURE
    }
}
