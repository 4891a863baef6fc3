//! `bottle cleanup [AGENT|BOTTLE-ID]`: removes what bottle created for one uid (or
//! everyone's), optionally of one agent or one bottle only (e.g. what a SIGKILLed `bottle
//! run` left): containers and networks that carry bottle's labels AND a name bottle gave
//! them (the naming scheme, or a launch record's entry), images only when a record lists
//! them, then the launch records and env-files in the runtime directory. Never an image
//! by label alone: a committed agent image and containers made from it survive. Runs the
//! same undos and undoer as a launch's teardown, and says what it removed and what it
//! left. I/O.

use crate::engine::docker_engine::DockerEngine;
use crate::exit_code::{FAILURE, SUCCESS, UserError};
use crate::launch::undoer::{Known, Undoer};
use crate::naming;
use crate::plan::slot::SlotValues;
use crate::plan::undo::Undo;
use crate::progress::{err_line, out_line};
use crate::resources::inventory::Inventory;
use crate::runtime::launch_record::{Entry, ReadRecord};
use crate::runtime::runtime_dir::RuntimeDir;
use anyhow::Result;
use std::io::{BufRead, IsTerminal, Write};

/// The launch records (and env-files) of the runtime directory that `target` selects.
fn records(dir: &RuntimeDir, target: Option<&str>) -> Result<Vec<ReadRecord>> {
    let mut out = Vec::new();
    for id in dir.bottle_ids()? {
        let record = ReadRecord::read(dir, &id)?;
        let selected = match target {
            None => true,
            Some(t) => t == record.bottle_id || (!record.agent.is_empty() && t == record.agent),
        };
        if selected {
            out.push(record);
        }
    }
    Ok(out)
}

/// What the records say bottle created, for the ownership check.
fn known(records: &[ReadRecord]) -> naming::Known {
    let mut known = naming::Known::default();
    for r in records {
        for name in r.names() {
            known.add(&r.bottle_id, &name);
        }
    }
    known
}

/// Removes what `uid` launched (everyone's with `None`), only `target`'s (an agent name or
/// a bottle id) when given; then this user's launch records and env-files in `dir`.
pub fn run(
    docker: &dyn DockerEngine,
    yes: bool,
    uid: Option<u32>,
    target: Option<&str>,
    dir: &RuntimeDir,
) -> Result<i32> {
    let records = records(dir, target)?;
    let known = known(&records);
    let mut inventory = Inventory::read(docker, uid)?;
    if let Some(target) = target {
        inventory = inventory.only(target);
    }
    let (inventory, kept) = inventory.owned(&known);
    for line in &kept {
        err_line(&format!("bottle: note: {line}"));
    }
    if inventory.is_empty() && records.is_empty() {
        let of = target.map(|t| format!(" of `{t}`")).unwrap_or_default();
        out_line(&format!(
            "nothing to clean up: no bot-bottle containers, networks or images{of}, and no launch record"
        ));
        return Ok(SUCCESS);
    }
    let summary = format!(
        "{} container(s), {} network(s), {} image(s), {} launch record(s) with their env-files",
        inventory.containers.len(),
        inventory.networks.len(),
        inventory.images.len(),
        records.len()
    );
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(UserError::new(format!(
                "cleanup would remove {summary}; pass -y to confirm (nothing was removed)"
            ))
            .into());
        }
        let _ = write!(
            std::io::stderr(),
            "bottle: remove {summary}, running bottles included? [y/N] "
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            out_line("nothing removed");
            return Ok(SUCCESS);
        }
    }
    let (undos, unknown) = inventory.undos();
    for c in &unknown {
        err_line(&format!(
            "bottle: warning: left container {}: its role label `{}` is not one bottle sets",
            c.name, c.labels.role
        ));
    }
    let slots = SlotValues::default();
    let reports = Undoer {
        engine: docker,
        slots: &slots,
        known: &Known {
            names: known,
            ..Known::default()
        },
    }
    .run(undos);
    let bottle_of = |name: &str| {
        inventory
            .networks
            .iter()
            .chain(&inventory.images)
            .find(|r| r.name == name)
            .map(|r| r.labels.bottle_id.clone())
            .unwrap_or_default()
    };
    let mut failed = 0;
    let mut failed_bottles: Vec<String> = Vec::new();
    for report in reports {
        for line in &report.kept {
            err_line(&format!("bottle: note: {line}"));
        }
        match report.result {
            Ok(removed) => {
                for r in removed {
                    let bottle = match &report.undo {
                        Undo::Containers { bottle_id, .. } => bottle_id.clone(),
                        _ => bottle_of(&r.name),
                    };
                    let role = r.role.map(|role| format!("{}, ", role.label()));
                    out_line(&format!(
                        "removed {} {} ({}bottle {bottle})",
                        r.kind,
                        r.name,
                        role.unwrap_or_default()
                    ));
                }
            }
            Err(e) => {
                err_line(&format!("bottle: warning: {e}"));
                failed_bottles.push(match &report.undo {
                    Undo::Containers { bottle_id, .. } => bottle_id.clone(),
                    u => u.target().map(bottle_of).unwrap_or_default(),
                });
                failed += 1;
            }
        }
    }
    failed += sweep(dir, &records, &failed_bottles);
    Ok(if failed == 0 { SUCCESS } else { FAILURE })
}

/// Deletes the env-files and records of `records`; a record whose bottle still has
/// something cleanup could not remove stays (the next cleanup needs it). Returns how
/// many files could not be deleted.
fn sweep(dir: &RuntimeDir, records: &[ReadRecord], failed_bottles: &[String]) -> usize {
    let mut failed = 0;
    let mut delete =
        |path: &std::path::Path, what: &str, bottle: &str| match std::fs::remove_file(path) {
            Ok(()) => out_line(&format!(
                "removed {what} {} (bottle {bottle})",
                path.display()
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                err_line(&format!(
                    "bottle: warning: cannot remove {}: {e}",
                    path.display()
                ));
                failed += 1;
            }
        };
    for r in records {
        let id = &r.bottle_id;
        delete(&dir.env_file(id), "env-file", id);
        for e in &r.entries {
            if let Entry::EnvFile { path } = e
                && std::path::Path::new(path) != dir.env_file(id)
            {
                delete(std::path::Path::new(path), "env-file", id);
            }
        }
        if !failed_bottles.contains(id) {
            delete(&dir.record_file(id), "launch record", id);
        }
    }
    failed
}
