//! Progress lines on stderr (`bottle: [2/7] networks (0.3s)`), silenced by `-q`; warnings
//! always print. I/O.

use std::time::Instant;

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
            eprintln!(
                "bottle: {message} ({:.2}s)",
                self.start.elapsed().as_secs_f64()
            );
        }
    }

    pub fn warn(&self, message: &str) {
        eprintln!("bottle: warning: {message}");
    }
}
