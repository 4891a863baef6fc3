//! `bottle`: parses the command line, captures the host, and runs one subcommand. I/O.

use anyhow::Result;
use bot_bottle::catalog::Catalog;
use bot_bottle::cli::{Cli, Command};
use bot_bottle::docker::Docker;
use bot_bottle::exit_code::{self, UserError};
use bot_bottle::host_snapshot::HostSnapshot;
use bot_bottle::inventory::Inventory;
use bot_bottle::progress::Progress;
use bot_bottle::secrets::LaunchValues;
use bot_bottle::{
    catalog_report, cleanup, images_cli, launch, manifest_files, plan_report, planner, signals,
};
use clap::Parser;
use std::io::Write;

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("bottle: error: {err:#}");
            exit_code::for_error(&err)
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> Result<i32> {
    // Needs neither a manifest nor a home (the Nix sandbox runs `images verify`).
    if let Command::Images { command } = &cli.command {
        let env: std::collections::BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        return images_cli::run(command, &env, &Docker::new(cli.verbose));
    }
    let host = HostSnapshot::capture()?;
    match cli.command {
        Command::Ls => {
            let docker = engine(cli.verbose)?;
            print!("{}", Inventory::read(&docker)?.table());
            return Ok(exit_code::SUCCESS);
        }
        Command::Cleanup { yes } => return cleanup::run(&engine(cli.verbose)?, yes),
        _ => {}
    }
    let catalog = load_catalog(&host)?;
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Ls | Command::Cleanup { .. } | Command::Images { .. } => {
            unreachable!("handled above")
        }
        Command::Run(args) => {
            let plan = planner::plan(&catalog, &args.to_options(), &host)?;
            for image in [
                &plan.images.agent,
                &plan.images.pipelock,
                &plan.images.mitmproxy,
            ] {
                if !image.is_set() {
                    return Err(UserError::new(image.advice()).into());
                }
            }
            let bottle = &catalog.bottles[&plan.bottle];
            // Asked before anything exists, so ^C at a prompt leaves nothing behind.
            let values = LaunchValues::collect(&plan, bottle, &host.env)?;
            let docker = engine(cli.verbose)?.with_secrets(values.forwarded.clone());
            signals::install(docker.in_flight.clone())?;
            let progress = Progress::new(cli.quiet);
            progress.step(&format!(
                "launching agent `{}` in bottle `{}` (id {})",
                plan.agent, plan.bottle, plan.bottle_id
            ));
            return launch::run(&plan, &values, &docker, &progress);
        }
        Command::Plan(args) => {
            let plan = planner::plan(&catalog, &args.launch.to_options(), &host)?;
            if args.json {
                serde_json::to_writer_pretty(&mut stdout, &plan)?;
                writeln!(stdout)?;
            } else {
                write!(stdout, "{}", plan_report::render(&plan))?;
            }
        }
        Command::Agents => write!(stdout, "{}", catalog_report::agents(&catalog))?,
        Command::Info { agent } => {
            let agent = catalog.agent(&agent)?;
            write!(stdout, "{}", catalog_report::info(&catalog, agent))?;
        }
    }
    Ok(exit_code::SUCCESS)
}

/// A Docker client whose engine answers, or a clear error.
fn engine(verbose: bool) -> Result<Docker> {
    let docker = Docker::new(verbose);
    if !docker.engine_available() {
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
