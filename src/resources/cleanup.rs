//! `bottle cleanup [AGENT|BOTTLE-ID]`: removes what bottle created for one uid (or
//! everyone's), optionally of one agent or one bottle only (e.g. what a SIGKILLed `bottle
//! run` left): containers and networks that carry bottle's labels AND a name bottle gave
//! them (the naming scheme, or a launch record's entry), images only when a record lists
//! them, then the launch records and env-files in the runtime directory. Never an image
//! by label alone: a committed agent image and containers made from it survive. Runs the
//! same undos and undoer as a launch's teardown, and says what it removed and what it
//! left. I/O.

use crate::engine::docker_engine::DockerEngine;
use crate::error::Error;
use crate::exit_code::{FAILURE, SUCCESS};
use crate::naming;
use crate::plan::slot::SlotValues;
use crate::plan::undo::Undo;
use crate::progress::{err_line, out_line};
use crate::prompt;
use crate::resources::inventory::Inventory;
use crate::runtime::launch_record::{Entry, ReadRecord};
use crate::runtime::runtime_dir::RuntimeDir;
use crate::teardown::knowledge::Knowledge;
use crate::teardown::undoer::Undoer;
use anyhow::Result;
use std::io::IsTerminal;

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
) -> Result<i32, Error> {
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
    if !yes && !confirmed(&inventory, &records)? {
        out_line("nothing removed");
        return Ok(SUCCESS);
    }
    let failed_bottles = remove(docker, &inventory, known);
    let failed = failed_bottles.len() + sweep(dir, &records, &failed_bottles);
    Ok(if failed == 0 { SUCCESS } else { FAILURE })
}

/// Asks before removing (on a terminal; elsewhere `-y` is needed).
fn confirmed(inventory: &Inventory, records: &[ReadRecord]) -> Result<bool, Error> {
    let summary = format!(
        "{} container(s), {} network(s), {} image(s), {} launch record(s) with their env-files",
        inventory.containers.len(),
        inventory.networks.len(),
        inventory.images.len(),
        records.len()
    );
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage(format!(
            "cleanup would remove {summary}; pass -y to confirm (nothing was removed)"
        )));
    }
    Ok(prompt::yes(&format!(
        "bottle: remove {summary}, running bottles included? [y/N] "
    ))?)
}

/// Runs the inventory's undos through the undoer, says what each removed and left; returns
/// the bottle of each undo that failed (one entry per failure).
fn remove(docker: &dyn DockerEngine, inventory: &Inventory, known: naming::Known) -> Vec<String> {
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
        knowledge: &Knowledge::of_names(known),
    }
    .run(undos);
    let bottle_of = |undo: &Undo, name: &str| match undo {
        Undo::Containers { bottle_id, .. } => bottle_id.clone(),
        _ => inventory
            .networks
            .iter()
            .chain(&inventory.images)
            .find(|r| r.name == name)
            .map(|r| r.labels.bottle_id.clone())
            .unwrap_or_default(),
    };
    let mut failed_bottles: Vec<String> = Vec::new();
    for report in reports {
        for line in &report.kept {
            err_line(&format!("bottle: note: {line}"));
        }
        match report.result {
            Ok(removed) => {
                for r in removed {
                    let role = r.role.map(|role| format!("{}, ", role.label()));
                    out_line(&format!(
                        "removed {} {} ({}bottle {})",
                        r.kind,
                        r.name,
                        role.unwrap_or_default(),
                        bottle_of(&report.undo, &r.name)
                    ));
                }
            }
            Err(e) => {
                err_line(&format!("bottle: warning: {e}"));
                let target = report.undo.target().unwrap_or_default();
                failed_bottles.push(bottle_of(&report.undo, target));
            }
        }
    }
    failed_bottles
}

/// Deletes the env-files, policy journals and records of `records`; a record whose bottle still has
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
            delete(&dir.policy_file(id), "policy journal", id);
            delete(&dir.record_file(id), "launch record", id);
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::call::Call;
    use crate::engine::scripted_engine::ScriptedEngine;
    use crate::plan::fixture::{a_plan, fake};
    use crate::plan::slot::Slot;
    use crate::plan::step::Action;
    use crate::progress::Journal;
    use crate::runtime::launch_record::LaunchRecord;
    use std::sync::{Arc, Mutex};

    /// Issue 10.4 and 10.5, without an engine: what a SIGKILLed launch left (its containers,
    /// one of them under a pinned name only its record knows, its networks, its env-file and
    /// record) is removed by `bottle cleanup -y`; a container made from a committed agent
    /// image (same labels, another name) and a labelled image survive.
    #[test]
    fn cleanup_removes_what_bottle_created_and_leaves_a_committed_agent_and_its_image() {
        // With a published port: its forwarder, relay and network are bottle's too.
        let plan = a_plan(|o| {
            o.name = Some("my-pinned".into());
            o.ports = vec!["3000".into()];
        });
        let docker = Arc::new(fake());
        let known = plan
            .planned_slots()
            .with(Slot::AgentAddress, "172.30.0.3")
            .with(Slot::Tty, "")
            .with(Slot::MitmHostEntry, "m:172.30.0.2")
            .with(Slot::EnvFile, "/nonexistent");
        for step in plan.launch.iter().flat_map(|p| p.steps()) {
            if let Action::Run { command, .. } | Action::RunAgent { run: command, .. } =
                &step.action
                && let Ok(argv) = command.argv(&known)
            {
                docker.answer(&Call::new(argv));
            }
        }
        let labels = |role: &str| {
            let mut l = Vec::new();
            for (k, v) in [
                ("bot-bottle.id", plan.bottle_id.as_str()),
                ("bot-bottle.agent", "dev"),
                ("bot-bottle.role", role),
                ("bot-bottle.uid", "1000"),
            ] {
                l.extend(["--label".to_string(), format!("{k}={v}")]);
            }
            l
        };
        // `docker commit` of the agent keeps its labels; so does a container made from it.
        let mut build = vec!["build".to_string(), "--tag".into(), "saved-agent:1".into()];
        build.extend(labels("agent"));
        docker.answer(&Call::new(build));
        // An image the launch built (the `--cwd` image), which its record lists.
        let cwd_tag = "bot-bottle-cwd-dev-01234567:latest";
        let mut cwd = vec!["build".to_string(), "--tag".into(), cwd_tag.into()];
        cwd.extend(labels("cwd-image"));
        docker.answer(&Call::new(cwd));
        let mut saved = vec!["run".to_string(), "--name".into(), "my-saved-agent".into()];
        saved.extend(labels("agent"));
        saved.push("saved-agent:1".into());
        docker.answer(&Call::new(saved));
        let world = docker.world();
        assert_eq!(world.containers.len(), 7);
        assert!(
            world
                .networks
                .iter()
                .any(|n| n.name.starts_with("bot-bottle-ports-")),
            "{:?}",
            world.networks
        );
        assert!(world.containers.iter().any(|c| c.name == "my-pinned"));

        // The record and env-file the killed launch left.
        let tmp = tempfile::tempdir().unwrap();
        let dir = RuntimeDir::at(&tmp.path().join("rt"), crate::host_snapshot::uid()).unwrap();
        let record = LaunchRecord::create(&dir, &plan.bottle_id, "dev", 1000).unwrap();
        record
            .note(&crate::runtime::launch_record::Entry::Container {
                role: "agent".into(),
                name: "my-pinned".into(),
                id: None,
            })
            .unwrap();
        record
            .note(&crate::runtime::launch_record::Entry::Image {
                tag: cwd_tag.into(),
            })
            .unwrap();
        std::fs::write(dir.env_file(&plan.bottle_id), "LOG_LEVEL=debug\n").unwrap();

        let journal: Journal = Arc::new(Mutex::new(Vec::new()));
        let fake = docker.clone();
        let engine = ScriptedEngine::new(journal, move |call| fake.answer(call));
        // Another agent's cleanup touches nothing of this bottle, its record included.
        let code =
            crate::resources::cleanup::run(&engine, true, Some(1000), Some("web"), &dir).unwrap();
        assert_eq!(code, 0);
        assert_eq!(docker.world(), world);
        assert_eq!(
            dir.bottle_ids().unwrap(),
            std::slice::from_ref(&plan.bottle_id)
        );

        let code = crate::resources::cleanup::run(&engine, true, Some(1000), None, &dir).unwrap();
        assert_eq!(code, 0);
        let left = docker.world();
        let names: Vec<&str> = left.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["my-saved-agent"]);
        assert!(left.networks.is_empty(), "{:?}", left.networks);
        assert!(left.images.iter().any(|i| i.name == "saved-agent:1"));
        assert!(
            !left.images.iter().any(|i| i.name == cwd_tag),
            "the image the record lists is removed"
        );
        assert!(
            dir.bottle_ids().unwrap().is_empty(),
            "records and env-files are swept"
        );
    }
}
