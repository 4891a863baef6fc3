//! `DockerEngine`: the seam between bottle and Docker. Every docker process (the launch's
//! steps, the undo stack, cleanup, the inventory, the image loader) goes through it; the
//! docker CLI is one implementation, a scripted recording one serves the unit tests. An
//! interface: the implementations do the I/O; the provided methods only combine the
//! primitives.

use crate::engine::call::Call;
use crate::engine::finished::Finished;
use crate::engine::program_output::ProgramOutput;
use anyhow::{Result, bail};
use std::path::Path;

/// A followed command's output and its stop.
pub struct Following {
    pub output: Box<dyn ProgramOutput>,
    pub stop: Box<dyn Fn() + Send + Sync>,
}

pub trait DockerEngine: Sync {
    /// Runs one docker command to completion, capturing its output. A non-zero exit is a
    /// [`Finished`], not an error; an error means docker could not be run at all.
    fn run(&self, call: &Call) -> Result<Finished>;

    /// Runs a docker command on the user's terminal (stdin, stdout and stderr inherited)
    /// and returns its exit code.
    fn attach(&self, call: &Call) -> Result<i32>;

    /// `producer | docker ARGS…` (an image stream script into `docker load`).
    fn pipe_from(&self, producer: &Path, args: &[String]) -> Result<Finished>;

    /// Starts `program` (an image stream script, no arguments) and hands back its stdout.
    fn stream_stdout(&self, program: &Path) -> Result<Box<dyn ProgramOutput>>;

    /// Starts a docker command and hands back its stdout as it is written (`docker logs
    /// --follow`); stdin is closed. Dropping the output early stops the command.
    fn stream(&self, call: &Call) -> Result<Box<dyn ProgramOutput>>;

    /// Starts a docker command that runs until stopped (`docker events`): its stdout as it
    /// is written, and a way to stop it from another thread (the reader then sees the end).
    fn follow(&self, call: &Call) -> Result<Following>;

    /// The signal that interrupted the launch, if one did.
    fn signal(&self) -> Option<i32>;

    /// Runs a command that must succeed; the error shows the command and Docker's message.
    fn check(&self, call: &Call) -> Result<Finished> {
        let done = self.run(call)?;
        if !done.ok() {
            bail!(
                "`{}` failed (exit {}): {}",
                call.shown,
                done.code,
                done.stderr.trim()
            );
        }
        Ok(done)
    }

    /// A read-only query (`docker ps`, `inspect`): stopped by a signal.
    fn query(&self, args: &[&str]) -> Result<Finished> {
        self.run(&Call::new(args.iter().copied()))
    }

    /// Whether a Docker engine answers.
    fn available(&self) -> bool {
        self.query(&["version", "--format", "{{.Server.Version}}"])
            .is_ok_and(|f| f.ok())
    }
}
