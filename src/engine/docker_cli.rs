//! The one place that runs processes (through duct): docker commands from the plan, with
//! secret values only in the child's environment, a process group of their own, and a
//! registry the signal handler uses to stop whatever is in flight. I/O.

use crate::plan::docker_command::{DockerCommand, SlotValues, Stdin};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

/// The result of a finished command.
#[derive(Debug, Clone)]
pub struct Finished {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Finished {
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim().to_string()
    }
}

/// Commands in flight, so a signal can stop them; and the first signal seen.
#[derive(Default)]
pub struct InFlight {
    handles: Mutex<Vec<Arc<duct::Handle>>>,
    signal: AtomicI32,
}

impl InFlight {
    /// Records `signal` (the first one wins) and kills every registered command.
    pub fn interrupt(&self, signal: i32) {
        let _ = self
            .signal
            .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
        for handle in self
            .handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = handle.kill();
        }
    }

    /// The signal that interrupted the launch, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }

    /// Adds a command to stop on a signal; one started after the signal is stopped at once
    /// (the flag is set before `interrupt` takes the lock, so no command slips between).
    fn register(&self, handle: Arc<duct::Handle>) {
        let mut handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        if self.signal().is_some() {
            let _ = handle.kill();
        }
        handles.push(handle);
    }

    fn unregister(&self, handle: &Arc<duct::Handle>) {
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|h| !Arc::ptr_eq(h, handle));
    }
}

/// How a command may be stopped. Every command but `attach` runs in its own process group,
/// so a terminal's ^C reaches only bottle, which decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Waits, polls, loads, builds: killed when a signal arrives.
    Step,
    /// Creates a resource or tears one down: always runs to the end. Killing `docker run`
    /// half-way could let the engine create the container after teardown looked for it.
    Finish,
}

pub struct Docker {
    /// Print each docker command (display form: names, never values) on stderr.
    pub verbose: bool,
    /// Values for the names a command passes through its environment.
    secrets: BTreeMap<String, String>,
    pub in_flight: Arc<InFlight>,
}

impl Docker {
    pub fn new(verbose: bool) -> Docker {
        Docker {
            verbose,
            secrets: BTreeMap::new(),
            in_flight: Arc::new(InFlight::default()),
        }
    }

    /// Gives the values that commands pass by name. They stay in memory and in the
    /// docker child's environment only.
    pub fn with_secrets(mut self, secrets: BTreeMap<String, String>) -> Docker {
        self.secrets = secrets;
        self
    }

    /// Runs one command to completion, capturing its output.
    pub fn run(
        &self,
        cmd: &DockerCommand,
        slots: &SlotValues,
        stdin: Option<&[u8]>,
        mode: Mode,
    ) -> Result<Finished> {
        if self.verbose {
            crate::progress::err_line(&format!("+ {}", cmd.display()));
        }
        let mut expr = duct::cmd("docker", cmd.argv(slots))
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            .before_spawn(own_process_group);
        expr = self.pass_env(expr, cmd)?;
        expr = match (stdin, &cmd.stdin) {
            (Some(bytes), _) => expr.stdin_bytes(bytes.to_vec()),
            (None, Some(Stdin::Text { text })) => expr.stdin_bytes(text.as_bytes().to_vec()),
            (None, Some(other)) => bail!("{} needs {other:?} on stdin", cmd.display()),
            (None, None) => expr.stdin_null(),
        };
        let handle = expr
            .start()
            .context("cannot start `docker`: is it installed and on PATH?")?;
        self.wait(handle, mode)
    }

    /// The command's values from `secrets`, into the child's environment only.
    fn pass_env(
        &self,
        mut expr: duct::Expression,
        cmd: &DockerCommand,
    ) -> Result<duct::Expression> {
        for name in &cmd.env {
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

    /// Runs a command that must succeed (to the end, see [`Mode::Finish`]); the error shows
    /// the command and docker's message.
    pub fn check(
        &self,
        cmd: &DockerCommand,
        slots: &SlotValues,
        stdin: Option<&[u8]>,
    ) -> Result<Finished> {
        let done = self.run(cmd, slots, stdin, Mode::Finish)?;
        if !done.ok() {
            bail!(
                "`{}` failed (exit {}): {}",
                cmd.display(),
                done.code,
                done.stderr.trim()
            );
        }
        Ok(done)
    }

    /// A read-only query (`docker ps`, `inspect`), by plain arguments.
    pub fn query<I, S>(&self, args: I) -> Result<Finished>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.run(
            &DockerCommand::new(args),
            &SlotValues::default(),
            None,
            Mode::Step,
        )
    }

    /// Runs the attach command with the user's terminal: stdin/stdout/stderr inherited and
    /// bottle's process group kept, so a TTY keeps its job control. Returns its exit code.
    pub fn attach(&self, cmd: &DockerCommand, slots: &SlotValues) -> Result<i32> {
        if self.verbose {
            crate::progress::err_line(&format!("+ {}", cmd.display()));
        }
        let expr = self.pass_env(duct::cmd("docker", cmd.argv(slots)).unchecked(), cmd)?;
        let handle = expr.start().context("cannot start `docker exec`")?;
        Ok(self.wait(handle, Mode::Step)?.code)
    }

    /// `producer | docker ARGS…` (e.g. an image stream script into `docker load`).
    pub fn pipe_from(&self, producer: &Path, args: &[&str]) -> Result<Finished> {
        if self.verbose {
            crate::progress::err_line(&format!(
                "+ {} | docker {}",
                producer.display(),
                args.join(" ")
            ));
        }
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

    /// Whether a Docker engine answers.
    pub fn engine_available(&self) -> bool {
        self.query(["version", "--format", "{{.Server.Version}}"])
            .map(|f| f.ok())
            .unwrap_or(false)
    }

    // ---- `bottle images`: read a program's stdout as a stream (image_archive, images_cli) ----

    /// Starts `program` (an image stream script, no arguments) and hands back its stdout to
    /// read as it is written; its stderr is captured for the error message. See
    /// [`StreamOutput`].
    pub fn stream_stdout(&self, program: &Path) -> Result<StreamOutput> {
        if self.verbose {
            crate::progress::err_line(&format!("+ {}", program.display()));
        }
        let reader = duct::cmd(program, Vec::<String>::new())
            .stdin_null()
            .stderr_capture()
            .unchecked()
            .reader()
            .with_context(|| format!("cannot start {}", program.display()))?;
        Ok(StreamOutput {
            reader,
            program: program.display().to_string(),
        })
    }
}

/// The stdout of a running program ([`Docker::stream_stdout`]). Read it, then call
/// [`StreamOutput::finish`] (drains the rest, fails if the program did) or, after an
/// error, [`StreamOutput::abort`]. Dropping it early kills the program.
pub struct StreamOutput {
    reader: duct::ReaderHandle,
    program: String,
}

impl std::io::Read for StreamOutput {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf)
    }
}

impl StreamOutput {
    /// Reads what is left and checks the exit status (with the end of its stderr).
    pub fn finish(mut self) -> Result<()> {
        std::io::copy(&mut self, &mut std::io::sink())
            .with_context(|| format!("cannot read the output of {}", self.program))?;
        match self.failure()? {
            Some(message) => bail!("{message}"),
            None => Ok(()),
        }
    }

    /// Stops the program after a read error; says whether it had failed on its own (an
    /// exit status rather than our kill), which is then the likelier cause.
    pub fn abort(mut self) -> Option<String> {
        let _ = self.reader.kill();
        let _ = std::io::copy(&mut self, &mut std::io::sink());
        self.failure().ok().flatten()
    }

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
