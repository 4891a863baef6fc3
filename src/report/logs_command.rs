//! `bottle logs AGENT|BOTTLE-ID [-f] [--json] [--blocked]`: the requests of a running
//! bottle, read from its mitmproxy container's log (`docker logs [--follow]`), one line
//! each, as they happen. Exit codes: 0, 1 (no engine, docker failed), 2 (unknown agent
//! or bottle id, or an agent with several running bottles), 3 (the bottle is not
//! running). I/O (through the engine; stdout).

use crate::engine::call::Call;
use crate::engine::docker_engine::DockerEngine;
use crate::engine::listing::{self, Container, ContainerState};
use crate::exit_code::{SUCCESS, UserError};
use crate::naming::{Known, LabelFilter, Role};
use crate::progress::err_line;
use crate::report::request_log::RequestLine;
use crate::runtime::runtime_dir::is_bottle_id;
use anyhow::{Context, Result};
use std::io::{BufRead, BufReader, Write};

/// `bottle logs`: the bottle named is not running.
pub const NOT_RUNNING: i32 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogsRequest {
    /// An agent name or a bottle id (or its first 8 or more hex digits).
    pub target: String,
    pub follow: bool,
    /// The addon's JSON lines as written (docs/addon.md), instead of text.
    pub json: bool,
    /// Only requests blocked by pipelock or refused by bot-bottle.
    pub blocked: bool,
}

/// A bottle's mitmproxy container, as `docker ps` lists it.
type Mitm = Container;

/// Runs `bottle logs`; `is_agent` says whether a name is an agent of the user's
/// manifest (for the message when nothing runs). Writes the lines to `out`.
pub fn run(
    engine: &dyn DockerEngine,
    request: &LogsRequest,
    is_agent: &dyn Fn(&str) -> bool,
    out: &mut dyn Write,
) -> Result<i32> {
    let target = request.target.as_str();
    let all = list(engine)?;
    let mine: Vec<&Mitm> = all
        .iter()
        .filter(|m| {
            let l = &m.labels;
            l.agent == target
                || l.bottle_id == target
                || (is_bottle_id(target) && l.bottle_id.starts_with(target))
        })
        .collect();
    let running: Vec<&&Mitm> = mine
        .iter()
        .filter(|m| m.state == ContainerState::Running)
        .collect();
    let mitm = match (&running[..], mine.first()) {
        ([one], _) => *one,
        ([], None) if is_agent(target) => {
            err_line(&format!(
                "bottle: error: agent `{target}` has no running bottle (`bottle ls` lists the running ones)"
            ));
            return Ok(NOT_RUNNING);
        }
        ([], None) if is_bottle_id(target) => {
            err_line(&format!(
                "bottle: error: no bottle with id `{target}` is running (`bottle ls` lists the running ones)"
            ));
            return Ok(NOT_RUNNING);
        }
        ([], None) => {
            return Err(UserError::new(format!(
                "unknown agent or bottle id `{target}`: `bottle agents` lists the agents, `bottle ls` the running bottles and their ids"
            ))
            .into());
        }
        ([], Some(stopped)) => {
            err_line(&format!(
                "bottle: error: bottle {} (agent `{}`) is not running: its mitmproxy container {} is {}",
                stopped.labels.bottle_id, stopped.labels.agent, stopped.name, stopped.state
            ));
            return Ok(NOT_RUNNING);
        }
        (many, _) => {
            let ids: Vec<&str> = many.iter().map(|m| m.labels.bottle_id.as_str()).collect();
            return Err(UserError::new(format!(
                "agent `{target}` has {} running bottles ({}): name one by its id",
                many.len(),
                ids.join(", ")
            ))
            .into());
        }
    };
    let mut args = vec!["logs".to_string()];
    if request.follow {
        args.push("--follow".into());
    }
    args.push(mitm.id.clone());
    let mut stream = engine.stream(&Call::new(args))?;
    let mut reader = BufReader::new(&mut stream);
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .context("cannot read mitmproxy's log")?;
        if n == 0 {
            break;
        }
        let Some(request_line) = RequestLine::parse(&line) else {
            continue;
        };
        if request.blocked && !request_line.verdict.is_block() {
            continue;
        }
        let text = if request.json {
            line.trim_end().to_string()
        } else {
            request_line.render()
        };
        // A closed pipe (`| head`) ends the command quietly.
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            return Ok(SUCCESS);
        }
    }
    drop(reader);
    match stream.finish() {
        Ok(()) => Ok(SUCCESS),
        // The bottle ended while we followed it: its container is gone.
        Err(_) if request.follow => {
            err_line(&format!("bottle: bottle {} ended", mitm.labels.bottle_id));
            Ok(SUCCESS)
        }
        Err(e) => Err(e),
    }
}

/// Every bot-bottle mitmproxy container (running or not) that bottle created: named by
/// the naming scheme (a launch never pins mitmproxy's name).
fn list(engine: &dyn DockerEngine) -> Result<Vec<Mitm>> {
    let known = Known::default();
    Ok(
        listing::containers(engine, &[LabelFilter::role(Role::Mitmproxy)])?
            .into_iter()
            .filter(|c| known.owns(&c.listed()))
            .collect(),
    )
}
