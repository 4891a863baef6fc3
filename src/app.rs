//! The `bottle` program: parses the command line, reads the host, runs one subcommand and
//! turns its outcome into an exit code. I/O.

use crate::cli::{Cli, Command, RunArgs};
use crate::config::catalog::{Agent, Catalog, ManifestOrigin, ManifestText};
use crate::config::resources::EngineCapacity;
use crate::config::trust::{self, Trust};
use crate::config::{catalog_report, manifest_files};
use crate::engine::docker_cli::DockerCli;
use crate::engine::docker_engine::DockerEngine;
use crate::exit_code::{self, UserError};
use crate::host_snapshot::{self, HostSnapshot};
use crate::image::images_command;
use crate::launch::executor::{self, Ending, LaunchInput};
use crate::launch::launch_values::LaunchValues;
use crate::plan::slot::{Slot, SlotValues};
use crate::plan::undo::Undo;
use crate::plan::{plan_report, planner};
use crate::progress::{Progress, err_line, out_line};
use crate::report::exit_report::ExitReporter;
use crate::report::logs_command::{self, LogsRequest};
use crate::resources::cleanup;
use crate::resources::inventory::Inventory;
use crate::runtime::launch_record::LaunchRecord;
use crate::runtime::runtime_dir::RuntimeDir;
use crate::signals;
use anyhow::Result;
use clap::Parser;
use std::io::IsTerminal;

/// Parses the command line, runs it, and returns the process's exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            err_line(&format!("bottle: error: {err:#}"));
            exit_code::for_error(&err)
        }
    }
}

fn run(cli: Cli) -> Result<i32> {
    match &cli.command {
        // Needs neither a manifest nor a home (the Nix sandbox runs `images verify`).
        Command::Images { command } => images_command::run(
            command,
            &host_snapshot::env_vars(),
            &DockerCli::new(cli.verbose),
        ),
        Command::Ls => {
            out_line(
                Inventory::read(&engine(cli.verbose)?, None)?
                    .table()
                    .trim_end(),
            );
            Ok(exit_code::SUCCESS)
        }
        Command::Cleanup {
            target,
            yes,
            all_users,
        } => {
            let uid = host_snapshot::uid();
            let dir = RuntimeDir::open(&host_snapshot::env_vars(), uid)?;
            let uid = (!all_users).then_some(uid);
            cleanup::run(&engine(cli.verbose)?, *yes, uid, target.as_deref(), &dir)
        }
        Command::Run(args) => run_agent(&cli, args),
        Command::Logs {
            target,
            follow,
            json,
            blocked,
        } => {
            let docker = engine(cli.verbose)?;
            let catalog = HostSnapshot::capture()
                .ok()
                .and_then(|host| load_catalog(&host).ok());
            let is_agent = |name: &str| {
                catalog
                    .as_ref()
                    .is_some_and(|c| c.agents.contains_key(name))
            };
            let request = LogsRequest {
                target: target.clone(),
                follow: *follow,
                json: *json,
                blocked: *blocked,
            };
            logs_command::run(&docker, &request, &is_agent, &mut std::io::stdout())
        }
        Command::Plan(args) => {
            let host = HostSnapshot::capture()?;
            let catalog = load_catalog(&host)?;
            let plan = planner::plan(&catalog, &args.launch.to_options(), &host)?;
            if args.json {
                out_line(&serde_json::to_string_pretty(&plan)?);
            } else {
                out_line(plan_report::render(&plan).trim_end());
            }
            Ok(exit_code::SUCCESS)
        }
        Command::Agents => {
            let catalog = load_catalog(&HostSnapshot::capture()?)?;
            out_line(catalog_report::agents(&catalog).trim_end());
            Ok(exit_code::SUCCESS)
        }
        Command::Allow { file, revoke } => {
            allow(&HostSnapshot::capture()?, file.as_deref(), *revoke)
        }
        Command::Info { agent } => {
            let catalog = load_catalog(&HostSnapshot::capture()?)?;
            let agent = catalog.agent(agent)?;
            out_line(catalog_report::info(&catalog, agent).trim_end());
            Ok(exit_code::SUCCESS)
        }
    }
}

fn run_agent(cli: &Cli, args: &RunArgs) -> Result<i32> {
    let mut host = HostSnapshot::capture()?;
    let (catalog, files) = load_files(&host)?;
    // Everything the input decides is checked before Docker is asked anything.
    let plan = planner::plan(&catalog, &args.launch.to_options(), &host)?;
    if let Some(image) = plan.images.all().into_iter().find(|i| !i.is_set()) {
        return Err(UserError::new(image.advice()).into());
    }
    let progress = Progress::new(cli.quiet);
    let agent = &catalog.agents[&plan.agent];
    if agent.from_working_dir {
        check_working_dir_trust(agent, &catalog, &files, &host, &progress)?;
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
    let docker = docker.with_secrets(values.by_name.clone());
    signals::install(docker.in_flight())?;
    // Before anything exists: the record names everything the launch then creates.
    let record = LaunchRecord::create(&runtime, &plan.bottle_id, &plan.agent, host.uid)?;
    progress.step(&format!(
        "launching agent `{}` in bottle `{}` (id {})",
        plan.agent, plan.bottle, plan.bottle_id
    ));
    let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let env_file_text = values.env_file_text();
    let reporter = ExitReporter {
        plan: &plan,
        progress: &progress,
        file: args.report.clone(),
    };
    let before_teardown = |engine: &dyn DockerEngine, registered: &[Undo], ending: &Ending| {
        reporter.before_teardown(engine, registered, ending)
    };
    let input = LaunchInput {
        env_file_text: &env_file_text,
        slots: SlotValues::default().with(Slot::Tty, if tty { "--tty" } else { "" }),
        ready_timeout: None,
        record: &record,
        // With -q and no --report nobody reads the summary: no `docker logs` at teardown.
        before_teardown: (!cli.quiet || args.report.is_some()).then_some(&before_teardown),
    };
    executor::run(&plan, input, &docker, &progress)
}

/// The engine's memory and CPUs (`docker info`).
fn engine_capacity(docker: &dyn DockerEngine) -> Result<EngineCapacity> {
    let info = docker.query(&["info", "--format", "{{.MemTotal}} {{.NCPU}}"])?;
    let text = info.stdout_text();
    let mut fields = text.split_whitespace().map(str::parse::<u64>);
    match (info.ok(), fields.next(), fields.next()) {
        (true, Some(Ok(memory_bytes)), Some(Ok(cpus))) => Ok(EngineCapacity { memory_bytes, cpus }),
        _ => anyhow::bail!(
            "cannot read the Docker engine's memory and CPUs (`docker info` said {:?}{})",
            text,
            info.stderr.trim()
        ),
    }
}

/// A Docker client whose engine answers, or a clear error.
fn engine(verbose: bool) -> Result<DockerCli> {
    let docker = DockerCli::new(verbose);
    if !docker.available() {
        anyhow::bail!(
            "no Docker engine answers (`docker version` failed): start Docker, or point DOCKER_HOST at an engine"
        );
    }
    Ok(docker)
}

fn load_catalog(host: &HostSnapshot) -> Result<Catalog> {
    Ok(load_files(host)?.0)
}

/// The catalog and the files it came from.
fn load_files(host: &HostSnapshot) -> Result<(Catalog, Vec<ManifestText>)> {
    let files = manifest_files::read(&host.env, &host.home, &host.cwd)?;
    let catalog = Catalog::load(&files, &host.skills).map_err(|e| UserError::new(e.to_string()))?;
    Ok((catalog, files))
}

/// An agent from the working directory's manifest runs only once the user has allowed
/// that file as it is now: asked on a terminal, an error naming `bottle allow` elsewhere.
fn check_working_dir_trust(
    agent: &Agent,
    catalog: &Catalog,
    files: &[ManifestText],
    host: &HostSnapshot,
    progress: &Progress,
) -> Result<()> {
    let Some(file) = files
        .iter()
        .find(|f| matches!(f.origin, ManifestOrigin::WorkingDir(_)))
    else {
        return Ok(());
    };
    // By its real path, as `bottle allow` records it.
    let path = std::fs::canonicalize(file.origin.label())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| file.origin.label().to_string());
    let store_path = trust::store_path(&host.env, &host.home);
    let mut store = trust::load(&store_path)?;
    let state = store.check(&path, &file.text);
    if state == Trust::Allowed {
        progress.warn(&format!(
            "agent `{}` is defined by {path} (the working directory's manifest, allowed by you)",
            agent.name
        ));
        return Ok(());
    }
    let why = match state {
        Trust::Changed => "has changed since you allowed it",
        _ => "is not allowed yet",
    };
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive {
        return Err(UserError::new(format!(
            "agent `{}` comes from {path}, which {why}: a repository's manifest chooses what its agents run. Read it, then allow it with `bottle allow {path}` (nothing was started)",
            agent.name
        ))
        .into());
    }
    let agents = catalog.working_dir_agents();
    let question = format!(
        "bottle: {path} {why}. It defines:\n{}bottle: allow it (sha256 {})? [y/N] ",
        trust::summary(agents),
        &trust::digest(&file.text)[..16]
    );
    let _ = std::io::Write::write_all(&mut std::io::stderr(), question.as_bytes());
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        return Err(UserError::new(format!("{path} was not allowed; nothing was started")).into());
    }
    store.allow(&path, &file.text);
    trust::save(&store_path, &store)?;
    progress.warn(&format!("allowed {path}"));
    Ok(())
}

/// `bottle allow [FILE] [--revoke]`.
fn allow(host: &HostSnapshot, file: Option<&std::path::Path>, revoke: bool) -> Result<i32> {
    let given = file
        .map(|f| host.cwd.join(f))
        .unwrap_or_else(|| host.cwd.join(manifest_files::FILE_NAME));
    let store_path = trust::store_path(&host.env, &host.home);
    let mut store = trust::load(&store_path)?;
    if revoke {
        let path = std::fs::canonicalize(&given).unwrap_or(given);
        let label = path.display().to_string();
        if store.revoke(&label) {
            trust::save(&store_path, &store)?;
            out_line(&format!(
                "revoked {label}: its agents will not run until allowed again"
            ));
        } else {
            out_line(&format!("{label} was not allowed; nothing to revoke"));
        }
        return Ok(exit_code::SUCCESS);
    }
    let path = std::fs::canonicalize(&given).map_err(|e| {
        UserError::new(format!(
            "{}: cannot read the manifest: {e}",
            given.display()
        ))
    })?;
    let text = std::fs::read_to_string(&path).map_err(|e| {
        UserError::new(format!("{}: cannot read the manifest: {e}", path.display()))
    })?;
    let label = path.display().to_string();
    // Allowing means running its agents: the file must be a valid working-directory
    // manifest, checked exactly as a launch would.
    // With the user's own file: its agents may name the user's bottles.
    let mut files: Vec<ManifestText> = manifest_files::read(&host.env, &host.home, &host.cwd)?
        .into_iter()
        .filter(|f| matches!(f.origin, ManifestOrigin::User(_)))
        .collect();
    files.push(ManifestText {
        origin: ManifestOrigin::WorkingDir(label.clone()),
        text: text.clone(),
    });
    let catalog = Catalog::load(&files, &host.skills).map_err(|e| UserError::new(e.to_string()))?;
    let agents = catalog.working_dir_agents();
    store.allow(&label, &text);
    trust::save(&store_path, &store)?;
    out_line(&format!(
        "allowed {label} (sha256 {}); its agents:\n{}",
        &trust::digest(&text)[..16],
        trust::summary(agents).trim_end()
    ));
    Ok(exit_code::SUCCESS)
}
