//! The executor, the undo stack and the undoer against the scripted engine and a fake
//! Docker: no engine needed, so these run in every `cargo test`, the Nix build's included.

use crate::config::catalog::{Catalog, ManifestOrigin, ManifestText, SkillIndex};
use crate::engine::call::{Call, Mode};
use crate::engine::scripted_engine::{How, Reply, ScriptedEngine};
use crate::exit_code;
use crate::host_snapshot::HostSnapshot;
use crate::launch::executor::{LaunchInput, run};
use crate::launch::fake_docker::{FakeDocker, World};
use crate::launch::undo_stack::UndoStack;
use crate::launch::undoer::{Batching, Undoer};
use crate::plan::bottle_plan::BottlePlan;
use crate::plan::docker_command::{DockerCommand, Stdin};
use crate::plan::phase::{Lane, Phase, check_slots};
use crate::plan::planner::plan;
use crate::plan::planner::plan_options::PlanOptions;
use crate::plan::role::Role;
use crate::plan::slot::{Slot, SlotValues};
use crate::plan::step::{Action, Capture, Step};
use crate::plan::undo::Undo;
use crate::progress::{Journal, Progress};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

const IMAGES: [&str; 3] = ["agent:test", "pipelock:test", "mitmproxy:test"];

/// A bottle with a literal (env-file), a prompt and a skill: every kind of step.
const MANIFEST: &str = r#"{
  "bottles": { "dev": { "env": { "LOG_LEVEL": "debug" } } },
  "agents": { "dev": { "bottle": "dev", "prompt": "Fix it.", "skills": ["review"] } }
}"#;

/// A real home (with the skill) and working directory: provisioning reads them.
fn dirs() -> (&'static Path, &'static Path) {
    static DIRS: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    let (_, home, cwd) = DIRS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let cwd = dir.path().join("project");
        std::fs::create_dir_all(home.join(".claude/skills/review")).unwrap();
        std::fs::write(home.join(".claude/skills/review/SKILL.md"), "# review\n").unwrap();
        std::fs::create_dir_all(cwd.join(".git")).unwrap();
        std::fs::write(cwd.join("main.rs"), "fn main() {}\n").unwrap();
        (dir, home, cwd)
    });
    (home, cwd)
}

fn host() -> HostSnapshot {
    let (home, cwd) = dirs();
    HostSnapshot {
        env: BTreeMap::new(),
        cwd: cwd.to_path_buf(),
        uid: 1000,
        gid: 1000,
        home: home.to_path_buf(),
        launch_id: "0123456789abcdef".into(),
        skills: SkillIndex {
            dir: home.join(".claude/skills").display().to_string(),
            names: BTreeSet::from(["review".to_string()]),
        },
        engine: None,
    }
}

fn a_plan(change: impl FnOnce(&mut PlanOptions)) -> BottlePlan {
    let host = host();
    let files = [ManifestText {
        origin: ManifestOrigin::User("/home/user/.config/bot-bottle/bot-bottle.json".into()),
        text: MANIFEST.into(),
    }];
    let catalog = Catalog::load(&files, &host.skills).unwrap();
    let mut options = PlanOptions {
        agent: "dev".into(),
        agent_image: Some(IMAGES[0].into()),
        pipelock_image: Some(IMAGES[1].into()),
        mitmproxy_image: Some(IMAGES[2].into()),
        ..PlanOptions::default()
    };
    change(&mut options);
    plan(&catalog, &options, &host).unwrap()
}

fn fake() -> FakeDocker {
    IMAGES.iter().fold(FakeDocker::new(), |f, i| f.image(i))
}

/// What a launch did.
struct Outcome {
    result: anyhow::Result<i32>,
    calls: Vec<(How, Call)>,
    /// Progress lines (`bottle: …`) and calls (`+ docker …`), in order.
    journal: Vec<String>,
}

impl Outcome {
    fn code(&self) -> i32 {
        match &self.result {
            Ok(code) => *code,
            Err(e) => exit_code::for_error(e),
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
}

/// Launches `plan` on `docker`, each call answered by `script`.
fn launch(
    plan: &BottlePlan,
    docker: &Arc<FakeDocker>,
    script: impl Fn(&Call, Now) -> Reply + Send + Sync + 'static,
) -> Outcome {
    let journal: Journal = Arc::new(Mutex::new(Vec::new()));
    let counter = AtomicUsize::new(0);
    let fake = docker.clone();
    let seen = journal.clone();
    let engine = ScriptedEngine::new(journal.clone(), move |call| {
        let now = Now {
            n: counter.fetch_add(1, Ordering::SeqCst),
            docker: &fake,
            journal: seen.lock().unwrap().clone(),
        };
        script(call, now)
    });
    let progress = Progress::recording(journal.clone());
    let input = LaunchInput {
        env_file_text: "LOG_LEVEL=debug\n",
        slots: SlotValues::default().with(Slot::Tty, ""),
        ready_timeout: Some(Duration::from_millis(300)),
    };
    let result = run(plan, input, &engine, &progress);
    let journal = journal.lock().unwrap().clone();
    Outcome {
        result,
        calls: engine.calls(),
        journal,
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
        .with(Slot::CaCertificate, "-");
    let ran = out.args();
    for lane in plan.launch.iter().flat_map(|p| p.lanes.iter()) {
        let mut from = 0;
        for step in &lane.steps {
            let cmd = match &step.action {
                Action::Run { command } | Action::Attach { command } => command,
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
        teardown.starts_with("bottle: [4/4] teardown: 7 of 7 undo step(s) done"),
        "{teardown}"
    );
    // The CA went in as the provision step's stdin, and its fingerprint was shown.
    let ca_in = out
        .calls
        .iter()
        .find(|(_, c)| c.args[0] == "exec" && c.args.iter().any(|a| a.contains("mitm-ca.pem")))
        .unwrap();
    assert!(
        String::from_utf8_lossy(ca_in.1.stdin.as_ref().unwrap())
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert!(
        out.journal
            .iter()
            .any(|l| l.contains("bottle CA ") && l.contains("SHA-256 "))
    );
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
    // Lanes run at the same time, so a create is known by what it names, not by when.
    fn creates(a: &[String]) -> Option<String> {
        match a[0].as_str() {
            "create" | "run" => a
                .windows(2)
                .find(|w| w[0] == "--name")
                .map(|w| w[1].clone()),
            "network" if a[1] == "create" => a.last().cloned(),
            _ => None,
        }
    }
    let creating: Vec<String> = clean.args().iter().filter_map(|a| creates(a)).collect();
    assert_eq!(creating.len(), 6, "3 networks, 2 sidecars, agent");
    for target in creating {
        let docker = Arc::new(fake());
        let before = docker.world();
        let failing = target.clone();
        let out = launch(&plan, &docker, move |call, now| {
            let reply = now.docker.answer(call);
            if creates(&call.args).as_deref() == Some(failing.as_str()) {
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
    let plan = a_plan(|o| o.cwd = true);
    let clean = launch(&plan, &Arc::new(fake()), plain);
    let before_teardown = clean
        .calls
        .iter()
        .position(|(how, _)| *how == How::Attach)
        .unwrap()
        + 1;
    assert!(before_teardown > 18, "{before_teardown}");
    for target in 0..before_teardown {
        let docker = Arc::new(fake().foreign_container("someone-elses"));
        let before = docker.world();
        let failing: Arc<Mutex<Option<Vec<String>>>> = Arc::default();
        let out = launch(&plan, &docker, move |call, now| {
            let mut failing = failing.lock().unwrap();
            if now.n == target {
                *failing = Some(call.args.clone());
            }
            if failing.as_ref() == Some(&call.args) {
                Reply::fail("Error response from daemon: something broke")
            } else {
                now.docker.answer(call)
            }
        });
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

#[test]
fn teardown_runs_every_undo_newest_first_and_a_failure_does_not_stop_the_rest() {
    let docker = Arc::new(fake());
    for net in ["n1", "n2", "n3"] {
        docker.answer(&Call::new(["network", "create", net]));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("env");
    std::fs::write(&file, "x").unwrap();
    let journal: Journal = Arc::new(Mutex::new(Vec::new()));
    let fake = docker.clone();
    let engine = ScriptedEngine::new(journal, move |call| {
        if call.args.contains(&"n2".to_string()) {
            Reply::fail("Error response from daemon: permission denied")
        } else {
            fake.answer(call)
        }
    });
    let stack = UndoStack::default();
    stack.push(Undo::Network { name: "n1".into() });
    stack.push(Undo::File {
        path: crate::plan::docker_command::Arg::Lit(file.display().to_string()),
    });
    stack.push(Undo::Network { name: "n2".into() });
    stack.push(Undo::Network { name: "n3".into() });
    let reports = stack.run_all(&engine, &SlotValues::default());
    assert!(
        stack.run_all(&engine, &SlotValues::default()).is_empty(),
        "run_all empties the stack"
    );
    let failed: Vec<&Undo> = reports
        .iter()
        .filter(|r| r.result.is_err())
        .map(|r| &r.undo)
        .collect();
    assert_eq!(failed, [&Undo::Network { name: "n2".into() }]);
    assert_eq!(
        docker.removed(),
        ["network n3", "network n1"],
        "newest first, past the failure"
    );
    assert!(!file.exists());
    let undone: Vec<&Undo> = reports.iter().map(|r| &r.undo).collect();
    assert_eq!(
        undone,
        [
            &Undo::Network { name: "n3".into() },
            &Undo::Network { name: "n2".into() },
            &Undo::File {
                path: crate::plan::docker_command::Arg::Lit(file.display().to_string())
            },
            &Undo::Network { name: "n1".into() },
        ]
    );
}

/// Issue 13's teardown in one round: undos of one kind batched into one docker command,
/// each undo still reported with what it removed.
#[test]
fn batched_undos_share_one_command_and_report_each_resource() {
    let plan = a_plan(|_| {});
    let docker = Arc::new(fake());
    // Leave a whole bottle behind: SIGKILL after attach, as it were.
    let journal: Journal = Arc::new(Mutex::new(Vec::new()));
    let fake_for_script = docker.clone();
    let engine = ScriptedEngine::new(journal, move |call| fake_for_script.answer(call));
    for step in plan.launch.iter().flat_map(|p| p.steps()) {
        let known = plan
            .planned_slots()
            .with(Slot::Tty, "")
            .with(Slot::EnvFile, "/nonexistent")
            .with(Slot::MitmHostEntry, "m:172.30.0.2")
            .with(Slot::CaCertificate, "pem");
        let cmd = match &step.action {
            Action::Run { command } => command,
            Action::RunAgent { run, .. } => run,
            _ => continue,
        };
        docker.answer(&Call::new(cmd.argv(&known).unwrap()));
    }
    assert_eq!(docker.world().containers.len(), 3);
    let undos: Vec<Undo> = plan.teardown().into_iter().cloned().collect();
    let slots = SlotValues::default();
    let reports = Undoer {
        engine: &engine,
        slots: &slots,
    }
    .run(undos, Batching::ByKind);
    let calls: Vec<Vec<String>> = engine.calls().into_iter().map(|(_, c)| c.args).collect();
    let rm: Vec<&Vec<String>> = calls.iter().filter(|a| a[0] == "rm").collect();
    let net_rm: Vec<&Vec<String>> = calls
        .iter()
        .filter(|a| a[..2] == ["network", "rm"])
        .collect();
    assert_eq!((rm.len(), net_rm.len()), (1, 1), "{calls:#?}");
    assert_eq!(rm[0].len(), 3 + 3, "three containers in one `docker rm`");
    assert_eq!(
        net_rm[0].len(),
        2 + 3,
        "three networks in one `docker network rm`"
    );
    assert!(docker.world().containers.is_empty() && docker.world().networks.is_empty());
    let removed: Vec<(String, Option<Role>)> = reports
        .iter()
        .flat_map(|r| r.result.as_ref().unwrap().iter())
        .map(|r| (r.name.clone(), r.role))
        .collect();
    assert_eq!(removed.len(), 6, "{removed:#?}");
    assert_eq!(
        removed[0],
        (plan.agent_container.name.clone(), Some(Role::Agent))
    );
    assert_eq!(reports.len(), plan.teardown().len(), "one report per undo");
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
                    DockerCommand::new(["exec", "--interactive", "a", "install-ca"]).stdin(
                        Stdin::Slot {
                            slot: Slot::CaCertificate,
                        },
                    ),
                )],
            },
            Lane {
                name: "producer".into(),
                steps: vec![Step::new(Action::WaitFor {
                    probe: DockerCommand::new(["exec", "m", "cat", "/mitmproxy-ca-cert.pem"]),
                    container: "m".into(),
                    what: "the CA".into(),
                    timeout_seconds: 10,
                    capture: Some(Capture::CaCertificate),
                })],
            },
        ],
    }];
    let mut plan = a_plan(|_| {});
    plan.launch = phases;
    let p = polls.clone();
    let out = launch(&plan, &docker, move |call, now| {
        if call.args[2] == "cat" && p.fetch_add(1, Ordering::SeqCst) < 3 {
            return Reply::fail("cat: /mitmproxy-ca-cert.pem: No such file or directory");
        }
        now.docker.answer(call)
    });
    assert_eq!(out.code(), 0, "{:#?}", out.journal);
    let args = out.args();
    let reads = |a: &&Vec<String>| a[0] == "exec" && a[2] == "cat";
    let install = args.iter().position(|a| a[3] == "install-ca").unwrap();
    let last_read = args.iter().rposition(|a| reads(&a)).unwrap();
    assert!(last_read < install, "{args:#?}");
    assert_eq!(args.iter().filter(reads).count(), 4);
    let stdin = out.calls[install].1.stdin.clone().unwrap();
    assert!(
        String::from_utf8(stdin)
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
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
                steps: vec![Step::run(DockerCommand::new(["exec", "a", "x"]).stdin(
                    Stdin::Slot {
                        slot: Slot::CaCertificate,
                    },
                ))],
            },
            Lane {
                name: "failing".into(),
                steps: vec![
                    Step::run(DockerCommand::new(["start", "nothing-here"])),
                    Step::new(Action::WaitFor {
                        probe: DockerCommand::new(["cp", "m:/ca.pem", "-"]),
                        container: "m".into(),
                        what: "the CA".into(),
                        timeout_seconds: 10,
                        capture: Some(Capture::CaCertificate),
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

#[test]
fn every_planned_slot_is_filled_before_it_is_needed() {
    for change in [
        (|_: &mut PlanOptions| {}) as fn(&mut PlanOptions),
        |o| o.cwd = true,
        |o| o.name = Some("pinned".into()),
        |o| o.command = vec!["bash".into()],
    ] {
        let plan = a_plan(change);
        check_slots(&plan.launch, &crate::plan::planner::INITIAL_SLOTS).unwrap();
    }
    let mut plan = a_plan(|_| {});
    // Provisioning before the agent runs.
    let agent = plan.launch[1]
        .lanes
        .iter_mut()
        .find(|l| l.name == "agent")
        .unwrap();
    let run = agent
        .steps
        .iter()
        .position(|s| matches!(s.action, Action::RunAgent { .. }))
        .unwrap();
    let moved = agent.steps.remove(run);
    agent.steps.push(moved);
    let err = check_slots(&plan.launch, &crate::plan::planner::INITIAL_SLOTS).unwrap_err();
    assert!(err.contains("<agent-name>"), "{err}");
}
