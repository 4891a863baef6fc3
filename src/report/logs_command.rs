//! `bottle logs AGENT|BOTTLE-ID [-f] [--json] [--blocked]`: the requests of a running
//! bottle, read from its mitmproxy container's log (`docker logs [--follow]`), one line
//! each, as they happen, with the bottle's live policy changes (its journal) among them
//! and, for a host pipelock refused as not on the allowlist, the command that allows it.
//! Its failures: [`Error::Usage`] (unknown agent or bottle id, or an
//! agent with several running bottles), [`Error::NotRunning`] (exit 3), a docker failure.
//! I/O (through the engine; stdout).

use crate::engine::call::Call;
use crate::engine::docker_engine::DockerEngine;
use crate::engine::program_output::ProgramOutput;
use crate::error::Error;
use crate::exit_code::SUCCESS;
use crate::progress::err_line;
use crate::report::needed_hosts::{allowlist_block, time_of};
use crate::report::request_log::RequestLine;
use crate::resources::running_bottle;
use crate::runtime::policy_journal::{ChangeKind, PolicyChange, PolicyJournal};
use crate::runtime::runtime_dir::RuntimeDir;
use std::io::{BufRead, BufReader, Write};
use std::sync::mpsc;
use std::time::Duration;

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
/// manifest (for the message when nothing runs); `dir` holds the bottles' policy
/// journals, whose changes are shown among the requests. Writes the lines to `out`.
pub fn run(
    engine: &dyn DockerEngine,
    request: &LogsRequest,
    is_agent: &dyn Fn(&str) -> bool,
    dir: Option<&RuntimeDir>,
    out: &mut dyn Write,
) -> Result<i32, Error> {
    let mitm = running_bottle::find(engine, &request.target, is_agent)?;
    let id = mitm.labels.bottle_id.clone();
    let mut args = vec!["logs".to_string()];
    if request.follow {
        args.push("--follow".into());
    }
    args.push(mitm.id.clone());
    let stream = engine.stream(&Call::new(args))?;
    let journal = dir.map(|d| PolicyJournal::of(d, &id));
    let mut feed = PolicyFeed::new(journal.as_ref());
    let mut hinted: Vec<String> = Vec::new();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || read_lines(stream, &tx));
    let ended = loop {
        let message = rx.recv_timeout(FEED_POLL);
        if let Err(mpsc::RecvTimeoutError::Timeout) = message {
            feed.refresh();
            if !write_changes(out, &feed.due(None), request.json) {
                return Ok(SUCCESS);
            }
            continue;
        }
        let line = match message {
            Ok(Fed::Line(line)) => line,
            Ok(Fed::End(stream, read_error)) => break Some((stream, read_error)),
            Err(_) => break None,
        };
        let Some(request_line) = RequestLine::parse(&line) else {
            continue;
        };
        feed.refresh();
        if !write_changes(out, &feed.due(Some(&request_line.ts)), request.json) {
            return Ok(SUCCESS);
        }
        if request.blocked && !request_line.verdict.is_block() {
            continue;
        }
        let mut text = if request.json {
            line.trim_end().to_string()
        } else {
            request_line.render()
        };
        if let Some(host) = allowlist_block(&request_line).filter(|_| !request.json)
            && !hinted.contains(&host)
        {
            text.push_str(&format!(
                "\n  not on the allowlist: {host}; allow it live with `bottle allow-host {id} {host}` (the exit report lists every such host)"
            ));
            hinted.push(host);
        }
        // A closed pipe (`| head`) ends the command quietly.
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            return Ok(SUCCESS);
        }
    };
    feed.refresh();
    if !write_changes(out, &feed.due(None), request.json) {
        return Ok(SUCCESS);
    }
    let Some((stream, read_error)) = ended else {
        return Ok(SUCCESS);
    };
    if let Some(e) = read_error {
        return Err(e.context("cannot read mitmproxy's log").into());
    }
    match stream.finish() {
        Ok(()) => Ok(SUCCESS),
        // The bottle ended while we followed it: its container is gone.
        Err(_) if request.follow => {
            err_line(&format!("bottle: bottle {id} ended"));
            Ok(SUCCESS)
        }
        Err(e) => Err(e.into()),
    }
}

/// How often a quiet `bottle logs -f` looks for new policy changes.
const FEED_POLL: Duration = Duration::from_millis(250);

/// What the log reader hands over: a line, or the end (the stream, a read error).
enum Fed {
    Line(String),
    End(Box<dyn ProgramOutput>, Option<anyhow::Error>),
}

fn read_lines(stream: Box<dyn ProgramOutput>, tx: &mpsc::Sender<Fed>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let error = loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break None,
            Ok(_) => {
                if tx.send(Fed::Line(line.clone())).is_err() {
                    return;
                }
            }
            Err(e) => break Some(anyhow::Error::from(e)),
        }
    };
    let _ = tx.send(Fed::End(reader.into_inner(), error));
}

/// The bottle's policy changes, handed out once each, in order.
struct PolicyFeed<'a> {
    journal: Option<&'a PolicyJournal>,
    changes: Vec<PolicyChange>,
    shown: usize,
}

impl<'a> PolicyFeed<'a> {
    fn new(journal: Option<&'a PolicyJournal>) -> PolicyFeed<'a> {
        PolicyFeed {
            journal,
            changes: Vec::new(),
            shown: 0,
        }
    }

    /// Reads the journal again (a gone or unreadable one changes nothing).
    fn refresh(&mut self) {
        if let Some(Ok(Some(j))) = self.journal.map(PolicyJournal::read) {
            self.changes = j.changes;
        }
    }

    /// The changes not shown yet, made at or before `ts` (all of them for `None`). Pure.
    fn due(&mut self, ts: Option<&str>) -> Vec<PolicyChange> {
        let rest = &self.changes[self.shown.min(self.changes.len())..];
        let n = rest
            .iter()
            .take_while(|c| ts.is_none_or(|t| c.at.as_str() <= t))
            .count();
        self.shown += n;
        rest[..n].to_vec()
    }
}

/// One line per change; false when the reader went away.
fn write_changes(out: &mut dyn Write, changes: &[PolicyChange], json: bool) -> bool {
    for c in changes {
        let text = if json {
            let mut v = serde_json::json!({"bot_bottle": "policy_change", "v": 1});
            if let (Some(o), Ok(serde_json::Value::Object(change))) =
                (v.as_object_mut(), serde_json::to_value(c))
            {
                o.extend(change);
            }
            v.to_string()
        } else {
            format!(
                "{} policy  {} {} (bottle {}-host; pipelock reloaded config sha256 {})",
                time_of(&c.at),
                c.change.word(),
                c.host,
                match c.change {
                    ChangeKind::Added => "allow",
                    ChangeKind::Removed => "deny",
                },
                &c.config_sha256[..c.config_sha256.len().min(16)]
            )
        };
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_changes_come_once_each_in_order_before_the_requests_that_followed_them() {
        let change = |n: u32, at: &str| PolicyChange {
            n,
            at: at.into(),
            host: format!("h{n}.example"),
            change: ChangeKind::Added,
            config_sha256: "4d88b3834aa7fc151841a08e".into(),
        };
        let mut feed = PolicyFeed::new(None);
        feed.changes = vec![
            change(1, "2026-12-04T23:10:01.000Z"),
            change(2, "2026-12-04T23:10:05.000Z"),
        ];
        assert!(feed.due(Some("2026-12-04T23:10:00.500Z")).is_empty());
        assert_eq!(feed.due(Some("2026-12-04T23:10:02.000Z")).len(), 1);
        assert!(feed.due(Some("2026-12-04T23:10:02.000Z")).is_empty());
        let rest = feed.due(None);
        assert_eq!(rest[0].n, 2);
        assert!(feed.due(None).is_empty());
        let mut out = Vec::new();
        assert!(write_changes(&mut out, &rest, false));
        assert!(write_changes(&mut out, &rest, true));
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next().unwrap(),
            "23:10:05.000 policy  added h2.example (bottle allow-host; pipelock reloaded config sha256 4d88b3834aa7fc15)"
        );
        let v: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(
            (
                v["bot_bottle"].as_str(),
                v["host"].as_str(),
                v["change"].as_str()
            ),
            (Some("policy_change"), Some("h2.example"), Some("added"))
        );
    }
}
