//! Progress lines on stderr (`bottle: [2/7] networks (0.31s)`), silenced by `-q`; warnings
//! always print. Writes never panic: a closed terminal (SIGHUP) must not stop a teardown.
//! I/O.

use std::io::Write;
use std::time::Instant;

/// One line to stderr; a write error (closed terminal, broken pipe) is ignored.
pub fn err_line(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// One line to stdout; a write error is ignored.
pub fn out_line(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

pub struct Progress {
    pub quiet: bool,
    start: Instant,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            quiet,
            start: Instant::now(),
        }
    }

    pub fn step(&self, message: &str) {
        if !self.quiet {
            err_line(&format!(
                "bottle: {message} ({:.2}s)",
                self.start.elapsed().as_secs_f64()
            ));
        }
    }

    pub fn warn(&self, message: &str) {
        err_line(&format!("bottle: warning: {message}"));
    }
}
