//! The `bottle` program: parses the command line, reads the host, runs one subcommand and
//! turns its outcome into an exit code. [`main`] is the one place an error is printed
//! (`bottle: error: …`) and mapped to its exit code ([`Error::exit_code`]). `bottle run`
//! is in [`run_command`], `bottle allow` and the trust prompt in [`trust_command`],
//! `allow-host`/`deny-host` in [`policy_command`]; the
//! other commands live with what they show (`images`, `logs`, `cleanup`). I/O.

mod policy_command;
mod run_command;
mod trust_command;

use crate::cli::{Cli, Command, PlanArgs};
use crate::config::catalog::{Catalog, ManifestText};
use crate::config::{catalog_report, manifest_files};
use crate::engine::docker_cli::DockerCli;
use crate::engine::docker_engine::DockerEngine;
use crate::error::Error;
use crate::exit_code;
use crate::host_snapshot::{self, HostSnapshot};
use crate::image::images_command;
use crate::plan::{plan_report, planner};
use crate::policy::live_policy::{Approval, LivePolicy};
use crate::progress::{err_line, out_line};
use crate::report::logs_command::{self, LogsRequest};
use crate::resources::cleanup;
use crate::resources::inventory::Inventory;
use crate::runtime::policy_journal::{ChangeKind, PolicyJournal};
use crate::runtime::runtime_dir::RuntimeDir;
use clap::Parser;
use std::collections::BTreeMap;

/// Parses the command line, runs it, and returns the process's exit code. Command-line
/// usage errors are clap's: it prints them and exits 2 itself.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            err_line(&format!("bottle: error: {err}"));
            err.exit_code()
        }
    }
}

fn run(cli: Cli) -> Result<i32, Error> {
    match &cli.command {
        // Needs neither a manifest nor a home (the Nix sandbox runs `images verify`).
        Command::Images { command } => images_command::run(
            command,
            &host_snapshot::env_vars(),
            &DockerCli::new(cli.verbose),
        ),
        Command::Ls => {
            let inventory = Inventory::read(&engine(cli.verbose)?, None)?;
            let live = live_approvals(&host_snapshot::env_vars());
            let live = live
                .into_iter()
                .map(|(id, (_, approvals))| (id, approvals.into_iter().map(|a| a.host).collect()))
                .collect();
            out_line(inventory.table(&live).trim_end());
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
        Command::Run(args) => run_command::run(&cli, args),
        Command::Logs {
            target,
            follow,
            json,
            blocked,
        } => logs(
            &engine(cli.verbose)?,
            &LogsRequest {
                target: target.clone(),
                follow: *follow,
                json: *json,
                blocked: *blocked,
            },
        ),
        Command::AllowHost {
            target,
            hosts,
            persist,
        } => policy_command::run(&policy_command::HostChange {
            target,
            hosts,
            kind: ChangeKind::Added,
            persist: *persist,
            verbose: cli.verbose,
        }),
        Command::DenyHost { target, hosts } => policy_command::run(&policy_command::HostChange {
            target,
            hosts,
            kind: ChangeKind::Removed,
            persist: false,
            verbose: cli.verbose,
        }),
        Command::Plan(args) => plan(args),
        Command::Agents => {
            let catalog = load_catalog(&HostSnapshot::capture()?)?;
            out_line(catalog_report::agents(&catalog).trim_end());
            Ok(exit_code::SUCCESS)
        }
        Command::Allow { file, revoke } => {
            trust_command::allow(&HostSnapshot::capture()?, file.as_deref(), *revoke)
        }
        Command::Info { agent } => {
            let catalog = load_catalog(&HostSnapshot::capture()?)?;
            let agent = catalog.agent(agent)?;
            out_line(catalog_report::info(&catalog, agent).trim_end());
            let running = live_approvals(&host_snapshot::env_vars());
            for (id, (_, approvals)) in running.iter().filter(|(_, (a, _))| *a == agent.name) {
                out_line(&format!(
                    "running bottle {id}: live approvals (bottle allow-host): {}",
                    if approvals.is_empty() {
                        "none".to_string()
                    } else {
                        approvals
                            .iter()
                            .map(|a| format!("{} (since {})", a.host, a.at))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ));
            }
            Ok(exit_code::SUCCESS)
        }
    }
}

/// `bottle logs`: a name that is not running says whether it is an agent of the user's
/// manifest (when one can be read).
fn logs(docker: &DockerCli, request: &LogsRequest) -> Result<i32, Error> {
    let catalog = HostSnapshot::capture()
        .ok()
        .and_then(|host| load_catalog(&host).ok());
    let is_agent = |name: &str| {
        catalog
            .as_ref()
            .is_some_and(|c| c.agents.contains_key(name))
    };
    let dir = RuntimeDir::open(&host_snapshot::env_vars(), host_snapshot::uid()).ok();
    logs_command::run(
        docker,
        request,
        &is_agent,
        dir.as_ref(),
        &mut std::io::stdout(),
    )
}

/// `bottle plan`: without Docker.
fn plan(args: &PlanArgs) -> Result<i32, Error> {
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

/// The agent and live approvals (`bottle allow-host`) of this user's bottles, by bottle
/// id, from their policy journals (none when the runtime directory cannot be opened).
fn live_approvals(env: &BTreeMap<String, String>) -> BTreeMap<String, (String, Vec<Approval>)> {
    let Ok(dir) = RuntimeDir::open(env, host_snapshot::uid()) else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for id in dir.bottle_ids().unwrap_or_default() {
        if let Ok(Some(journal)) = PolicyJournal::of(&dir, &id).read()
            && let Ok(live) = LivePolicy::of(&journal)
        {
            out.insert(id, (journal.launch.agent.clone(), live.approvals()));
        }
    }
    out
}

/// A Docker client whose engine answers, or a clear error.
fn engine(verbose: bool) -> Result<DockerCli, Error> {
    let docker = DockerCli::new(verbose);
    if !docker.available() {
        return Err(Error::Failed(anyhow::anyhow!(
            "no Docker engine answers (`docker version` failed): start Docker, or point DOCKER_HOST at an engine"
        )));
    }
    Ok(docker)
}

fn load_catalog(host: &HostSnapshot) -> Result<Catalog, Error> {
    Ok(load_files(host)?.0)
}

/// The catalog and the files it came from.
fn load_files(host: &HostSnapshot) -> Result<(Catalog, Vec<ManifestText>), Error> {
    let files = manifest_files::read(&host.env, &host.home, &host.cwd)?;
    let catalog = Catalog::load(&files, &host.skills)?;
    Ok((catalog, files))
}
