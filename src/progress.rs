//! Progress lines on stderr (`bottle: [1/4] images and networks (0.31s)`), silenced by `-q`; warnings
//! always print. Writes never panic: a closed terminal (SIGHUP) must not stop a teardown.
//! I/O.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One line to stderr; a write error (closed terminal, broken pipe) is ignored.
pub fn err_line(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// One line to stdout; a write error is ignored.
pub fn out_line(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Lines kept in memory instead of printed (tests read what a launch said, in order with
/// the docker calls it made).
pub type Journal = Arc<Mutex<Vec<String>>>;

pub struct Progress {
    quiet: bool,
    start: Instant,
    journal: Option<Journal>,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            quiet,
            start: Instant::now(),
            journal: None,
        }
    }

    /// Every line (steps and warnings, without timings) goes to `journal`, none to stderr.
    #[cfg(test)]
    pub fn recording(journal: Journal) -> Progress {
        Progress {
            quiet: false,
            start: Instant::now(),
            journal: Some(journal),
        }
    }

    pub fn step(&self, message: &str) {
        self.line(message, true);
    }

    /// A line without a timing (the exit report's summary), silenced by `-q` like steps.
    pub fn say(&self, message: &str) {
        self.line(message, false);
    }

    fn line(&self, message: &str, timed: bool) {
        if let Some(journal) = &self.journal {
            journal
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("bottle: {message}"));
        } else if !self.quiet {
            let timing = if timed {
                format!(" ({:.2}s)", self.start.elapsed().as_secs_f64())
            } else {
                String::new()
            };
            err_line(&format!("bottle: {message}{timing}"));
        }
    }

    pub fn warn(&self, message: &str) {
        match &self.journal {
            Some(journal) => journal
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("bottle: warning: {message}")),
            None => err_line(&format!("bottle: warning: {message}")),
        }
    }
}
