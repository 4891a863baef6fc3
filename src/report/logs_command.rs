//! `bottle logs AGENT|BOTTLE-ID [-f] [--json] [--blocked]`: the requests of a running
//! bottle, read from its mitmproxy container's log (`docker logs [--follow]`), one line
//! each, as they happen. Its failures: [`Error::Usage`] (unknown agent or bottle id, or an
//! agent with several running bottles), [`Error::NotRunning`] (exit 3), a docker failure.
//! I/O (through the engine; stdout).

use crate::engine::call::Call;
use crate::engine::docker_engine::DockerEngine;
use crate::error::Error;
use crate::exit_code::SUCCESS;
use crate::progress::err_line;
use crate::report::request_log::RequestLine;
use crate::resources::running_bottle;
use anyhow::Context;
use std::io::{BufRead, BufReader, Write};

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

/// Runs `bottle logs`; `is_agent` says whether a name is an agent of the user's
/// manifest (for the message when nothing runs). Writes the lines to `out`.
pub fn run(
    engine: &dyn DockerEngine,
    request: &LogsRequest,
    is_agent: &dyn Fn(&str) -> bool,
    out: &mut dyn Write,
) -> Result<i32, Error> {
    let mitm = running_bottle::find(engine, &request.target, is_agent)?;
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
        Err(e) => Err(e.into()),
    }
}
