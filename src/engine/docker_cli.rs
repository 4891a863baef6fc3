//! `DockerCli`: the [`DockerEngine`] that runs the real docker CLI through duct, with
//! secret values only in the child's environment, each child in a process group of its
//! own, and the commands in flight registered so a signal can stop them. The only place
//! that spawns processes. I/O.

use crate::engine::call::{Call, Mode};
use crate::engine::docker_engine::{DockerEngine, Following};
use crate::engine::finished::Finished;
use crate::engine::in_flight::InFlight;
use crate::engine::program_output::ProgramOutput;
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::sync::Arc;

pub struct DockerCli {
    /// Print each docker command (display form: names, never values) on stderr.
    verbose: bool,
    /// Values for the names a command passes through its environment.
    secrets: BTreeMap<String, String>,
    in_flight: Arc<InFlight>,
}

impl DockerCli {
    /// `docker ARGS` started in bottle's process group, its stdout to be read as it comes.
    fn docker_stdout(&self, call: &Call) -> Result<StreamOutput> {
        self.show(&call.shown);
        let expr = self.pass_env(duct::cmd("docker", &call.args), call)?;
        let reader = expr
            .stdin_null()
            .stderr_capture()
            .unchecked()
            .reader()
            .context("cannot start `docker`: is it installed and on PATH?")?;
        Ok(StreamOutput {
            reader: Arc::new(reader),
            program: call.shown.clone(),
        })
    }

    pub fn new(verbose: bool) -> DockerCli {
        DockerCli {
            verbose,
            secrets: BTreeMap::new(),
            in_flight: Arc::new(InFlight::default()),
        }
    }

    /// Gives the values that commands pass by name. They stay in memory and in the
    /// docker child's environment only.
    pub fn with_secrets(mut self, secrets: BTreeMap<String, String>) -> DockerCli {
        self.secrets = secrets;
        self
    }

    /// What the signal handler stops.
    pub(crate) fn in_flight(&self) -> Arc<InFlight> {
        self.in_flight.clone()
    }

    fn show(&self, line: &str) {
        if self.verbose {
            crate::progress::err_line(&format!("+ {line}"));
        }
    }

    /// The call's values from `secrets`, into the child's environment only.
    fn pass_env(&self, mut expr: duct::Expression, call: &Call) -> Result<duct::Expression> {
        for name in &call.env {
            let value = self.secrets.get(name).with_context(|| {
                format!("no value for {name}, which the command passes by name")
            })?;
            expr = expr.env(name, value);
        }
        Ok(expr)
    }

    /// Waits for a started command; a `Step` can be stopped by a signal meanwhile.
    fn wait(&self, handle: duct::Handle, mode: Mode) -> Result<Finished> {
        let handle = Arc::new(handle);
        if mode == Mode::Step {
            self.in_flight.register(handle.clone());
        }
        let result = handle.wait().map(|o| Finished {
            code: o
                .status
                .code()
                .unwrap_or_else(|| 128 + o.status.signal().unwrap_or(9)),
            stdout: o.stdout.clone(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        });
        self.in_flight.unregister(&handle);
        Ok(result?)
    }
}

impl DockerEngine for DockerCli {
    fn run(&self, call: &Call) -> Result<Finished> {
        self.show(&call.shown);
        let mut expr = duct::cmd("docker", &call.args)
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            .before_spawn(own_process_group);
        expr = self.pass_env(expr, call)?;
        expr = match &call.stdin {
            Some(bytes) => expr.stdin_bytes(bytes.clone()),
            None => expr.stdin_null(),
        };
        let handle = expr
            .start()
            .context("cannot start `docker`: is it installed and on PATH?")?;
        self.wait(handle, call.mode)
    }

    /// The user's terminal: stdin/stdout/stderr inherited and bottle's process group
    /// kept, so a TTY keeps its job control.
    fn attach(&self, call: &Call) -> Result<i32> {
        self.show(&call.shown);
        if call.stdin.is_some() {
            bail!("{}: an attached command reads the terminal", call.shown);
        }
        let expr = self.pass_env(duct::cmd("docker", &call.args).unchecked(), call)?;
        let handle = expr.start().context("cannot start `docker exec`")?;
        Ok(self.wait(handle, Mode::Step)?.code)
    }

    fn pipe_from(&self, producer: &Path, args: &[String]) -> Result<Finished> {
        self.show(&format!(
            "{} | docker {}",
            producer.display(),
            args.join(" ")
        ));
        let expr = duct::cmd(producer, Vec::<String>::new())
            .pipe(duct::cmd("docker", args))
            .stdin_null()
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            .before_spawn(own_process_group);
        let handle = expr
            .start()
            .with_context(|| format!("cannot start {}", producer.display()))?;
        self.wait(handle, Mode::Step)
    }

    fn stream_stdout(&self, program: &Path) -> Result<Box<dyn ProgramOutput>> {
        self.show(&program.display().to_string());
        let reader = duct::cmd(program, Vec::<String>::new())
            .stdin_null()
            .stderr_capture()
            .unchecked()
            .reader()
            .with_context(|| format!("cannot start {}", program.display()))?;
        Ok(Box::new(StreamOutput {
            reader: Arc::new(reader),
            program: program.display().to_string(),
        }))
    }

    /// In bottle's process group: a terminal's ^C stops it with bottle.
    fn stream(&self, call: &Call) -> Result<Box<dyn ProgramOutput>> {
        Ok(Box::new(self.docker_stdout(call)?))
    }

    /// In bottle's process group, like `stream`; not registered in flight: the caller
    /// stops it.
    fn follow(&self, call: &Call) -> Result<Following> {
        let output = self.docker_stdout(call)?;
        let killer = output.reader.clone();
        Ok(Following {
            output: Box::new(output),
            stop: Box::new(move || {
                let _ = killer.kill();
            }),
        })
    }

    fn signal(&self) -> Option<i32> {
        self.in_flight.signal()
    }
}

/// The stdout of a running program ([`DockerCli::stream_stdout`]). Dropping it early
/// kills the program.
struct StreamOutput {
    /// Shared with a [`Following`]'s stop, which kills it from another thread.
    reader: Arc<duct::ReaderHandle>,
    program: String,
}

impl std::io::Read for StreamOutput {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        (&*self.reader).read(buf)
    }
}

impl ProgramOutput for StreamOutput {
    fn finish(mut self: Box<Self>) -> Result<()> {
        std::io::copy(&mut *self, &mut std::io::sink())
            .with_context(|| format!("cannot read the output of {}", self.program))?;
        match self.failure()? {
            Some(message) => bail!("{message}"),
            None => Ok(()),
        }
    }

    fn abort(mut self: Box<Self>) -> Option<String> {
        let _ = self.reader.kill();
        let _ = std::io::copy(&mut *self, &mut std::io::sink());
        self.failure().ok().flatten()
    }
}

impl StreamOutput {
    fn failure(&self) -> Result<Option<String>> {
        let Some(out) = self.reader.try_wait()? else {
            return Ok(None);
        };
        match out.status.code() {
            Some(0) | None => Ok(None),
            Some(code) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let lines: Vec<&str> = stderr.trim_end().lines().collect();
                let tail = lines[lines.len().saturating_sub(20)..].join("\n");
                Ok(Some(format!(
                    "`{}` failed (exit {code}): {tail}",
                    self.program
                )))
            }
        }
    }
}

impl Drop for StreamOutput {
    fn drop(&mut self) {
        if let Ok(None) = self.reader.try_wait() {
            let _ = self.reader.kill();
        }
    }
}

/// Starts a child in a process group of its own, so a terminal's ^C reaches only bottle.
fn own_process_group(cmd: &mut std::process::Command) -> std::io::Result<()> {
    cmd.process_group(0);
    Ok(())
}
