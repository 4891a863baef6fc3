//! `bottle cleanup [AGENT|BOTTLE-ID]`: removes the bot-bottle containers, networks and
//! `--cwd` images of one uid (or everyone's), optionally of one agent or one bottle only
//! (e.g. what a SIGKILLed `bottle run` left), through the same undos and undoer as a
//! launch's teardown, and says what it removed. I/O.

use crate::engine::docker_engine::DockerEngine;
use crate::exit_code::{FAILURE, SUCCESS, UserError};
use crate::launch::undoer::{Batching, Undoer};
use crate::plan::slot::SlotValues;
use crate::plan::undo::Undo;
use crate::progress::{err_line, out_line};
use crate::resources::inventory::Inventory;
use anyhow::Result;
use std::io::{BufRead, IsTerminal, Write};

/// Removes what `uid` launched (everyone's with `None`), only `target`'s (an agent name or
/// a bottle id) when given.
pub fn run(
    docker: &dyn DockerEngine,
    yes: bool,
    uid: Option<u32>,
    target: Option<&str>,
) -> Result<i32> {
    let mut inventory = Inventory::read(docker, uid)?;
    if let Some(target) = target {
        inventory = inventory.only(target);
    }
    if inventory.is_empty() {
        let of = target.map(|t| format!(" of `{t}`")).unwrap_or_default();
        out_line(&format!(
            "nothing to clean up: no bot-bottle containers, networks or images{of}"
        ));
        return Ok(SUCCESS);
    }
    let summary = format!(
        "{} container(s), {} network(s), {} image(s)",
        inventory.containers.len(),
        inventory.networks.len(),
        inventory.images.len()
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
            c.name, c.role
        ));
    }
    let slots = SlotValues::default();
    let reports = Undoer {
        engine: docker,
        slots: &slots,
    }
    .run(undos, Batching::ByKind);
    let bottle_of = |name: &str| {
        inventory
            .networks
            .iter()
            .chain(&inventory.images)
            .find(|r| r.name == name)
            .map(|r| r.bottle_id.clone())
            .unwrap_or_default()
    };
    let mut failed = 0;
    for report in reports {
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
                failed += 1;
            }
        }
    }
    Ok(if failed == 0 { SUCCESS } else { FAILURE })
}
