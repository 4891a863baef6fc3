//! `Error`: every way a `bottle` command fails, each variant with its exit code (README's
//! table, [`crate::exit_code`]); `app::main` is the one place that prints it and exits
//! with [`Error::exit_code`]. Pure.
//!
//! `Error` is deliberately not a `std::error::Error`: `?` cannot hide it inside an
//! `anyhow::Error`, where its exit code would be lost. Run-time failures below the
//! commands stay `anyhow` (with their context) and become [`Error::Failed`] (exit 1) on
//! the way up; [`Error::into_anyhow`] is the one, visible, way back down.

use crate::exit_code;
use std::fmt;

#[derive(Debug)]
pub enum Error {
    /// Bad input (an unknown agent, an unset image, a manifest not allowed, a bad flag
    /// value…): exit 2, nothing was started. The message says what to do.
    Usage(String),
    /// A manifest error, with the file and the JSON path of the field: exit 2.
    Manifest(ManifestError),
    /// `bottle logs`: the bottle named is not running: exit 3.
    NotRunning(String),
    /// A signal ended the launch, after teardown: exit 128 + the signal.
    Interrupted { signal: i32 },
    /// A docker command failed: the command, its exit code and Docker's answer: exit 1.
    Docker {
        command: String,
        code: i32,
        stderr: String,
    },
    /// Anything else that failed at run time (with its context): exit 1.
    Failed(anyhow::Error),
    /// A sidecar kept dying during the session (more restarts than the limit within its
    /// window, or one that could not be restarted); the bottle was torn down: exit 4.
    SidecarFailed(String),
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage(message.into())
    }

    /// The exit code `bottle` ends with.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Manifest(_) => exit_code::USAGE,
            Error::NotRunning(_) => exit_code::NOT_RUNNING,
            Error::Interrupted { signal } => exit_code::INTERRUPTED_BASE + signal,
            Error::Docker { .. } | Error::Failed(_) => exit_code::FAILURE,
            Error::SidecarFailed(_) => exit_code::SIDECAR_FAILED,
        }
    }

    /// For run-time code that carries `anyhow` errors (the executor's steps): the
    /// message, without the exit code.
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            Error::Failed(e) => e,
            other => anyhow::anyhow!("{other}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message) | Error::NotRunning(message) => f.write_str(message),
            Error::SidecarFailed(why) => write!(f, "{why}; the bottle was torn down"),
            Error::Manifest(e) => write!(f, "{e}"),
            Error::Interrupted { signal } => write!(f, "interrupted by {}", signal_name(*signal)),
            Error::Docker {
                command,
                code,
                stderr,
            } => write!(f, "`{command}` failed (exit {code}): {}", stderr.trim()),
            // The whole chain: "what failed: why: …".
            Error::Failed(e) => write!(f, "{e:#}"),
        }
    }
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Error {
        Error::Failed(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Failed(e.into())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Error {
        Error::Failed(e.into())
    }
}

impl From<ManifestError> for Error {
    fn from(e: ManifestError) -> Error {
        Error::Manifest(e)
    }
}

/// A manifest error: the file, the JSON path of the field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub file: String,
    pub path: String,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.path, self.message)
        }
    }
}

/// The signals a launch turns into a teardown.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// README's table of exit codes.
    #[test]
    fn each_variant_has_the_documented_exit_code() {
        let docker = Error::Docker {
            command: "docker ps".into(),
            code: 1,
            stderr: "Cannot connect to the Docker daemon\n".into(),
        };
        assert_eq!(
            docker.to_string(),
            "`docker ps` failed (exit 1): Cannot connect to the Docker daemon"
        );
        let manifest = Error::from(ManifestError {
            file: "/m.json".into(),
            path: "bottles.dev.env".into(),
            message: "expected an object".into(),
        });
        assert_eq!(
            manifest.to_string(),
            "/m.json: bottles.dev.env: expected an object"
        );
        let failed = Error::from(anyhow::anyhow!("no space").context("cannot write the record"));
        assert_eq!(failed.to_string(), "cannot write the record: no space");
        let codes: Vec<i32> = [
            Error::usage("unknown agent `x`"),
            manifest,
            Error::NotRunning("not running".into()),
            Error::Interrupted {
                signal: libc::SIGINT,
            },
            Error::Interrupted {
                signal: libc::SIGTERM,
            },
            Error::Interrupted {
                signal: libc::SIGHUP,
            },
            docker,
            failed,
            Error::SidecarFailed("pipelock died 6 times within 60s".into()),
        ]
        .iter()
        .map(Error::exit_code)
        .collect();
        assert_eq!(codes, [2, 2, 3, 130, 143, 129, 1, 1, 4]);
        assert_eq!(
            Error::Interrupted {
                signal: libc::SIGINT
            }
            .to_string(),
            "interrupted by SIGINT"
        );
    }
}
