//! `bottle run AGENT`: plan, check, ask, launch, attach, tear down. Everything the input
//! decides is checked before Docker is asked anything; the values a bottle needs are
//! asked before anything exists (^C at a prompt leaves nothing behind). I/O.

use crate::app::{engine, load_files, trust_command};
use crate::cli::{Cli, RunArgs};
use crate::config::resources::EngineCapacity;
use crate::engine::docker_engine::DockerEngine;
use crate::error::Error;
use crate::host_snapshot::HostSnapshot;
use crate::launch::bottle_ca::BottleCa;
use crate::launch::executor::{self, Ending, LaunchInput};
use crate::launch::host_ports;
use crate::launch::launch_values::LaunchValues;
use crate::launch::supervisor::Restart;
use crate::naming::Role;
use crate::plan::planner;
use crate::plan::planner::MITM_CA_ENV;
use crate::plan::slot::{Slot, SlotValues};
use crate::plan::undo::Undo;
use crate::policy::reapply::after_restart;
use crate::progress::Progress;
use crate::report::exit_report::ExitReporter;
use crate::runtime::launch_record::LaunchRecord;
use crate::runtime::policy_journal::{JOURNAL_VERSION, JournalEntry, LaunchEntry, PolicyJournal};
use crate::runtime::runtime_dir::RuntimeDir;
use crate::signals;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

/// `bottle run`: plans, checks everything the input decides before Docker is asked
/// anything, asks the values the bottle needs, then launches and tears down.
pub(super) fn run(cli: &Cli, args: &RunArgs) -> Result<i32, Error> {
    let mut host = HostSnapshot::capture()?;
    let (catalog, files) = load_files(&host)?;
    // Everything the input decides is checked before Docker is asked anything.
    let plan = planner::plan(&catalog, &args.launch.to_options(), &host)?;
    if let Some(image) = plan.images.all().into_iter().find(|i| !i.is_set()) {
        return Err(Error::usage(image.advice()));
    }
    if let Some(ports) = &plan.ports {
        host_ports::check_free(ports)?;
    }
    let progress = Progress::new(cli.quiet);
    let agent = &catalog.agents[&plan.agent];
    if agent.from_working_dir {
        trust_command::check_working_dir_trust(agent, &catalog, &files, &host, &progress)?;
    }
    let docker = engine(cli.verbose)?;
    // Limits are fitted to (and checked against) what this engine has.
    host.engine = Some(engine_capacity(&docker)?);
    let plan = planner::plan(&catalog, &args.launch.to_options(), &host)?;
    // Asked before anything exists, so ^C at a prompt leaves nothing behind.
    let values = LaunchValues::collect(&plan, &catalog.bottles[&plan.bottle], &host.env)?;
    for name in values.too_short_for_pipelock(&plan) {
        progress.warn(&format!(
            "{name} is shorter than 16 characters: pipelock's environment scan will not recognise it leaving the bottle"
        ));
    }
    let runtime = RuntimeDir::open(&host.env, host.uid)?;
    // The bottle's CA: the agent trusts its certificate from the start, and mitmproxy (by
    // name, like the credentials) signs with its key at every start.
    let ca = BottleCa::generate(&plan.bottle_id)?;
    let mut secrets = values.by_name.clone();
    secrets.insert(MITM_CA_ENV.to_string(), ca.key_and_cert.clone());
    let docker = docker.with_secrets(secrets);
    signals::install(docker.in_flight())?;
    // Before anything exists: the record names everything the launch then creates.
    let record = LaunchRecord::create(&runtime, &plan.bottle_id, &plan.agent, host.uid)?;
    // What `allow-host` renders again from; removed with the record.
    let journal = PolicyJournal::of(&runtime, &plan.bottle_id);
    journal.create(&JournalEntry::Launch(LaunchEntry {
        v: JOURNAL_VERSION,
        bottle_id: plan.bottle_id.clone(),
        agent: plan.agent.clone(),
        bottle: plan.bottle.clone(),
        pipelock: plan.pipelock.container.clone(),
        config_path: plan.pipelock.config_path.clone(),
        config: plan.pipelock.config.render(),
    }))?;
    progress.step(&format!(
        "launching agent `{}` in bottle `{}` (id {})",
        plan.agent, plan.bottle, plan.bottle_id
    ));
    progress.step(&format!(
        "bottle CA {} SHA-256 {}",
        ca.cert.subject, ca.cert.fingerprint
    ));
    let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let env_file_text = values.env_file_text();
    let reporter = ExitReporter {
        plan: &plan,
        progress: &progress,
        file: args.report.clone(),
        journal: Some(&journal),
    };
    let before_teardown =
        |engine: &dyn DockerEngine, registered: &[Undo], ending: &Ending, restarts: &[Restart]| {
            reporter.before_teardown(engine, registered, ending, restarts)
        };
    // A restarted web pipelock or mitmproxy gets the live policy again.
    let after_restart = |engine: &dyn DockerEngine, role: Role| {
        after_restart(engine, &journal, role, &plan.mitmproxy.container)
    };
    let input = LaunchInput {
        env_file_text: &env_file_text,
        slots: SlotValues::default()
            .with(Slot::Tty, if tty { "--tty" } else { "" })
            .with(Slot::CaCertificate, ca.cert.pem.clone()),
        ready_timeout: None,
        record: &record,
        // With -q and no --report nobody reads the summary: no `docker logs` at teardown.
        before_teardown: (!cli.quiet || args.report.is_some()).then_some(&before_teardown),
        after_restart: Some(&after_restart),
    };
    // The URLs are said once their servers answer, whenever that is in the session.
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        if let Some(ports) = &plan.ports {
            s.spawn(|| host_ports::watch(ports, &stop, &progress));
        }
        let ended = executor::run(&plan, input, &docker, &progress);
        stop.store(true, Ordering::Relaxed);
        ended
    })
}

/// The engine's memory and CPUs (`docker info`).
fn engine_capacity(docker: &dyn DockerEngine) -> Result<EngineCapacity, Error> {
    let info = docker.query(&["info", "--format", "{{.MemTotal}} {{.NCPU}}"])?;
    let text = info.stdout_text();
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    match (info.ok(), fields.next(), fields.next()) {
        (true, Some(Ok(memory_bytes)), Some(Ok(cpus))) => Ok(EngineCapacity { memory_bytes, cpus }),
        _ => Err(Error::Failed(anyhow::anyhow!(
            "cannot read the Docker engine's memory and CPUs (`docker info` said {:?}{})",
            text,
            info.stderr.trim()
        ))),
    }
}
