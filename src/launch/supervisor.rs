//! `Supervisor`: keeps the sidecars serving while the user is attached. It reads the
//! deaths `docker events` reports for the bottle's containers; for a sidecar's it asks
//! Docker why (exit code, OOM-killed), prints one line, starts the container again unless
//! Docker's restart policy already does, waits for it to be ready, redoes what the bottle
//! changed outside it (mitmproxy's address in the agent's hosts file), prints one line when
//! it is back, and records each restart for the exit report. More restarts than the
//! plan's limit within its window end the session. I/O through the engine.

use crate::engine::call::{Call, Mode};
use crate::engine::docker_engine::DockerEngine;
use crate::engine::program_output::ProgramOutput;
use crate::naming::Role;
use crate::plan::docker_command::DockerCommand;
use crate::plan::slot::{Slot, SlotValues};
use crate::plan::supervision::{Redo, Supervised, SupervisionPlan};
use crate::progress::Progress;
use anyhow::{Result, anyhow, bail};
use serde::Serialize;
use std::io::BufRead;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a restarted sidecar's readiness is probed.
const POLL: Duration = Duration::from_millis(100);
/// While waiting, whether it died again is asked every this many polls.
const STATE_EVERY: u32 = 10;

/// One restart of a sidecar, as the exit report records it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Restart {
    /// `pipelock`, `model-pipelock`, `mitmproxy`, `port-relay` or `forwarder`.
    pub role: String,
    pub container: String,
    /// Seconds into the session (from the start of the attach) when it died.
    pub died_at_seconds: f64,
    /// Its main process's exit code (137: killed by SIGKILL, OOM killer included).
    pub exit_code: Option<i32>,
    /// Docker says the kernel's OOM killer ended it.
    pub oom_killed: bool,
    /// `docker` (its restart policy) or `bottle` (`docker start`).
    pub restarted_by: &'static str,
    /// Seconds from its death until it was ready again; null if it never was.
    pub back_after_seconds: Option<f64>,
}

/// What the launch redoes in a sidecar that is back (by role) beyond the plan's own redos:
/// the live policy into pipelock. `Some(note)` is printed; an error ends the session.
pub type AfterRestart<'a> = &'a (dyn Fn(&dyn DockerEngine, Role) -> Result<Option<String>> + Sync);

/// Why supervision ended the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaveUp(pub String);

impl std::fmt::Display for GaveUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GaveUp {}

pub struct Supervisor<'a> {
    plan: &'a SupervisionPlan,
    engine: &'a dyn DockerEngine,
    progress: &'a Progress,
    /// The launch's filled slots (the agent's name, for the hosts entry).
    slots: SlotValues,
    started: Instant,
    ready_timeout: Duration,
    restarts: Mutex<Vec<Restart>>,
    /// Deaths within the window, newest last.
    recent: Mutex<Vec<Instant>>,
    gave_up: Mutex<Option<GaveUp>>,
    /// The session ended: a wait in progress stops.
    stopping: AtomicBool,
    after_restart: Option<AfterRestart<'a>>,
}

/// What Docker says about a container that died.
#[derive(Debug, Clone, PartialEq, Eq)]
struct State {
    status: String,
    exit_code: Option<i32>,
    oom_killed: bool,
}

impl<'a> Supervisor<'a> {
    pub fn new(
        plan: &'a SupervisionPlan,
        engine: &'a dyn DockerEngine,
        progress: &'a Progress,
        slots: SlotValues,
        ready_timeout: Option<Duration>,
    ) -> Supervisor<'a> {
        Supervisor {
            plan,
            engine,
            progress,
            slots,
            started: Instant::now(),
            ready_timeout: ready_timeout.unwrap_or(Duration::from_secs(plan.ready_timeout_seconds)),
            restarts: Mutex::new(Vec::new()),
            recent: Mutex::new(Vec::new()),
            gave_up: Mutex::new(None),
            stopping: AtomicBool::new(false),
            after_restart: None,
        }
    }

    pub fn after_restart(mut self, hook: Option<AfterRestart<'a>>) -> Supervisor<'a> {
        self.after_restart = hook;
        self
    }

    /// The session ended: stop waiting for a sidecar (the caller stops the events).
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// The `docker events` call to follow.
    pub fn events_call(&self) -> Result<Call> {
        command_call(&self.plan.events, &self.slots, Mode::Step)
    }

    pub fn restarts(&self) -> Vec<Restart> {
        self.restarts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn gave_up(&self) -> Option<GaveUp> {
        self.gave_up
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Handles each death the events report until they end (stopped after the session,
    /// or the stream failed) or supervision gives up; then the attached session is ended.
    pub fn watch(&self, events: Box<dyn ProgramOutput>) {
        let mut reader = std::io::BufReader::new(events);
        let mut line = String::new();
        loop {
            line.clear();
            if !matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
                if !self.stopping.load(Ordering::SeqCst) {
                    let why = reader.into_inner().abort().unwrap_or_default();
                    self.progress.warn(&format!(
                        "`docker events` ended{}: the sidecars are no longer watched, a sidecar that dies now stays down",
                        if why.is_empty() { String::new() } else { format!(" ({why})") }
                    ));
                }
                return;
            }
            let mut words = line.split_whitespace();
            let Some(name) = words.next() else { continue };
            let Some(sidecar) = self.plan.sidecars.iter().find(|s| s.container == name) else {
                continue; // the agent's own death ends the attach by itself
            };
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            // The event's exit code: by the time Docker is asked, a container its policy
            // restarted already says 0.
            let exit_code = words.next().and_then(|c| c.parse().ok());
            if let Err(e) = self.on_death(sidecar, exit_code) {
                let why = GaveUp(format!("{e:#}"));
                self.progress.warn(&why.0);
                *self.gave_up.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
                self.end_session();
                return;
            }
        }
    }

    /// Ends the attached session by killing the agent container: `docker exec` then ends
    /// as when the agent exits (a killed CLI would leave a terminal in raw mode), and
    /// teardown follows.
    fn end_session(&self) {
        let Some(agent) = self.slots.get(Slot::AgentName) else {
            return;
        };
        let call = Call::new(["kill", "--signal", "KILL", agent]).to_the_end();
        match self.engine.run(&call) {
            Ok(done) if done.ok() => {}
            Ok(done) => self.progress.warn(&format!(
                "cannot end the session ({}): {}",
                call.shown,
                done.stderr.trim()
            )),
            Err(e) => self
                .progress
                .warn(&format!("cannot end the session: {e:#}")),
        }
    }

    /// One sidecar died: counted, reported, restarted, waited for, redone. An error ends
    /// the session.
    fn on_death(&self, s: &Supervised, exit_code: Option<i32>) -> Result<()> {
        let died = Instant::now();
        let mut state = self.state(&s.container)?;
        state.exit_code = exit_code.or(state.exit_code);
        let role = s.role.label();
        let reason = reason(&state);
        let count = self.count_death(died);
        if count > self.plan.max_restarts as usize {
            bail!(
                "{role} died {count} times within {}s (last: {reason}); ending the session",
                self.plan.window_seconds
            );
        }
        let by_docker = matches!(state.status.as_str(), "restarting" | "running");
        self.progress.warn(&format!(
            "{role} died ({reason}); {}",
            if by_docker {
                "Docker restarts it"
            } else {
                "restarting it"
            }
        ));
        if !by_docker {
            self.start(s)?;
        }
        let back = self.wait_ready(s, died)?;
        if back {
            for redo in &s.then {
                self.redo(redo, &s.container)?;
            }
            let note = match self.after_restart {
                Some(hook) => hook(self.engine, s.role)?,
                None => None,
            };
            if let Some(note) = note {
                self.progress.step(&note);
            }
        }
        let back_after = back.then(|| died.elapsed().as_secs_f64());
        if let Some(secs) = back_after {
            self.progress
                .step(&format!("{role} is back, {secs:.1}s after it died"));
        }
        self.restarts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Restart {
                role: role.to_string(),
                container: s.container.clone(),
                died_at_seconds: round(died.duration_since(self.started).as_secs_f64()),
                exit_code: state.exit_code,
                oom_killed: state.oom_killed,
                restarted_by: if by_docker { "docker" } else { "bottle" },
                back_after_seconds: back_after.map(round),
            });
        Ok(())
    }

    /// Deaths within the window, this one included.
    fn count_death(&self, now: Instant) -> usize {
        let window = Duration::from_secs(self.plan.window_seconds);
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.retain(|t| now.duration_since(*t) < window);
        recent.push(now);
        recent.len()
    }

    fn state(&self, container: &str) -> Result<State> {
        let got = self.engine.run(&Call::new([
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}",
            container,
        ]))?;
        if !got.ok() {
            bail!(
                "cannot ask Docker about {container}: {}; ending the session",
                got.stderr.trim()
            );
        }
        let text = got.stdout_text();
        let mut words = text.split_whitespace();
        Ok(State {
            status: words.next().unwrap_or_default().to_string(),
            exit_code: words.next().and_then(|c| c.parse().ok()),
            oom_killed: words.next() == Some("true"),
        })
    }

    /// `docker start`; a container Docker restarted meanwhile is fine too.
    fn start(&self, s: &Supervised) -> Result<()> {
        let done = self
            .engine
            .run(&Call::new(["start", &s.container]).to_the_end())?;
        if done.ok() {
            return Ok(());
        }
        let now = self.state(&s.container)?;
        if matches!(now.status.as_str(), "running" | "restarting") {
            return Ok(());
        }
        bail!(
            "cannot restart {} ({}): {}; ending the session",
            s.role.label(),
            s.container,
            done.stderr.trim()
        )
    }

    /// Polls the readiness probe. `false`: it died again meanwhile (its death is the next
    /// event); an error: it never became ready.
    fn wait_ready(&self, s: &Supervised, died: Instant) -> Result<bool> {
        let probe = command_call(&s.ready, &self.slots, Mode::Step)?;
        let mut polls = 0u32;
        loop {
            if self.stopping.load(Ordering::SeqCst) || self.engine.signal().is_some() {
                return Ok(false);
            }
            if self.engine.run(&probe)?.ok() {
                return Ok(true);
            }
            polls += 1;
            if polls.is_multiple_of(STATE_EVERY) {
                let now = self.state(&s.container)?;
                if !matches!(now.status.as_str(), "running" | "restarting") {
                    return Ok(false);
                }
            }
            if died.elapsed() > self.ready_timeout {
                bail!(
                    "{} did not become ready within {}s of its restart; ending the session",
                    s.role.label(),
                    self.ready_timeout.as_secs()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    fn redo(&self, redo: &Redo, container: &str) -> Result<()> {
        match redo {
            Redo::HostsEntry { query, hosts_entry } => {
                let got = self
                    .engine
                    .check(&command_call(query, &self.slots, Mode::Step)?)?;
                let address = got.stdout_text();
                if address.is_empty() {
                    bail!("cannot find the address of {container} after its restart");
                }
                let slots = self
                    .slots
                    .clone()
                    .with(Slot::MitmHostEntry, format!("{container}:{address}"));
                self.engine
                    .check(&command_call(hosts_entry, &slots, Mode::Finish)?)?;
                Ok(())
            }
        }
    }
}

/// "exit 137, OOM-killed".
fn reason(state: &State) -> String {
    let code = match state.exit_code {
        Some(c) => format!("exit {c}"),
        None => "exit code unknown".into(),
    };
    if state.oom_killed {
        format!("{code}, OOM-killed")
    } else {
        code
    }
}

fn round(secs: f64) -> f64 {
    (secs * 100.0).round() / 100.0
}

/// A plan command as an engine call (slots filled, no stdin).
fn command_call(cmd: &DockerCommand, slots: &SlotValues, mode: Mode) -> Result<Call> {
    let args = cmd
        .argv(slots)
        .map_err(|slot| anyhow!("internal error: {} is not filled", slot.placeholder()))?;
    Ok(Call {
        args,
        env: cmd.env.clone(),
        stdin: None,
        mode,
        shown: cmd.display(slots),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scripted_engine::{Reply, ScriptedEngine};
    use crate::plan::fixture::a_plan;
    use crate::progress::Journal;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    /// The supervisor of the fixture plan's bottle, its events `events` (one death per
    /// line), the engine answered by `script`; returns it with the journal.
    fn supervise(
        events: &str,
        script: impl Fn(&Call) -> Reply + Send + Sync + 'static,
        check: impl FnOnce(&Supervisor, &ScriptedEngine, Vec<String>),
    ) {
        let plan = a_plan(|_| {});
        let journal: Journal = Arc::default();
        let events = events.to_string();
        let engine = ScriptedEngine::new(journal.clone(), move |call| {
            if call.args[0] == "events" {
                return Reply::ok(events.clone());
            }
            script(call)
        });
        let progress = Progress::recording(journal.clone());
        let slots = SlotValues::default().with(Slot::AgentName, "the-agent");
        let sup = Supervisor::new(
            &plan.supervision,
            &engine,
            &progress,
            slots,
            Some(Duration::from_secs(5)),
        );
        let followed = engine.follow(&sup.events_call().unwrap()).unwrap();
        sup.watch(followed.output);
        let lines = journal.lock().unwrap().clone();
        check(&sup, &engine, lines);
    }

    /// How often the session was ended: the agent container killed.
    fn killed_agent(engine: &ScriptedEngine) -> usize {
        engine
            .calls()
            .iter()
            .filter(|(_, c)| c.args == ["kill", "--signal", "KILL", "the-agent"])
            .count()
    }

    fn names() -> (String, String) {
        let plan = a_plan(|_| {});
        (plan.pipelock.container, plan.mitmproxy.container)
    }

    #[test]
    fn a_killed_sidecar_docker_leaves_down_is_started_and_reported_back() {
        let (pipelock, _) = names();
        let probes = Arc::new(AtomicUsize::new(0));
        let p = probes.clone();
        supervise(
            &format!("{pipelock} 137\nbot-bottle-dev-01234567 0\n"),
            move |call| match call.args[0].as_str() {
                "inspect" => Reply::ok("exited 137 false"),
                "start" => Reply::ok(call.args[1].clone()),
                // Not ready twice, then ready.
                "exec" if p.fetch_add(1, Ordering::SeqCst) < 2 => Reply::fail("not yet"),
                _ => Reply::ok(""),
            },
            |sup, engine, lines| {
                let calls: Vec<Vec<String>> =
                    engine.calls().into_iter().map(|(_, c)| c.args).collect();
                assert!(calls.contains(&vec!["start".to_string(), pipelock.clone()]));
                assert_eq!(
                    calls.iter().filter(|a| a[0] == "exec").count(),
                    3,
                    "{calls:#?}"
                );
                let start = calls.iter().position(|a| a[0] == "start").unwrap();
                assert_eq!(
                    engine.calls()[start].1.mode,
                    Mode::Finish,
                    "a start runs to its end"
                );
                assert!(
                    lines
                        .iter()
                        .any(|l| l.contains("pipelock died (exit 137); restarting it")),
                    "{lines:#?}"
                );
                assert!(
                    lines.iter().any(|l| l.contains("pipelock is back, ")),
                    "{lines:#?}"
                );
                let restarts = sup.restarts();
                assert_eq!(restarts.len(), 1, "the agent's death is not a sidecar's");
                let r = &restarts[0];
                assert_eq!(
                    (r.role.as_str(), r.exit_code, r.oom_killed, r.restarted_by),
                    ("pipelock", Some(137), false, "bottle")
                );
                assert!(r.back_after_seconds.is_some());
                assert_eq!(sup.gave_up(), None);
                assert_eq!(killed_agent(engine), 0);
            },
        );
    }

    #[test]
    fn an_oom_killed_mitmproxy_docker_restarts_gets_its_new_address_into_the_agent() {
        let (_, mitm) = names();
        supervise(
            &format!("{mitm} 137\n"),
            |call| match call.args[0].as_str() {
                // Docker restarted it before it was asked: its exit code reads 0 now,
                // the event's 137 is the one reported.
                "inspect" if call.args[2].contains("State.Status") => Reply::ok("running 0 true"),
                "inspect" => Reply::ok("172.30.0.7\n"),
                _ => Reply::ok(""),
            },
            |sup, engine, lines| {
                let calls: Vec<Vec<String>> =
                    engine.calls().into_iter().map(|(_, c)| c.args).collect();
                assert!(!calls.iter().any(|a| a[0] == "start"), "Docker restarts it");
                let hosts = calls
                    .iter()
                    .find(|a| a.contains(&"bot-bottle-hosts".to_string()))
                    .expect("the hosts entry again");
                assert_eq!(hosts[..4], ["exec", "--user", "0", "the-agent"]);
                assert_eq!(hosts.last().unwrap(), &format!("{mitm}:172.30.0.7"));
                assert!(
                    lines
                        .iter()
                        .any(|l| l
                            .contains("mitmproxy died (exit 137, OOM-killed); Docker restarts it")),
                    "{lines:#?}"
                );
                let r = &sup.restarts()[0];
                assert_eq!(
                    (r.oom_killed, r.restarted_by, r.container.as_str()),
                    (true, "docker", mitm.as_str())
                );
            },
        );
    }

    #[test]
    fn a_sidecar_that_keeps_dying_ends_the_session_once() {
        let (pipelock, _) = names();
        let events = format!("{pipelock} 1\n").repeat(8);
        supervise(
            &events,
            |call| match call.args[0].as_str() {
                "inspect" => Reply::ok("restarting 1 false"),
                _ => Reply::ok(""),
            },
            |sup, engine, lines| {
                assert_eq!(sup.restarts().len(), 5, "the sixth death is not restarted");
                let why = sup.gave_up().expect("gave up").0;
                assert_eq!(
                    why,
                    "pipelock died 6 times within 60s (last: exit 1); ending the session"
                );
                assert_eq!(killed_agent(engine), 1);
                assert_eq!(
                    lines
                        .iter()
                        .filter(|l| l.contains("ending the session"))
                        .count(),
                    1,
                    "{lines:#?}"
                );
            },
        );
    }

    #[test]
    fn the_launchs_own_redo_runs_once_the_sidecar_is_back_and_its_failure_ends_the_session() {
        let (pipelock, _) = names();
        let plan = a_plan(|_| {});
        for fails in [false, true] {
            let journal: Journal = Arc::default();
            let engine = ScriptedEngine::new(journal.clone(), {
                let events = format!("{pipelock} 137\n");
                move |call| match call.args[0].as_str() {
                    "events" => Reply::ok(events.clone()),
                    "inspect" => Reply::ok("exited 137 false"),
                    _ => Reply::ok(""),
                }
            });
            let progress = Progress::recording(journal.clone());
            let seen = Mutex::new(Vec::new());
            let hook = |_: &dyn DockerEngine, role: Role| -> Result<Option<String>> {
                seen.lock().unwrap().push(role);
                if fails {
                    bail!("cannot load the live policy again: no reload");
                }
                Ok(Some(
                    "pipelock has the live policy again (1 change(s))".into(),
                ))
            };
            let sup = Supervisor::new(
                &plan.supervision,
                &engine,
                &progress,
                SlotValues::default().with(Slot::AgentName, "the-agent"),
                Some(Duration::from_secs(5)),
            )
            .after_restart(Some(&hook));
            let followed = engine.follow(&sup.events_call().unwrap()).unwrap();
            sup.watch(followed.output);
            assert_eq!(seen.lock().unwrap().clone(), [Role::Pipelock]);
            let lines = journal.lock().unwrap().clone();
            if fails {
                let why = sup.gave_up().expect("gave up").0;
                assert!(why.contains("no reload"), "{why}");
                assert_eq!(killed_agent(&engine), 1);
            } else {
                assert_eq!(sup.gave_up(), None);
                let note = lines
                    .iter()
                    .position(|l| l.contains("live policy again"))
                    .expect("the note");
                let back = lines.iter().position(|l| l.contains("is back")).unwrap();
                assert!(note < back, "{lines:#?}");
            }
        }
    }

    #[test]
    fn a_sidecar_that_cannot_be_started_again_ends_the_session() {
        let (pipelock, _) = names();
        supervise(
            &format!("{pipelock} 137\n"),
            |call| match call.args[0].as_str() {
                "inspect" => Reply::ok("exited 137 false"),
                "start" => Reply::fail("Error response from daemon: network not found"),
                _ => Reply::ok(""),
            },
            |sup, engine, _| {
                let why = sup.gave_up().expect("gave up").0;
                assert!(
                    why.contains("cannot restart pipelock") && why.contains("network not found"),
                    "{why}"
                );
                assert_eq!(killed_agent(engine), 1);
            },
        );
    }
}
