//! `bottle run`'s executor: runs any `BottlePlan`'s phases against a [`DockerEngine`] —
//! phases in order, the lanes of a phase on threads of their own, the steps of a lane in
//! order, each registering its undo before it starts and waiting for the slots it needs —
//! then attaches the user and tears everything down on every exit path (normal end,
//! failed step, signal, panic), after a hook that may still read the containers (the
//! exit report). What it creates is written to the launch record as it goes. It decides
//! nothing about the order: the planner does. I/O (through the engine; the env-file and
//! the record in the runtime directory).

use crate::engine::answer::Answer;
use crate::engine::call::{Call, Mode};
use crate::engine::docker_engine::{DockerEngine, Following};
use crate::error::{Error, signal_name};
use crate::exit_code::FAILURE;
use crate::launch::slot_board::SlotBoard;
use crate::launch::supervisor::{AfterRestart, GaveUp, Restart, Supervisor};
use crate::naming::agent_name_attempt;
use crate::plan::bottle_plan::BottlePlan;
use crate::plan::docker_command::{DockerCommand, Stdin};
use crate::plan::phase::{Lane, Phase, check_slots};
use crate::plan::slot::{Slot, SlotValues};
use crate::plan::step::{Action, Capture, Step};
use crate::plan::supervision::SupervisionPlan;
use crate::plan::undo::Undo;
use crate::progress::Progress;
use crate::runtime::launch_record::{Entry, LaunchRecord};
use crate::teardown::undo_stack::UndoStack;
use anyhow::{Context, Result, anyhow, bail};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a wait polls.
const POLL: Duration = Duration::from_millis(100);
/// A wait whose probe failed without saying why asks whether the container still runs
/// every this many polls (one docker call per poll otherwise).
const STATE_EVERY: u32 = 5;

/// How the launch ended, as the hook before teardown sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The attached command exited with this code.
    Exited(i32),
    /// A step failed (its error).
    Failed(String),
    /// A signal stopped the launch.
    Signal(i32),
    /// bottle itself panicked.
    Panicked,
    /// A sidecar kept dying: supervision ended the session (why).
    SidecarFailed(String),
}

/// Runs before teardown, on every exit path, while the containers still exist (the exit
/// report reads mitmproxy's log here). Gets the engine, the undos registered so far
/// (what was created, or started to be) and how the launch ended.
/// Also gets the sidecars' restarts during the session.
pub type BeforeTeardown<'a> = &'a (dyn Fn(&dyn DockerEngine, &[Undo], &Ending, &[Restart]) + Sync);

/// What the launch needs besides the plan.
pub struct LaunchInput<'a> {
    /// The env-file's text (`NAME=value` lines); empty when the bottle has no literals.
    pub env_file_text: &'a str,
    /// Slots known before the first phase ([`Slot::Tty`]).
    pub slots: SlotValues,
    /// Overrides every wait's own timeout (tests).
    pub ready_timeout: Option<Duration>,
    /// Where the launch writes what it creates, and its env-file; removed once teardown
    /// has undone everything.
    pub record: &'a LaunchRecord,
    pub before_teardown: Option<BeforeTeardown<'a>>,
    /// Runs when a sidecar is back after a restart (the live policy into pipelock).
    pub after_restart: Option<AfterRestart<'a>>,
}

/// Runs the plan and returns the exit code of the agent's command. Teardown always runs;
/// its failures are reported, and turn a successful exit into [`FAILURE`]. A signal that
/// ended the launch is [`Error::Interrupted`].
pub fn run(
    plan: &BottlePlan,
    input: LaunchInput,
    engine: &dyn DockerEngine,
    progress: &Progress,
) -> Result<i32, Error> {
    let undo = UndoStack::default();
    let board = SlotBoard::new(input.slots.clone());
    let exec = Executor {
        engine,
        progress,
        undo: &undo,
        board: &board,
        input: &input,
        failed: AtomicBool::new(false),
        total: plan.numbered_steps(),
        supervision: &plan.supervision,
        restarts: Mutex::new(Vec::new()),
    };
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| exec.phases(&plan.launch)));
    if let Some(hook) = input.before_teardown {
        let ending = match (&outcome, engine.signal()) {
            (Err(_), _) => Ending::Panicked,
            (Ok(Ok(code)), None) => Ending::Exited(*code),
            (Ok(Ok(code)), Some(_)) if *code == 0 => Ending::Exited(0),
            (Ok(_), Some(signal)) => Ending::Signal(signal),
            (Ok(Err(e)), None) => match e.downcast_ref::<GaveUp>() {
                Some(why) => Ending::SidecarFailed(why.0.clone()),
                None => Ending::Failed(format!("{e:#}")),
            },
        };
        let registered = undo.registered();
        let restarts = exec
            .restarts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        // A panic in the hook must not stop the teardown.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| {
            hook(engine, &registered, &ending, &restarts)
        }));
    }
    let failures = exec.teardown();
    let signal = engine.signal();
    match outcome {
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::Failed(anyhow!(
                "internal error (bottle panicked: {what}); the bottle was torn down"
            )))
        }
        Ok(Err(err)) => match (signal, err.downcast_ref::<GaveUp>()) {
            (Some(signal), _) => Err(Error::Interrupted { signal }),
            (None, Some(why)) => Err(Error::SidecarFailed(why.0.clone())),
            (None, None) => Err(Error::Failed(err)),
        },
        Ok(Ok(code)) => match signal {
            Some(signal) if code != 0 => Err(Error::Interrupted { signal }),
            _ if failures > 0 && code == 0 => Ok(FAILURE),
            _ => Ok(code),
        },
    }
}

/// A lane stopped because another lane of its phase failed.
#[derive(Debug)]
struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped: another step of this phase failed")
    }
}

impl std::error::Error for Stopped {}

struct Executor<'a> {
    engine: &'a dyn DockerEngine,
    progress: &'a Progress,
    undo: &'a UndoStack,
    board: &'a SlotBoard,
    input: &'a LaunchInput<'a>,
    /// Set when a lane fails: the others stop at their next step or wait.
    failed: AtomicBool,
    /// Phases plus teardown, for `[n/total]`.
    total: usize,
    supervision: &'a SupervisionPlan,
    /// The sidecars' restarts during the session.
    restarts: Mutex<Vec<Restart>>,
}

impl Executor<'_> {
    /// `[n/total] text`, with the placeholders of filled slots replaced.
    fn line(&self, phase: usize, text: &str) -> String {
        format!(
            "[{}/{}] {}",
            phase + 1,
            self.total,
            self.board.snapshot().fill_text(text)
        )
    }

    /// An error when a signal arrived (what [`run`] then reports is
    /// [`Error::Interrupted`]) or another lane failed.
    fn stop_if_needed(&self) -> Result<()> {
        if let Some(signal) = self.engine.signal() {
            bail!("interrupted by {}", signal_name(signal));
        }
        if self.failed.load(Ordering::SeqCst) {
            return Err(anyhow::Error::new(Stopped));
        }
        Ok(())
    }

    fn phases(&self, phases: &[Phase]) -> Result<i32> {
        let initial: Vec<Slot> = Slot::ALL
            .into_iter()
            .filter(|s| self.input.slots.get(*s).is_some())
            .collect();
        check_slots(phases, &initial).map_err(|e| anyhow!("internal error in the plan: {e}"))?;
        let mut code = 0;
        for (i, phase) in phases.iter().enumerate() {
            self.stop_if_needed()?;
            self.progress.step(&self.line(i, &phase.title));
            let results: Vec<Result<Option<i32>>> = match &phase.lanes[..] {
                [lane] => vec![self.lane(i, lane)],
                lanes => std::thread::scope(|scope| {
                    let others: Vec<_> = lanes[1..]
                        .iter()
                        .map(|lane| scope.spawn(move || self.lane(i, lane)))
                        .collect();
                    let mut results = vec![self.lane(i, &lanes[0])];
                    results.extend(others.into_iter().map(|h| {
                        h.join()
                            .unwrap_or_else(|_| Err(anyhow!("a launch step panicked")))
                    }));
                    results
                }),
            };
            let mut first_error = None;
            for result in results {
                match result {
                    Ok(Some(c)) => code = c,
                    Ok(None) => {}
                    Err(e) => {
                        let stopped = e.downcast_ref::<Stopped>().is_some();
                        match &first_error {
                            None => first_error = Some(e),
                            Some(prev) if prev.downcast_ref::<Stopped>().is_some() && !stopped => {
                                first_error = Some(e)
                            }
                            Some(_) => {}
                        }
                    }
                }
            }
            if let Some(e) = first_error {
                return Err(e);
            }
        }
        Ok(code)
    }

    /// A lane's steps in order. Its failure, or a panic in it, stops the other lanes of
    /// its phase (a lane waiting for a slot this one would have filled must not wait on).
    fn lane(&self, phase: usize, lane: &Lane) -> Result<Option<i32>> {
        let run = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut code = None;
            for step in &lane.steps {
                if let Some(c) = self.step(phase, step)? {
                    code = Some(c);
                }
            }
            Ok(code)
        }));
        let result = run.unwrap_or_else(|_| Err(anyhow!("a launch step panicked")));
        if result.is_err() {
            self.failed.store(true, Ordering::SeqCst);
        }
        result
    }

    fn step(&self, phase: usize, step: &Step) -> Result<Option<i32>> {
        self.stop_if_needed()?;
        // Announced once it can start: "provision ca" before the CA exists would mislead.
        let slots = self.board.wait(&step.needs(), || self.stop_if_needed())?;
        if let Some(line) = &step.announce {
            self.progress.step(&self.line(phase, line));
        }
        if let Some(undo) = &step.undo {
            self.undo.push(undo.clone());
            self.note_creating(undo, &step.action)?;
        }
        let (code, note) = self.act(phase, step, &slots)?;
        for line in step.done.iter().chain(note.as_ref()) {
            self.progress.step(&self.line(phase, line));
        }
        Ok(code)
    }

    /// Writes to the record what the step is about to create, before it runs.
    fn note_creating(&self, undo: &Undo, action: &Action) -> Result<()> {
        let record = self.input.record;
        match (undo, action) {
            (Undo::Network { name }, _) => record.note(&Entry::Network { name: name.clone() }),
            (Undo::Image { tag }, _) => record.note(&Entry::Image { tag: tag.clone() }),
            (
                Undo::Containers { bottle_id, role },
                Action::Run {
                    creates: Some(name),
                    ..
                },
            ) => {
                self.undo.may_exist(bottle_id, name);
                record.note(&Entry::Container {
                    role: role.label().into(),
                    name: name.clone(),
                    id: None,
                })
            }
            // The agent's name is known per attempt (run_agent); the env-file's path when
            // it is chosen (write_env_file).
            _ => Ok(()),
        }
    }

    /// The create behind `undo` answered with the container's id: known for teardown and
    /// written to the record.
    fn note_created(&self, undo: &Undo, stdout: &str, name: &str) -> Result<()> {
        let Undo::Containers { role, .. } = undo else {
            return Ok(());
        };
        let id = stdout.lines().last().unwrap_or_default().trim();
        if id.is_empty() {
            return Ok(());
        }
        self.undo.created(undo, id, name);
        self.input.record.note(&Entry::Container {
            role: role.label().into(),
            name: name.into(),
            id: Some(id.into()),
        })
    }

    /// Runs one step's action; returns the exit code (attach) and a progress note.
    fn act(
        &self,
        phase: usize,
        step: &Step,
        slots: &SlotValues,
    ) -> Result<(Option<i32>, Option<String>)> {
        let engine = self.engine;
        let mut note = None;
        match &step.action {
            Action::EnsureImage { image } => {
                crate::image::loader::ensure_loaded(engine, image, &mut |m: &str| {
                    self.progress.step(&self.line(phase, m))
                })
                .map_err(Error::into_anyhow)?;
            }
            Action::Run { command, creates } => {
                let done = engine.check(&call(command, slots, Mode::Finish)?)?;
                if let (Some(undo), Some(name)) = (&step.undo, creates) {
                    self.note_created(undo, &String::from_utf8_lossy(&done.stdout), name)?;
                }
            }
            Action::WaitFor {
                probe,
                container,
                what,
                timeout_seconds,
                capture,
            } => {
                let timeout = self
                    .input
                    .ready_timeout
                    .unwrap_or(Duration::from_secs(*timeout_seconds));
                let stdout = self.wait_for(probe, slots, container, what, timeout)?;
                if let Some(capture) = capture {
                    note = self.capture(capture, &stdout)?;
                }
            }
            Action::Query { query, capture } => {
                let done = engine.check(&call(query, slots, Mode::Step)?)?;
                note = self.capture(capture, &done.stdout)?;
            }
            Action::WriteEnvFile { .. } => self.write_env_file()?,
            Action::RemoveEnvFile => {
                let path = slots.get(Slot::EnvFile).unwrap_or_default();
                match std::fs::remove_file(path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => self
                        .progress
                        .warn(&format!("cannot delete the env-file {path} yet: {e}")),
                    _ => {}
                }
            }
            Action::RunAgent {
                run,
                name,
                pinned,
                attempts,
            } => self.run_agent(
                phase,
                step.undo.as_ref(),
                run,
                slots,
                name,
                *pinned,
                *attempts,
            )?,
            Action::MergeJson {
                file,
                read,
                patch,
                write,
            } => {
                let got = engine.check(&call(read, slots, Mode::Step)?)?;
                let existing = String::from_utf8(got.stdout)
                    .map_err(|_| anyhow!("{file} in the agent container is not UTF-8 text"))?;
                let merged = crate::plan::json_merge::merge_text(&existing, patch).map_err(|why| {
                    anyhow!(
                        "cannot merge bottle's settings into {file} in the agent container: {why}; fix the file in the image, or give the agent \"claude_code\": {{\"enabled\": false}} to leave Claude Code's files alone"
                    )
                })?;
                let mut write = call(write, slots, Mode::Finish)?;
                write.stdin = Some(merged.into_bytes());
                engine.check(&write)?;
            }
            Action::Attach { command } => {
                let attach = call(command, slots, Mode::Step)?;
                return Ok((Some(self.attach_supervised(&attach, slots)?), None));
            }
        }
        Ok((None, note))
    }

    /// The user's session, while a [`Supervisor`] on another thread keeps the sidecars
    /// serving; the session ends when its command does, or when supervision gives up
    /// ([`GaveUp`]).
    fn attach_supervised(&self, attach: &Call, slots: &SlotValues) -> Result<i32> {
        let sup = Supervisor::new(
            self.supervision,
            self.engine,
            self.progress,
            slots.clone(),
            self.input.ready_timeout,
        )
        .after_restart(self.input.after_restart);
        let Following { output, stop } = self.engine.follow(&sup.events_call()?)?;
        let code = std::thread::scope(|scope| {
            let watcher = scope.spawn(|| sup.watch(output));
            let code = self.engine.attach(attach);
            sup.stop();
            stop();
            let _ = watcher.join();
            code
        });
        *self.restarts.lock().unwrap_or_else(|e| e.into_inner()) = sup.restarts();
        match sup.gave_up() {
            Some(why) => Err(anyhow::Error::new(why)),
            None => code,
        }
    }

    /// A probe's stdout fills its slot; returns a progress note.
    fn capture(&self, capture: &Capture, stdout: &[u8]) -> Result<Option<String>> {
        match capture {
            Capture::HostEntry { name } => {
                let address = String::from_utf8_lossy(stdout).trim().to_string();
                if address.is_empty() {
                    // Most likely it exited at once: say so, with its last words.
                    self.stop_if_needed()?;
                    let state =
                        self.engine
                            .query(&["inspect", "--format", "{{.State.Status}}", name])?;
                    let logs = self.engine.query(&["logs", "--tail", "20", name])?;
                    bail!(
                        "cannot find the address of {name}: docker gave none (container {name} is {}); last log lines:\n{}{}",
                        state.stdout_text(),
                        String::from_utf8_lossy(&logs.stdout),
                        logs.stderr
                    );
                }
                self.board
                    .fill(Slot::MitmHostEntry, format!("{name}:{address}"));
                Ok(None)
            }
            Capture::AgentAddress => {
                let text = String::from_utf8_lossy(stdout).trim().to_string();
                let address: std::net::Ipv4Addr = text.parse().with_context(|| {
                    format!("the port relay gave {text:?}, not the agent's IPv4 address")
                })?;
                self.board.fill(Slot::AgentAddress, address.to_string());
                Ok(None)
            }
        }
    }

    /// Polls `probe` until it succeeds, the container stops running, the timeout passes,
    /// or the launch stops. Returns the probe's stdout. One docker call per poll: the
    /// probe's own failure often says the container is gone or stopped (`docker exec`);
    /// when it does not (`docker cp` works on a stopped container), the container's state
    /// is asked every [`STATE_EVERY`] polls, and once more before giving up.
    fn wait_for(
        &self,
        probe: &DockerCommand,
        slots: &SlotValues,
        container: &str,
        what: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>> {
        let engine = self.engine;
        let probe = call(probe, slots, Mode::Step)?;
        let deadline = Instant::now() + timeout;
        let mut polls = 0u32;
        loop {
            self.stop_if_needed()?;
            let got = engine.run(&probe)?;
            if got.ok() {
                return Ok(got.stdout);
            }
            polls += 1;
            let said = probe_says_stopped(&got.stderr, container);
            let timed_out = Instant::now() >= deadline;
            let state = if said || timed_out || polls.is_multiple_of(STATE_EVERY) {
                self.stop_if_needed()?;
                let state =
                    engine.query(&["inspect", "--format", "{{.State.Status}}", container])?;
                Some(if state.ok() {
                    state.stdout_text()
                } else {
                    "gone".to_string()
                })
            } else {
                None
            };
            let running = state.as_deref().is_none_or(|s| s == "running");
            if !running || timed_out {
                self.stop_if_needed()?;
                let logs = engine.query(&["logs", "--tail", "20", container])?;
                let why = if running {
                    format!("timed out after {}s", timeout.as_secs())
                } else {
                    format!("container {container} is {}", state.unwrap_or_default())
                };
                bail!(
                    "waiting for {what}: {why}; last log lines:\n{}{}",
                    String::from_utf8_lossy(&logs.stdout),
                    logs.stderr
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// A new 0600 file (by construction) with the literal values, in the runtime
    /// directory; its path is in the record and fills [`Slot::EnvFile`] before the file
    /// exists, so teardown (or `bottle cleanup` after a SIGKILL) removes it whatever
    /// happens next.
    fn write_env_file(&self) -> Result<()> {
        let path = self.input.record.env_file();
        let shown = path.display().to_string();
        self.input.record.note(&Entry::EnvFile {
            path: shown.clone(),
        })?;
        self.board.fill(Slot::EnvFile, shown.clone());
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("cannot create the env-file {shown}"))?;
        file.write_all(self.input.env_file_text.as_bytes())
            .context("cannot write the env-file")
    }

    /// `docker run` of the agent; a name in use is retried as `name-2` … unless pinned.
    /// The name used fills [`Slot::AgentName`].
    #[allow(clippy::too_many_arguments)]
    fn run_agent(
        &self,
        phase: usize,
        undo: Option<&Undo>,
        run: &DockerCommand,
        slots: &SlotValues,
        base: &str,
        pinned: bool,
        attempts: u32,
    ) -> Result<()> {
        for attempt in 1..=attempts {
            let name = agent_name_attempt(base, attempt);
            if let Some(Undo::Containers { bottle_id, role }) = undo {
                self.undo.may_exist(bottle_id, &name);
                self.input.record.note(&Entry::Container {
                    role: role.label().into(),
                    name: name.clone(),
                    id: None,
                })?;
            }
            let call = call(
                run,
                &slots.clone().with(Slot::AgentName, &name),
                Mode::Finish,
            )?;
            let done = self.engine.run(&call)?;
            match Answer::of(&done) {
                Answer::Done => {
                    if let Some(undo) = undo {
                        self.note_created(undo, &String::from_utf8_lossy(&done.stdout), &name)?;
                    }
                    self.board.fill(Slot::AgentName, name);
                    return Ok(());
                }
                Answer::NameInUse if pinned => bail!(
                    "the container name `{base}` (from --name) is already in use; pick another name, or remove that container (docker rm -f {base})"
                ),
                Answer::NameInUse => {
                    self.progress.step(
                        &self.line(phase, &format!("the name {name} is taken; trying another")),
                    );
                    self.stop_if_needed()?;
                }
                _ => bail!(
                    "`{}` failed (exit {}): {}",
                    call.shown,
                    done.code,
                    done.stderr.trim()
                ),
            }
        }
        bail!("no free agent container name after {attempts} tries ({base} to {base}-{attempts})")
    }

    /// Runs every registered undo, newest first; returns how many failed.
    fn teardown(&self) -> usize {
        let started = Instant::now();
        let last = self.total - 1;
        self.progress.step(&self.line(last, "teardown"));
        let reports = self.undo.run_all(self.engine, &self.board.snapshot());
        let mut failures = 0;
        for report in &reports {
            for kept in &report.kept {
                self.progress.warn(&format!("teardown: {kept}"));
            }
            if let Err(e) = &report.result {
                self.progress.warn(&format!("teardown: {e}"));
                failures += 1;
            }
        }
        let record = self.input.record;
        if failures == 0
            && let Err(e) = record.remove()
        {
            self.progress
                .warn(&format!("cannot remove {}: {e}", record.path().display()));
        }
        self.progress.step(&self.line(
            last,
            &format!(
                "teardown: {} of {} undo step(s) done in {:.2}s{}",
                reports.len() - failures,
                reports.len(),
                started.elapsed().as_secs_f64(),
                if failures == 0 {
                    String::new()
                } else {
                    format!("; {failures} failed (see above; `bottle cleanup` retries)")
                }
            ),
        ));
        failures
    }
}

/// Whether a failed probe's message says the container is not running or is gone
/// (`docker exec`'s answers), so that no state query is needed.
fn probe_says_stopped(stderr: &str, container: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    (s.contains("is not running") || s.contains("no such container")) && stderr.contains(container)
}

/// The engine call for a plan command: slots filled, stdin made.
fn call(cmd: &DockerCommand, slots: &SlotValues, mode: Mode) -> Result<Call> {
    let args = cmd
        .argv(slots)
        .map_err(|slot| anyhow!("internal error: {} is not filled", slot.placeholder()))?;
    let stdin = match &cmd.stdin {
        Some(Stdin::Text { text }) => Some(text.as_bytes().to_vec()),
        Some(Stdin::Tree {
            path,
            prefix,
            uid,
            gid,
            ..
        }) => Some(crate::launch::tree_archive::archive(
            std::path::Path::new(path),
            prefix,
            *uid,
            *gid,
        )?),
        Some(Stdin::Slot { slot }) => Some(
            slots
                .get(*slot)
                .ok_or_else(|| anyhow!("internal error: {} is not filled", slot.placeholder()))?
                .as_bytes()
                .to_vec(),
        ),
        // Made by the step itself (MergeJson), which sets it.
        Some(Stdin::Terminal) | Some(Stdin::Made { .. }) | None => None,
    };
    Ok(Call {
        args,
        env: cmd.env.clone(),
        stdin,
        mode,
        shown: cmd.display(slots),
    })
}

#[cfg(test)]
mod tests;
