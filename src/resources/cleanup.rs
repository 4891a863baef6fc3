//! `bottle cleanup`: removes the bot-bottle containers, networks and `--cwd` images of one
//! uid (or everyone's), e.g. what a SIGKILLed `bottle run` left, and says what it removed.
//! I/O.

use crate::engine::docker_cli::{Docker, Mode};
use crate::exit_code::{FAILURE, SUCCESS, UserError};
use crate::launch::undo_stack::{is_gone, remove_network};
use crate::progress::{err_line, out_line};
use crate::resources::inventory::Inventory;
use anyhow::Result;

macro_rules! out {
    ($($t:tt)*) => { out_line(&format!($($t)*)) };
}
macro_rules! err {
    ($($t:tt)*) => { err_line(&format!($($t)*)) };
}
use std::io::{BufRead, IsTerminal, Write};

/// Removes what `uid` launched (everyone's with `None`).
pub fn run(docker: &Docker, yes: bool, uid: Option<u32>) -> Result<i32> {
    let inventory = Inventory::read(docker, uid)?;
    if inventory.is_empty() {
        out!("nothing to clean up: no bot-bottle containers, networks or images");
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
            out!("nothing removed");
            return Ok(SUCCESS);
        }
    }
    let mut failed = 0;
    for c in &inventory.containers {
        let done = docker.query(["rm", "--force", "--volumes", c.id.as_str()])?;
        if done.ok() || is_gone(&done.stderr) {
            out!(
                "removed container {} ({}, bottle {})",
                c.name,
                c.role,
                c.bottle_id
            );
        } else {
            err!(
                "bottle: warning: cannot remove container {}: {}",
                c.name,
                done.stderr.trim()
            );
            failed += 1;
        }
    }
    for (name, id) in &inventory.networks {
        match remove_network(docker, name, Mode::Finish) {
            Ok(()) => out!("removed network {name} (bottle {id})"),
            Err(e) => {
                err!("bottle: warning: {e}");
                failed += 1;
            }
        }
    }
    for (image, id) in &inventory.images {
        let done = docker.query(["image", "rm", "--force", image.as_str()])?;
        if done.ok() {
            out!("removed image {image} (bottle {id})");
        } else {
            err!(
                "bottle: warning: cannot remove image {image}: {}",
                done.stderr.trim()
            );
            failed += 1;
        }
    }
    Ok(if failed == 0 { SUCCESS } else { FAILURE })
}
