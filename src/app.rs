//! The `bottle` program: parses the command line, reads the host, runs one subcommand and
//! turns its outcome into an exit code. I/O.

use crate::cli::{Cli, Command, RunArgs};
use crate::config::catalog::Catalog;
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
        Command::Info { agent } => {
            let catalog = load_catalog(&HostSnapshot::capture()?)?;
            let agent = catalog.agent(agent)?;
            out_line(catalog_report::info(&catalog, agent).trim_end());
            Ok(exit_code::SUCCESS)
        }
    }
}

fn run_agent(cli: &Cli, args: &RunArgs) -> Result<i32> {
    let host = HostSnapshot::capture()?;
    let catalog = load_catalog(&host)?;
    let plan = planner::plan(&catalog, &args.launch.to_options(), &host)?;
    if let Some(image) = plan.images.all().into_iter().find(|i| !i.is_set()) {
        return Err(UserError::new(image.advice()).into());
    }
    let docker = engine(cli.verbose)?;
    let progress = Progress::new(cli.quiet);
    let agent = &catalog.agents[&plan.agent];
    if agent.from_working_dir {
        progress.warn(&format!(
            "agent `{}` is defined by {} (the working directory's manifest), in bottle `{}`",
            agent.name, agent.source, plan.bottle
        ));
    }
    // Asked before anything exists, so ^C at a prompt leaves nothing behind.
    let values = LaunchValues::collect(&plan, &catalog.bottles[&plan.bottle], &host.env)?;
    for name in values.too_short_for_pipelock(&plan) {
        progress.warn(&format!(
            "{name} is shorter than 16 characters: pipelock's environment scan will not recognise it leaving the bottle"
        ));
    }
    let runtime = RuntimeDir::open(&host.env, host.uid)?;
    let docker = docker.with_secrets(values.forwarded.clone());
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
        before_teardown: Some(&before_teardown),
    };
    executor::run(&plan, input, &docker, &progress)
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
    let files = manifest_files::read(&host.env, &host.home, &host.cwd)?;
    Catalog::load(&files, &host.skills).map_err(|e| UserError::new(e.to_string()).into())
}
