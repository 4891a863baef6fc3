//! `ScriptedEngine`: a [`DockerEngine`] for unit tests, after watchexec's recording test
//! child: it records every call, answers from a script (a closure), and can raise a signal
//! in the middle of a call, stopping it as the CLI engine would. Test-only; spawns nothing.

use crate::engine::call::{Call, Mode};
use crate::engine::docker_engine::{DockerEngine, Following};
use crate::engine::finished::Finished;
use crate::engine::program_output::ProgramOutput;
use crate::progress::Journal;
use anyhow::{Result, bail};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI32, Ordering};

/// The script's answer to one call.
#[derive(Debug, Clone, Default)]
pub(crate) struct Reply {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// A signal that arrives while this call runs: recorded first, and a [`Mode::Step`]
    /// call is then killed (exit 137) as the CLI engine kills it.
    pub signal: Option<i32>,
}

impl Reply {
    pub fn ok(stdout: impl Into<String>) -> Reply {
        Reply {
            stdout: stdout.into(),
            ..Reply::default()
        }
    }

    pub fn fail(stderr: impl Into<String>) -> Reply {
        Reply {
            code: 1,
            stderr: stderr.into(),
            ..Reply::default()
        }
    }
}

/// How the engine was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum How {
    Run,
    Attach,
    Pipe,
}

type Script = Box<dyn Fn(&Call) -> Reply + Send + Sync>;

pub(crate) struct ScriptedEngine {
    script: Script,
    calls: Mutex<Vec<(How, Call)>>,
    journal: Journal,
    signal: AtomicI32,
}

impl ScriptedEngine {
    /// Every call is recorded in `journal` (as `+ docker …`) and answered by `script`.
    pub fn new(journal: Journal, script: impl Fn(&Call) -> Reply + Send + Sync + 'static) -> Self {
        ScriptedEngine {
            script: Box::new(script),
            calls: Mutex::new(Vec::new()),
            journal,
            signal: AtomicI32::new(0),
        }
    }

    /// The calls so far, in order.
    pub fn calls(&self) -> Vec<(How, Call)> {
        self.calls.lock().unwrap().clone()
    }

    fn answer(&self, how: How, call: &Call) -> Finished {
        self.calls.lock().unwrap().push((how, call.clone()));
        self.journal
            .lock()
            .unwrap()
            .push(format!("+ {}", call.shown));
        let killed = Finished {
            code: 137,
            stdout: Vec::new(),
            stderr: "killed by bottle after a signal".into(),
        };
        if self.signal().is_some() && call.mode == Mode::Step {
            return killed;
        }
        let reply = (self.script)(call);
        if let Some(signal) = reply.signal {
            let _ = self
                .signal
                .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst);
            if call.mode == Mode::Step {
                return killed;
            }
        }
        Finished {
            code: reply.code,
            stdout: reply.stdout.into_bytes(),
            stderr: reply.stderr,
        }
    }
}

impl DockerEngine for ScriptedEngine {
    fn run(&self, call: &Call) -> Result<Finished> {
        Ok(self.answer(How::Run, call))
    }

    fn attach(&self, call: &Call) -> Result<i32> {
        Ok(self.answer(How::Attach, call).code)
    }

    fn pipe_from(&self, producer: &Path, args: &[String]) -> Result<Finished> {
        let mut call = Call::new(args.iter().cloned());
        call.shown = format!("{} | {}", producer.display(), call.shown);
        Ok(self.answer(How::Pipe, &call))
    }

    fn stream_stdout(&self, program: &Path) -> Result<Box<dyn ProgramOutput>> {
        bail!(
            "the scripted engine streams no program ({})",
            program.display()
        )
    }

    /// The scripted reply's stdout, all at once; a failed reply fails at `finish`.
    fn stream(&self, call: &Call) -> Result<Box<dyn ProgramOutput>> {
        let done = self.answer(How::Run, call);
        let failure = (!done.ok()).then(|| format!("`{}` failed: {}", call.shown, done.stderr));
        Ok(Box::new(Replayed {
            stdout: std::io::Cursor::new(done.stdout),
            failure,
        }))
    }

    /// The scripted reply's stdout, all at once; stopping does nothing.
    fn follow(&self, call: &Call) -> Result<Following> {
        Ok(Following {
            output: self.stream(call)?,
            stop: Box::new(|| {}),
        })
    }

    fn signal(&self) -> Option<i32> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }
}

/// A scripted reply's stdout, read as a stream.
struct Replayed {
    stdout: std::io::Cursor<Vec<u8>>,
    failure: Option<String>,
}

impl std::io::Read for Replayed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.stdout.read(buf)
    }
}

impl ProgramOutput for Replayed {
    fn finish(self: Box<Self>) -> Result<()> {
        match self.failure {
            Some(f) => bail!("{f}"),
            None => Ok(()),
        }
    }

    fn abort(self: Box<Self>) -> Option<String> {
        self.failure
    }
}
