//! The executor against the scripted engine and a fake Docker: every step in its lane's
//! order, undos registered first, a failure or a signal at every point undone, name
//! retries, waits, slots between lanes, one-round teardown, the launch record. No engine
//! needed, so these run in every `cargo test`, the Nix build's included.

use super::{Ending, LaunchInput, run};
use crate::engine::call::{Call, Mode};
use crate::engine::fake_docker::{CA_PEM, FakeDocker, World};
use crate::engine::scripted_engine::{How, Reply, ScriptedEngine};
use crate::error::Error;
use crate::exit_code;
use crate::naming::Role;
use crate::plan::bottle_plan::BottlePlan;
use crate::plan::docker_command::DockerCommand;
use crate::plan::fixture::{a_plan, fake};
use crate::plan::phase::{Lane, Phase};
use crate::plan::slot::{Slot, SlotValues};
use crate::plan::step::{Action, Capture, Step};
use crate::plan::undo::Undo;
use crate::progress::{Journal, Progress};
use crate::runtime::launch_record::LaunchRecord;
use crate::runtime::runtime_dir::RuntimeDir;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a launch did.
struct Outcome {
    result: Result<i32, Error>,
    calls: Vec<(How, Call)>,
    /// Progress lines (`bottle: …`) and calls (`+ docker …`), in order.
    journal: Vec<String>,
    /// The launch record's text, if teardown left it.
    record_left: Option<String>,
    /// The files left in the runtime directory.
    runtime_left: Vec<String>,
    /// What the hook before teardown saw: the registered undos and the ending. Its own
    /// docker call is `docker logs the-hook`.
    hook: Option<(Vec<Undo>, Ending)>,
}

impl Outcome {
    fn code(&self) -> i32 {
        match &self.result {
            Ok(code) => *code,
            Err(e) => e.exit_code(),
        }
    }

    fn error(&self) -> String {
        match &self.result {
            Ok(code) => panic!(
                "the launch succeeded with {code}; journal:\n{}",
                self.journal.join("\n")
            ),
            Err(e) => format!("{e:#}"),
        }
    }

    fn args(&self) -> Vec<Vec<String>> {
        self.calls.iter().map(|(_, c)| c.args.clone()).collect()
    }
}

/// What the script knows when a call comes.
struct Now<'a> {
    /// The calls before this one.
    n: usize,
    docker: &'a FakeDocker,
    /// Progress lines and calls so far, this call included.
    journal: Vec<String>,
    /// The launch's runtime directory (its record and env-file).
    runtime: &'a RuntimeDir,
}

/// What the hook before teardown saw: the registered undos and the ending.
type HookSaw = Arc<Mutex<Option<(Vec<Undo>, Ending)>>>;

/// Launches `plan` on `docker`, each call answered by `script`; every wait times out
/// after 300 ms.
fn launch(
    plan: &BottlePlan,
    docker: &Arc<FakeDocker>,
    script: impl Fn(&Call, Now) -> Reply + Send + Sync + 'static,
) -> Outcome {
    launch_with(plan, docker, Duration::from_millis(300), script)
}

/// Same, with waits timing out after `timeout`.
fn launch_with(
    plan: &BottlePlan,
    docker: &Arc<FakeDocker>,
    timeout: Duration,
    script: impl Fn(&Call, Now) -> Reply + Send + Sync + 'static,
) -> Outcome {
    let journal: Journal = Arc::new(Mutex::new(Vec::new()));
    let counter = AtomicUsize::new(0);
    let fake = docker.clone();
    let seen = journal.clone();
    let tmp = tempfile::tempdir().unwrap();
    let dir = RuntimeDir::at(&tmp.path().join("rt"), crate::host_snapshot::uid()).unwrap();
    let runtime = dir.clone();
    let engine = ScriptedEngine::new(journal.clone(), move |call| {
        let now = Now {
            n: counter.fetch_add(1, Ordering::SeqCst),
            docker: &fake,
            journal: seen.lock().unwrap().clone(),
            runtime: &runtime,
        };
        script(call, now)
    });
    let progress = Progress::recording(journal.clone());
    let record = LaunchRecord::create(&dir, &plan.bottle_id, &plan.agent, 1000).unwrap();
    let seen_by_hook: HookSaw = Arc::default();
    let hook_sink = seen_by_hook.clone();
    // The hook reads a log, as the exit report does: its call shows where it ran.
    let hook = move |e: &dyn crate::engine::docker_engine::DockerEngine,
                     registered: &[Undo],
                     ending: &Ending,
                     _restarts: &[crate::launch::supervisor::Restart]| {
        let _ = e.run(&Call::new(["logs", "the-hook"]).to_the_end());
        *hook_sink.lock().unwrap() = Some((registered.to_vec(), ending.clone()));
    };
    let input = LaunchInput {
        env_file_text: "LOG_LEVEL=debug\n",
        slots: SlotValues::default()
            .with(Slot::Tty, "")
            .with(Slot::CaCertificate, CA_PEM),
        ready_timeout: Some(timeout),
        record: &record,
        before_teardown: Some(&hook),
        after_restart: None,
    };
    let result = run(plan, input, &engine, &progress);
    let journal = journal.lock().unwrap().clone();
    let record_left = std::fs::read_to_string(record.path()).ok();
    let runtime_left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let hook = seen_by_hook.lock().unwrap().take();
    Outcome {
        result,
        calls: engine.calls(),
        journal,
        record_left,
        runtime_left,
        hook,
    }
}

/// A script whose call number `target` fails, and so does the same command whenever it
/// is repeated (so a wait does not simply poll past it).
fn failing_at(target: usize) -> impl Fn(&Call, Now) -> Reply + Send + Sync + 'static {
    let failing: Arc<Mutex<Option<Vec<String>>>> = Arc::default();
    move |call, now| {
        let mut failing = failing.lock().unwrap();
        if now.n == target {
            *failing = Some(call.args.clone());
        }
        if failing.as_ref() == Some(&call.args) {
            Reply::fail("Error response from daemon: something broke")
        } else {
            now.docker.answer(call)
        }
    }
}

fn plain(call: &Call, now: Now) -> Reply {
    now.docker.answer(call)
}

/// What is left of a world once its images are set aside.
fn resources(world: &World) -> (Vec<String>, Vec<String>) {
    (
        world.containers.iter().map(|c| c.name.clone()).collect(),
        world.networks.iter().map(|n| n.name.clone()).collect(),
    )
}

/// Whether these are the arguments of the agent container's `docker run`.
fn is_agent_run(args: &[String]) -> bool {
    args[0] == "run" && args.iter().any(|a| a == "bot-bottle.role=agent")
}

/// The env-file path a launch used (from the recorded `docker run`), if any.
fn env_file(outcome: &Outcome) -> Option<String> {
    outcome
        .args()
        .iter()
        .find(|a| is_agent_run(a))
        .and_then(|a| {
            a.windows(2)
                .find(|w| w[0] == "--env-file")
                .map(|w| w[1].clone())
        })
}

#[test]
fn a_clean_launch_runs_the_printed_steps_in_order_and_removes_everything() {
    let plan = a_plan(|_| {});
    let docker = Arc::new(fake());
    let before = docker.world();
    let out = launch(&plan, &docker, plain);
    assert_eq!(out.code(), 0, "{:#?}", out.journal);
    assert_eq!(docker.world(), before, "teardown left something");
    let path = env_file(&out).expect("the bottle has a literal");
    assert!(
        !std::path::Path::new(&path).exists(),
        "the env-file is left: {path}"
    );

    // Every docker command of every lane ran, in its lane's order, with its slots filled.
    let known = SlotValues::default()
        .with(Slot::AgentName, &plan.agent_container.name)
        .with(Slot::Tty, "")
        .with(Slot::EnvFile, &path)
        .with(
            Slot::MitmHostEntry,
            format!("{}:172.30.0.2", plan.mitmproxy.container),
        )
        .with(Slot::CaCertificate, CA_PEM);
    let ran = out.args();
    for lane in plan.launch.iter().flat_map(|p| p.lanes.iter()) {
        let mut from = 0;
        for step in &lane.steps {
            let cmd = match &step.action {
                Action::Run { command, .. } | Action::Attach { command } => command,
                Action::RunAgent { run, .. } => run,
                Action::WaitFor { probe, .. } => probe,
                Action::EnsureImage { image } => &DockerCommand::new(image.inspect_args()),
                _ => continue,
            };
            let argv = cmd.argv(&known).unwrap();
            let at = ran[from..]
                .iter()
                .position(|a| *a == argv)
                .unwrap_or_else(|| panic!("lane {}: {argv:?} did not run in order", lane.name));
            from += at + 1;
        }
    }
    // The phases do not overlap, and the progress numbers are the printed plan's.
    let total = plan.numbered_steps();
    assert_eq!(
        total, 4,
        "images and networks, sidecars and agent, attach, teardown"
    );
    let marks: Vec<usize> = (1..=total)
        .map(|n| {
            out.journal
                .iter()
                .position(|l| l.starts_with(&format!("bottle: [{n}/{total}] ")))
                .unwrap_or_else(|| panic!("no [{n}/{total}] line: {:#?}", out.journal))
        })
        .collect();
    assert!(marks.windows(2).all(|w| w[0] < w[1]), "{:#?}", out.journal);
    let titles: Vec<String> = plan.launch.iter().map(|p| p.title.clone()).collect();
    for (n, title) in titles.iter().enumerate() {
        let title = title.replace("<agent-name>", &plan.agent_container.name);
        assert_eq!(
            out.journal[marks[n]],
            format!("bottle: [{}/{total}] {title}", n + 1)
        );
    }
    let teardown = out.journal.last().unwrap();
    assert!(
        teardown.starts_with("bottle: [4/4] teardown: 8 of 8 undo step(s) done"),
        "{teardown}"
    );
    // The CA went in as the provision step's stdin, as the launch gave it.
    let ca_in = out
        .calls
        .iter()
        .find(|(_, c)| c.args[0] == "exec" && c.args.iter().any(|a| a.contains("mitm-ca.pem")))
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(ca_in.1.stdin.as_ref().unwrap()),
        CA_PEM
    );
    // mitmproxy's address went into the agent's hosts file, after the agent was made.
    let hosts = ran
        .iter()
        .position(|a| a.last().is_some_and(|l| l.ends_with(":172.30.0.2")))
        .expect("the hosts entry");
    assert!(ran[hosts].contains(&"bot-bottle-hosts".to_string()));
    // Creates and removals run to the end; the attach and the waits may be stopped.
    for (how, call) in &out.calls {
        let creates = matches!(call.args[0].as_str(), "create" | "run" | "start" | "rm")
            || call.args[..2] == ["network", "create"];
        if creates {
            assert_eq!(call.mode, Mode::Finish, "{}", call.shown);
        }
        if *how == How::Attach {
            assert_eq!(call.mode, Mode::Step);
        }
    }
}

/// The worst case for "registered before": Docker made the resource, then the command
/// failed (or bottle died waiting). Teardown must still remove it.
#[test]
fn each_undo_is_registered_before_its_step() {
    let plan = a_plan(|o| o.cwd = true);
    let clean = launch(&plan, &Arc::new(fake()), plain);
    assert_eq!(clean.code(), 0, "{:#?}", clean.journal);
    let creating: Vec<usize> = clean
        .args()
        .iter()
        .enumerate()
        .filter(|(_, a)| {
            matches!(a[0].as_str(), "create" | "run" | "build") || a[..2] == ["network", "create"]
        })
        .map(|(i, _)| i)
        .collect();
    assert_eq!(creating.len(), 7, "3 networks, 3 sidecars, agent");
    // The lanes of a phase run at the same time, so the k-th creating call is counted,
    // not the n-th call.
    for target in 0..creating.len() {
        let docker = Arc::new(fake());
        let before = docker.world();
        let seen = Arc::new(AtomicUsize::new(0));
        let out = launch(&plan, &docker, move |call, now| {
            let a = &call.args;
            let creates = matches!(a[0].as_str(), "create" | "run" | "build")
                || a[..2] == ["network", "create"];
            let reply = now.docker.answer(call);
            if creates && seen.fetch_add(1, Ordering::SeqCst) == target {
                Reply::fail("created, then the docker CLI lost the engine")
            } else {
                reply
            }
        });
        assert_eq!(out.code(), exit_code::FAILURE, "{:#?}", out.journal);
        let made = docker.created().last().cloned().unwrap();
        assert_eq!(
            docker.world(),
            before,
            "call {target} made {made}, and teardown did not remove it"
        );
    }
}

/// Failing at every call of a launch in turn (and that command again whenever it is
/// repeated, so a wait does not simply poll past it): each time, everything created is
/// removed, newest first, and nothing that was there before is touched.
#[test]
fn a_failure_at_each_step_undoes_exactly_what_was_created_newest_first() {
    failing_at_each_step(&a_plan(|o| o.cwd = true));
}

/// The same with published ports: the ports network, the port relay and the forwarder
/// (a host port Docker cannot bind fails the forwarder's `docker run`) are taken back too.
#[test]
fn with_published_ports_a_failure_at_each_step_undoes_what_was_created() {
    let plan = a_plan(|o| o.ports = vec!["3000".into(), "8080:5173".into()]);
    let clean = launch(&plan, &Arc::new(fake()), plain);
    assert_eq!(clean.code(), 0, "{:#?}", clean.journal);
    let forwarder = clean
        .args()
        .into_iter()
        .find(|a| a.iter().any(|w| w == "bot-bottle.role=forwarder"))
        .expect("the forwarder is started");
    assert!(
        forwarder.iter().any(|w| w == "forwarder") && forwarder.iter().any(|w| w == "172.30.0.3"),
        "the forwarder connects to the address the relay gave: {forwarder:?}"
    );
    failing_at_each_step(&plan);
}

fn failing_at_each_step(plan: &crate::plan::bottle_plan::BottlePlan) {
    let plan = plan.clone();
    let clean = launch(&plan, &Arc::new(fake()), plain);
    let before_teardown = clean
        .calls
        .iter()
        .position(|(how, _)| *how == How::Attach)
        .unwrap()
        + 1;
    assert!(before_teardown > 18, "{before_teardown}");
    for target in 0..before_teardown {
        // Following `docker events` is no step: when it fails, the session goes on
        // unsupervised (`the_events_failing_leave_the_session_unsupervised`).
        if clean.calls[target].1.args[0] == "events" {
            continue;
        }
        let docker = Arc::new(fake().foreign_container("someone-elses"));
        let before = docker.world();
        let out = launch(&plan, &docker, failing_at(target));
        assert_ne!(out.code(), 0, "failing call {target}: {:#?}", out.journal);
        assert_eq!(
            resources(&docker.world()),
            resources(&before),
            "failing call {target}"
        );
        assert_eq!(
            docker.world().images,
            before.images,
            "failing call {target}"
        );
        let created = docker.created();
        let removed = docker.removed();
        let as_set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
        assert_eq!(as_set(&removed), as_set(&created), "failing call {target}");
        // Lanes of one phase create at the same time, so only the phases' order is
        // fixed: everything of the containers' phase goes before the networks.
        let phase = |s: &String| if s.starts_with("network ") { 1 } else { 2 };
        let phases: Vec<u8> = removed.iter().map(phase).collect();
        assert!(
            phases.windows(2).all(|w| w[0] >= w[1]),
            "failing call {target}: not removed newest first: {removed:?}"
        );
    }
}

#[test]
fn a_taken_name_is_retried_and_nothing_the_user_typed_is_rewritten() {
    let base = a_plan(|_| {}).agent_container.name;
    let plan = a_plan(|o| o.command = vec!["echo".into(), base.clone(), format!("{base}:/x")]);
    let docker = Arc::new(
        fake()
            .foreign_container(&base)
            .foreign_container(&format!("{base}-2")),
    );
    let out = launch(&plan, &docker, plain);
    assert_eq!(out.code(), 0, "{:#?}", out.journal);
    let runs: Vec<String> = out
        .args()
        .iter()
        .filter(|a| is_agent_run(a))
        .map(|a| a[3].clone())
        .collect();
    assert_eq!(
        runs,
        [base.clone(), format!("{base}-2"), format!("{base}-3")]
    );
    let taken = out
        .journal
        .iter()
        .filter(|l| l.contains("is taken; trying another"))
        .count();
    assert_eq!(taken, 2);
    let renamed = format!("{base}-3");
    let attach = &out
        .calls
        .iter()
        .find(|(h, _)| *h == How::Attach)
        .unwrap()
        .1
        .args;
    assert!(attach.contains(&renamed), "{attach:?}");
    assert_eq!(
        attach[attach.len() - 3..],
        ["echo".to_string(), base.clone(), format!("{base}:/x")],
        "the user's arguments were rewritten"
    );
    for args in out.args().iter().filter(|a| a[0] == "exec" || a[0] == "cp") {
        let agent_side = args
            .iter()
            .any(|a| a.starts_with(&base) && !a.contains("mitm"));
        if agent_side && args != attach {
            assert!(
                args.iter()
                    .any(|a| *a == renamed || a.starts_with(&format!("{renamed}:"))),
                "{args:?} does not follow the rename"
            );
        }
    }
    assert!(
        out.journal
            .iter()
            .any(|l| l == &format!("bottle: [3/4] attach to {renamed}"))
    );
    let (containers, networks) = resources(&docker.world());
    assert_eq!(
        containers,
        [base.clone(), format!("{base}-2")],
        "the others' containers stay"
    );
    assert!(networks.is_empty());
}

#[test]
fn a_pinned_name_in_use_fails_clearly_and_the_other_container_stays() {
    let plan = a_plan(|o| o.name = Some("my-claude".into()));
    let docker = Arc::new(fake().foreign_container("my-claude"));
    let before = docker.world();
    let out = launch(&plan, &docker, plain);
    assert_eq!(out.code(), exit_code::FAILURE);
    assert!(
        out.error()
            .contains("the container name `my-claude` (from --name) is already in use"),
        "{}",
        out.error()
    );
    assert_eq!(
        out.args().iter().filter(|a| is_agent_run(a)).count(),
        1,
        "no retry"
    );
    assert_eq!(docker.world(), before);
}

/// A signal arriving during the first docker call of each phase: the launch stops there,
/// tears down, and reports the signal (exit 130 for SIGINT).
#[test]
fn a_signal_in_each_phase_tears_down_and_exits_128_plus_the_signal() {
    let plan = a_plan(|o| o.cwd = true);
    for phase in 1..=3 {
        let docker = Arc::new(fake());
        let before = docker.world();
        let raised = Arc::new(AtomicUsize::new(0));
        let r = raised.clone();
        let mark = format!("bottle: [{phase}/4] ");
        let out = launch(&plan, &docker, move |call, now| {
            let mut reply = now.docker.answer(call);
            let in_phase = now.journal.iter().any(|l| l.starts_with(&mark));
            if in_phase && r.fetch_add(1, Ordering::SeqCst) == 0 {
                reply.signal = Some(libc::SIGINT);
            }
            reply
        });
        assert_eq!(out.code(), 130, "phase {phase}: {:#?}", out.journal);
        assert!(
            raised.load(Ordering::SeqCst) > 0,
            "phase {phase} made no call"
        );
        let next = format!("bottle: [{}/4] ", phase + 1);
        let later = out
            .journal
            .iter()
            .any(|l| l.starts_with(&next) && !l.contains("teardown"));
        assert!(
            !later,
            "phase {phase}: the next phase started: {:#?}",
            out.journal
        );
        assert!(
            out.journal.last().unwrap().contains("[4/4] teardown: "),
            "{:#?}",
            out.journal
        );
        assert_eq!(docker.world(), before, "phase {phase}: {:#?}", out.journal);
    }
}

/// The executor runs whatever the plan says: here two lanes, one waiting for a slot the
/// other fills after a few polls.
#[test]
fn a_step_waits_for_a_slot_that_another_lane_fills() {
    let polls = Arc::new(AtomicUsize::new(0));
    let docker = Arc::new(FakeDocker::new());
    docker.answer(&Call::new(["run", "--name", "m", "img"]));
    docker.answer(&Call::new(["run", "--name", "a", "img"]));
    let phases = vec![Phase {
        title: "together".into(),
        lanes: vec![
            Lane {
                name: "consumer".into(),
                steps: vec![Step::run(
                    DockerCommand::new(["exec", "a", "install-host"]).slot(Slot::MitmHostEntry),
                )],
            },
            Lane {
                name: "producer".into(),
                steps: vec![Step::new(Action::WaitFor {
                    probe: DockerCommand::new(["exec", "m", "cat", "/address"]),
                    container: "m".into(),
                    what: "the address".into(),
                    timeout_seconds: 10,
                    capture: Some(Capture::HostEntry { name: "m".into() }),
                })],
            },
        ],
    }];
    let mut plan = a_plan(|_| {});
    plan.launch = phases;
    let p = polls.clone();
    let out = launch(&plan, &docker, move |call, now| {
        if call.args[2] == "cat" {
            if p.fetch_add(1, Ordering::SeqCst) < 3 {
                return Reply::fail("cat: /address: No such file or directory");
            }
            return Reply::ok("172.30.0.9\n");
        }
        now.docker.answer(call)
    });
    assert_eq!(out.code(), 0, "{:#?}", out.journal);
    let args = out.args();
    let reads = |a: &&Vec<String>| a[0] == "exec" && a[2] == "cat";
    let install = args.iter().position(|a| a[2] == "install-host").unwrap();
    let last_read = args.iter().rposition(|a| reads(&a)).unwrap();
    assert!(last_read < install, "{args:#?}");
    assert_eq!(args.iter().filter(reads).count(), 4);
    assert_eq!(args[install][3], "m:172.30.0.9");
}

#[test]
fn a_failing_lane_stops_its_sibling_and_its_own_error_is_reported() {
    let docker = Arc::new(FakeDocker::new());
    let mut plan = a_plan(|_| {});
    plan.launch = vec![Phase {
        title: "together".into(),
        lanes: vec![
            Lane {
                name: "waiting".into(),
                steps: vec![Step::run(
                    DockerCommand::new(["exec", "a", "x"]).slot(Slot::MitmHostEntry),
                )],
            },
            Lane {
                name: "failing".into(),
                steps: vec![
                    Step::run(DockerCommand::new(["start", "nothing-here"])),
                    Step::new(Action::WaitFor {
                        probe: DockerCommand::new(["cp", "m:/address", "-"]),
                        container: "m".into(),
                        what: "the address".into(),
                        timeout_seconds: 10,
                        capture: Some(Capture::HostEntry { name: "m".into() }),
                    }),
                ],
            },
        ],
    }];
    let out = launch(&plan, &docker, plain);
    assert!(
        out.error().contains("No such container: nothing-here"),
        "{}",
        out.error()
    );
    assert!(
        !out.args().iter().any(|a| a[0] == "exec"),
        "the waiting lane ran"
    );
}

/// The calls teardown made: everything after the hook's `docker logs the-hook`.
fn teardown_calls(out: &Outcome) -> Vec<Vec<String>> {
    let args = out.args();
    let hook = args
        .iter()
        .position(|a| a[..] == ["logs", "the-hook"])
        .unwrap_or_else(|| panic!("the hook did not run: {:#?}", out.journal));
    args[hook + 1..].to_vec()
}

/// Issue 13: teardown in one round, one `docker rm` for every container and one `docker
/// network rm` for every network, without looking anything up (each create's answer gave
/// the container's id), and every resource still reported.
#[test]
fn teardown_is_one_rm_and_one_network_rm_and_reports_each_resource() {
    let plan = a_plan(|_| {});
    let docker = Arc::new(fake());
    let out = launch(&plan, &docker, plain);
    assert_eq!(out.code(), 0, "{:#?}", out.journal);
    let calls = teardown_calls(&out);
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(calls[0][..3], ["rm", "--force", "--volumes"]);
    assert_eq!(calls[0].len(), 3 + 4, "four containers, by id: {calls:#?}");
    assert_eq!(calls[1][..2], ["network", "rm"]);
    assert_eq!(calls[1].len(), 2 + 3, "{calls:#?}");
    assert!(
        out.journal
            .last()
            .unwrap()
            .starts_with("bottle: [4/4] teardown: 8 of 8 undo step(s) done"),
        "{:#?}",
        out.journal
    );
    assert_eq!(docker.world(), fake().world());
    // Nothing left in the runtime directory: no record, no env-file.
    assert_eq!(out.record_left, None);
    assert!(out.runtime_left.is_empty(), "{:?}", out.runtime_left);
    let (registered, ending) = out.hook.clone().unwrap();
    assert_eq!(ending, Ending::Exited(0));
    assert!(registered.contains(&Undo::Containers {
        bottle_id: plan.bottle_id.clone(),
        role: Role::Mitmproxy
    }));
}

/// A partial launch (a failure at every call in turn) is also torn down in one round: at
/// most one `docker ps`, one `docker rm` and one `docker network rm`.
#[test]
fn a_partial_launch_is_torn_down_in_one_round_and_leaves_no_record() {
    let plan = a_plan(|_| {});
    let clean = launch(&plan, &Arc::new(fake()), plain);
    let attach = clean
        .calls
        .iter()
        .position(|(how, _)| *how == How::Attach)
        .unwrap();
    for target in 0..attach {
        if clean.calls[target].1.args[0] == "events" {
            continue;
        }
        let docker = Arc::new(fake());
        let out = launch(&plan, &docker, failing_at(target));
        assert_ne!(out.code(), 0, "failing call {target}");
        let calls = teardown_calls(&out);
        for (what, n) in [("ps", 1), ("rm", 1)] {
            let count = calls.iter().filter(|a| a[0] == what).count();
            assert!(
                count <= n,
                "failing call {target}: {count} × {what}: {calls:#?}"
            );
        }
        let net_rm = calls.iter().filter(|a| a[..2] == ["network", "rm"]).count();
        assert!(net_rm <= 1, "failing call {target}: {calls:#?}");
        assert_eq!(docker.world(), fake().world(), "failing call {target}");
        assert!(
            out.runtime_left.is_empty(),
            "failing call {target}: {:?}",
            out.runtime_left
        );
        assert!(
            matches!(out.hook, Some((_, Ending::Failed(_)))),
            "failing call {target}: {:?}",
            out.hook
        );
    }
}

/// Issue 10.5: the record names each resource before its create runs (so a SIGKILL at any
/// moment leaves a usable record), the container's id right after, and the env-file lives
/// in the runtime directory, 0600, named in the record before it exists.
#[test]
fn the_record_names_every_resource_before_it_is_created() {
    let plan = a_plan(|o| o.cwd = true);
    let docker = Arc::new(fake());
    let checked = Arc::new(AtomicUsize::new(0));
    let count = checked.clone();
    let id = plan.bottle_id.clone();
    let out = launch(&plan, &docker, move |call, now| {
        let record = std::fs::read_to_string(now.runtime.record_file(&id)).unwrap_or_default();
        let a = &call.args;
        let creating = match a[0].as_str() {
            "create" | "run" => Some(a[a.iter().position(|x| x == "--name").unwrap() + 1].clone()),
            "build" => Some(a[a.iter().position(|x| x == "--tag").unwrap() + 1].clone()),
            "network" if a[1] == "create" => a.last().cloned(),
            _ => None,
        };
        if let Some(name) = creating {
            assert!(
                record.contains(&format!("\"{name}\"")),
                "{name} is created before the record names it:\n{record}"
            );
            count.fetch_add(1, Ordering::SeqCst);
        }
        if a[0] == "run" && a.iter().any(|x| x == "--env-file") {
            let env_file = now.runtime.env_file(&id);
            assert!(record.contains(&format!("\"env_file\",\"path\":\"{}\"", env_file.display())));
            let mode = std::os::unix::fs::MetadataExt::mode(&std::fs::metadata(&env_file).unwrap());
            assert_eq!(mode & 0o777, 0o600);
            assert_eq!(
                a[a.iter().position(|x| x == "--env-file").unwrap() + 1],
                env_file.display().to_string()
            );
        }
        if a[0] == "exec" && a.iter().any(|x| x == "--workdir") {
            // By attach (every lane done), every container's id is recorded.
            let with_id = record.matches("\"entry\":\"container\"").count();
            let ids = record.matches("\"id\":\"c").count();
            assert_eq!((with_id, ids), (8, 4), "{record}");
        }
        now.docker.answer(call)
    });
    assert_eq!(out.code(), 0, "{:#?}", out.journal);
    assert_eq!(
        checked.load(Ordering::SeqCst),
        7,
        "3 networks, 4 containers"
    );
    assert!(out.runtime_left.is_empty(), "{:?}", out.runtime_left);
}

/// When teardown cannot remove something, the record stays for `bottle cleanup`.
#[test]
fn a_failed_teardown_keeps_the_record() {
    let plan = a_plan(|_| {});
    let docker = Arc::new(fake());
    let out = launch(&plan, &docker, |call, now| {
        if call.args[..2] == ["network", "rm"] || call.args[..2] == ["network", "inspect"] {
            Reply::fail("Error response from daemon: permission denied")
        } else {
            now.docker.answer(call)
        }
    });
    assert_eq!(out.code(), exit_code::FAILURE, "{:#?}", out.journal);
    let record = out.record_left.expect("the record stays");
    assert!(record.contains(&plan.networks[0].name), "{record}");
    assert_eq!(out.runtime_left, [format!("{}.record", plan.bottle_id)]);
}

/// Issue 13: a wait polls with one docker call per tick; the container's state is asked
/// only every few polls, or at once when the probe's own answer says it stopped.
#[test]
fn a_wait_polls_with_one_call_per_tick() {
    let docker = Arc::new(FakeDocker::new());
    docker.answer(&Call::new(["run", "--name", "p", "img"]));
    let wait = |timeout_seconds| {
        Step::new(Action::WaitFor {
            probe: DockerCommand::new(["exec", "p", "pipelock", "healthcheck"]),
            container: "p".into(),
            what: "pipelock /health".into(),
            timeout_seconds,
            capture: None,
        })
    };
    let mut plan = a_plan(|_| {});
    plan.launch = vec![Phase::single("wait", vec![wait(30)])];
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let out = launch_with(&plan, &docker, Duration::from_secs(30), move |call, now| {
        if call.args[..2] == ["exec", "p"] && p.fetch_add(1, Ordering::SeqCst) < 12 {
            return Reply::fail("pipelock: health check failed: connection refused");
        }
        now.docker.answer(call)
    });
    assert!(out.result.is_ok(), "{:#?}", out.journal);
    let args = out.args();
    let probes = args.iter().filter(|a| a[0] == "exec").count();
    let inspects = args.iter().filter(|a| a[0] == "inspect").count();
    assert_eq!(probes, 13);
    assert_eq!(inspects, 12 / 5, "{args:#?}");

    // The probe says the container stopped: one probe, one state query, no waiting out
    // the timeout.
    let started = std::time::Instant::now();
    let out = launch(&plan, &docker, |call, now| match call.args[0].as_str() {
        "exec" => Reply::fail("Error response from daemon: Container p is not running"),
        "inspect" => Reply::ok("exited"),
        _ => now.docker.answer(call),
    });
    assert!(started.elapsed() < Duration::from_secs(5));
    let args = out.args();
    assert_eq!(
        args.iter().filter(|a| a[0] == "exec").count(),
        1,
        "{args:#?}"
    );
    assert!(
        out.error()
            .contains("waiting for pipelock /health: container p is exited"),
        "{}",
        out.error()
    );
}

/// Issue 13's fail-closed rule, whatever the order of the plan: the agent's command never
/// starts while a sidecar is not ready: here pipelock never answers /health, then
/// mitmproxy never writes its CA.
#[test]
fn the_agents_command_never_starts_while_a_sidecar_is_not_ready() {
    let plan = a_plan(|_| {});
    for (stuck, why) in [
        // Both pipelocks' probes are stuck: whichever times out first is named.
        ("healthcheck", "pipelock /health: timed out"),
        (
            "bot-bottle-ready",
            "waiting for mitmproxy to listen: timed out",
        ),
    ] {
        let docker = Arc::new(fake());
        let out = launch(&plan, &docker, move |call, now| {
            let probe = call.args[0] == "exec" || call.args[0] == "cp";
            if probe && call.args.iter().any(|a| a.contains(stuck)) {
                return Reply::fail("not ready yet: 503 {\"status\": \"waiting\"}");
            }
            now.docker.answer(call)
        });
        assert!(out.error().contains(why), "{}", out.error());
        assert!(
            !out.calls.iter().any(|(how, _)| *how == How::Attach),
            "the agent's command ran while {stuck} was not ready: {:#?}",
            out.journal
        );
        assert_eq!(docker.world(), fake().world());
    }
}

/// Issue 12: the hook before teardown runs on every exit path, while the containers
/// still exist, and is told how the launch ended.
#[test]
fn the_hook_before_teardown_runs_on_every_exit_path_before_anything_is_removed() {
    let plan = a_plan(|_| {});
    let provision_fails = |call: &Call, now: Now| {
        // The hosts entry: the one provisioning step that waits for mitmproxy.
        if call.args[0] == "exec" && call.args.iter().any(|a| a == "bot-bottle-hosts") {
            return Reply::fail("Error response from daemon: something broke");
        }
        now.docker.answer(call)
    };
    let sigterm_in_attach = |call: &Call, now: Now| {
        let mut reply = now.docker.answer(call);
        if call.args[..2] == ["exec", "--interactive"] && call.stdin.is_none() {
            reply.signal = Some(libc::SIGTERM);
        }
        reply
    };
    let exits_3 = |call: &Call, now: Now| {
        let mut reply = now.docker.answer(call);
        if call.args[..2] == ["exec", "--interactive"] && call.stdin.is_none() {
            reply.code = 3;
        }
        reply
    };
    type Script = fn(&Call, Now) -> Reply;
    type Check = fn(&Ending) -> bool;
    let cases: [(Script, Check); 3] = [
        (
            provision_fails,
            |e| matches!(e, Ending::Failed(m) if m.contains("something broke")),
        ),
        (sigterm_in_attach, |e| *e == Ending::Signal(libc::SIGTERM)),
        (exits_3, |e| *e == Ending::Exited(3)),
    ];
    for (script, ending) in cases {
        let docker = Arc::new(fake());
        let out = launch(&plan, &docker, script);
        let (registered, ended) = out.hook.clone().expect("the hook ran");
        assert!(ending(&ended), "{ended:?}");
        // A failing lane stops its siblings, which may not have registered every undo yet;
        // the failing lane's own (the agent's) and mitmproxy's (whose log the hook reads)
        // are there.
        if matches!(ended, Ending::Failed(_)) {
            assert!(registered.len() >= 5, "{registered:#?}");
            assert!(registered.contains(&Undo::Containers {
                bottle_id: plan.bottle_id.clone(),
                role: Role::Mitmproxy
            }));
        } else {
            assert_eq!(registered.len(), 8, "{registered:#?}");
        }
        let calls = teardown_calls(&out);
        assert_eq!(
            calls[0][0], "rm",
            "the hook ran after a removal: {calls:#?}"
        );
        assert_eq!(docker.world(), fake().world());
    }
}

/// Claude Code's `~/.claude.json` as a user's image might have it.
const IMAGE_CLAUDE_JSON: &str =
    r#"{"numStartups": 3, "projects": {"/srv/x": {"allowedTools": ["Bash"]}}}"#;

/// Answers the read of `~/.claude.json` with `text`, everything else as the fake Docker.
fn image_has_claude_json(text: &'static str) -> impl Fn(&Call, Now) -> Reply + Send + Sync {
    move |call, now| {
        let reads = call
            .args
            .iter()
            .any(|a| a.contains("then cat /home/agent/.claude.json"));
        if reads {
            Reply::ok(text)
        } else {
            now.docker.answer(call)
        }
    }
}

#[test]
fn claude_codes_state_is_merged_into_what_the_image_has() {
    let plan = a_plan(|_| {});
    let out = launch(
        &plan,
        &Arc::new(fake()),
        image_has_claude_json(IMAGE_CLAUDE_JSON),
    );
    assert_eq!(out.code(), 0, "{}", out.journal.join("\n"));
    let written = out
        .calls
        .iter()
        .map(|(_, c)| c)
        .find(|c| {
            c.args
                .iter()
                .any(|a| a.ends_with("cat > /home/agent/.claude.json"))
        })
        .expect("~/.claude.json was written");
    let merged: serde_json::Value =
        serde_json::from_slice(written.stdin.as_ref().expect("the merged JSON on stdin")).unwrap();
    assert_eq!(merged["numStartups"], 3, "{merged}");
    assert_eq!(merged["projects"]["/srv/x"]["allowedTools"][0], "Bash");
    assert_eq!(
        merged["projects"]["/home/agent/work"]["hasTrustDialogAccepted"],
        true
    );
    assert_eq!(merged["hasCompletedOnboarding"], true);
}

#[test]
fn a_claude_json_that_is_not_an_object_fails_the_launch_and_is_left_alone() {
    let plan = a_plan(|_| {});
    let docker = Arc::new(fake());
    let out = launch(&plan, &docker, image_has_claude_json("[\"not an object\"]"));
    assert_eq!(out.code(), exit_code::FAILURE);
    assert!(out.error().contains("~/.claude.json"), "{}", out.error());
    assert!(out.error().contains("not an object"), "{}", out.error());
    assert!(
        !out.calls.iter().any(|(_, c)| c
            .args
            .iter()
            .any(|a| a.ends_with("cat > /home/agent/.claude.json"))),
        "it was overwritten"
    );
    assert_eq!(resources(&docker.world()), (vec![], vec![]));
}
