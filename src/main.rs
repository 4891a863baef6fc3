//! `bottle`: parses the command line, captures the host, and runs one subcommand. I/O.

use anyhow::Result;
use bot_bottle::catalog::Catalog;
use bot_bottle::cli::{Cli, Command};
use bot_bottle::exit_code::{self, UserError};
use bot_bottle::host_snapshot::HostSnapshot;
use bot_bottle::{catalog_report, manifest_files, plan_report, planner};
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
    let host = HostSnapshot::capture()?;
    let catalog = load_catalog(&host)?;
    let mut stdout = std::io::stdout().lock();
    match cli.command {
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

fn load_catalog(host: &HostSnapshot) -> Result<Catalog> {
    let files = manifest_files::read(&host.env, &host.home, &host.cwd)?;
    Catalog::load(&files, &host.skills).map_err(|e| UserError::new(e.to_string()).into())
}
