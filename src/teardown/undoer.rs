//! `Undoer`: runs `Undo` values against the engine (teardown and `bottle cleanup` alike),
//! consecutive undos of one kind in one docker command, reporting what each undo removed
//! or why it could not. Containers are removed by [`container_removal`](super::container_removal)
//! (known by id, or found by label and removed only when bottle named them); networks,
//! images and files here. Something already gone counts as undone. I/O (through the
//! engine; files for the env-file).

use crate::engine::answer::Answer;
use crate::engine::docker_engine::DockerEngine;
use crate::plan::docker_command::Arg;
use crate::plan::slot::SlotValues;
use crate::plan::undo::{Undo, UndoKind};
use crate::teardown::container_removal;
use crate::teardown::knowledge::Knowledge;
pub use crate::teardown::removal::{Removed, UndoReport};
use crate::teardown::removal::{line_about, report, run};
use std::panic::AssertUnwindSafe;

pub struct Undoer<'a> {
    pub engine: &'a dyn DockerEngine,
    /// Resolves undos whose target is a slot (the env-file).
    pub slots: &'a SlotValues,
    pub knowledge: &'a Knowledge,
}

impl Undoer<'_> {
    /// Runs every undo in the order given, all of them, consecutive undos of one kind in
    /// one docker command (one `docker rm`, one `docker network rm`); file undos touch no
    /// Docker state, so they do not separate two runs of another kind (the env-file
    /// between the agent's and the sidecars' containers); any other kind does, so an undo
    /// that must run between two others keeps its place. A failure, or a panic in one
    /// batch, does not stop the rest. One report per undo, in the order given.
    pub fn run(&self, undos: Vec<Undo>) -> Vec<UndoReport> {
        let mut reports: Vec<(usize, UndoReport)> = Vec::with_capacity(undos.len());
        for batch in batches(undos.into_iter().enumerate().collect()) {
            let (at, batch): (Vec<usize>, Vec<Undo>) = batch.into_iter().unzip();
            let done = std::panic::catch_unwind(AssertUnwindSafe(|| self.batch(&batch)))
                .unwrap_or_else(|_| {
                    batch
                        .iter()
                        .map(|u| report(u, Err(format!("internal error while undoing {u:?}"))))
                        .collect()
                });
            reports.extend(at.into_iter().zip(done));
        }
        reports.sort_by_key(|(at, _)| *at);
        reports.into_iter().map(|(_, r)| r).collect()
    }

    fn batch(&self, batch: &[Undo]) -> Vec<UndoReport> {
        match batch[0].kind() {
            UndoKind::Containers => container_removal::remove(self.engine, self.knowledge, batch),
            UndoKind::Network => self.networks(batch),
            UndoKind::Image => self.images(batch),
            UndoKind::File => batch.iter().map(|u| self.file(u)).collect(),
        }
    }

    /// `docker network rm` of the batch; a network something is still attached to is
    /// disconnected and removed again.
    fn networks(&self, batch: &[Undo]) -> Vec<UndoReport> {
        let names = targets(batch);
        let mut args = vec!["network".to_string(), "rm".into()];
        args.extend(names.iter().cloned());
        let first = run(self.engine, args);
        batch
            .iter()
            .zip(&names)
            .map(|(u, name)| {
                let removed = || {
                    Ok(vec![Removed {
                        kind: "network",
                        name: name.clone(),
                        role: None,
                    }])
                };
                let result = match &first {
                    Ok(done) if done.ok() || done.stdout_text().lines().any(|l| l == name) => {
                        removed()
                    }
                    Ok(done) if Answer::of_message(&line_about(done, name)).is_gone() => {
                        Ok(Vec::new())
                    }
                    _ => self.force_remove_network(name).and_then(|()| removed()),
                };
                report(u, result)
            })
            .collect()
    }

    fn force_remove_network(&self, name: &str) -> Result<(), String> {
        let attached = run(
            self.engine,
            vec![
                "network".into(),
                "inspect".into(),
                "--format".into(),
                "{{range $id, $c := .Containers}}{{$id}} {{end}}".into(),
                name.into(),
            ],
        )?;
        if Answer::of(&attached).is_gone() {
            return Ok(());
        }
        for id in attached.stdout_text().split_whitespace() {
            run(
                self.engine,
                vec![
                    "network".into(),
                    "disconnect".into(),
                    "--force".into(),
                    name.into(),
                    id.into(),
                ],
            )?;
        }
        let again = run(
            self.engine,
            vec!["network".into(), "rm".into(), name.into()],
        )?;
        match Answer::of(&again) {
            Answer::Done | Answer::Gone => Ok(()),
            _ => Err(format!(
                "cannot remove network {name}: {}",
                again.stderr.trim()
            )),
        }
    }

    fn images(&self, batch: &[Undo]) -> Vec<UndoReport> {
        let tags = targets(batch);
        let mut args = vec!["image".to_string(), "rm".into(), "--force".into()];
        args.extend(tags.iter().cloned());
        let done = run(self.engine, args);
        batch
            .iter()
            .zip(&tags)
            .map(|(u, tag)| {
                let result = match &done {
                    Err(e) => Err(e.clone()),
                    Ok(d) if d.ok() || d.stdout_text().contains(&format!("Untagged: {tag}")) => {
                        Ok(vec![Removed {
                            kind: "image",
                            name: tag.clone(),
                            role: None,
                        }])
                    }
                    Ok(d) => {
                        let why = line_about(d, tag);
                        if Answer::of_message(&why).is_gone() {
                            Ok(Vec::new())
                        } else {
                            Err(format!("cannot remove image {tag}: {why}"))
                        }
                    }
                };
                report(u, result)
            })
            .collect()
    }

    fn file(&self, undo: &Undo) -> UndoReport {
        let Undo::File { path } = undo else {
            unreachable!("a file batch holds file undos")
        };
        let path = match path {
            Arg::Lit(p) | Arg::Content { text: p, .. } => p.clone(),
            Arg::Slot {
                prefix,
                slot,
                suffix,
            } => match self.slots.get(*slot) {
                Some(value) => format!("{prefix}{value}{suffix}"),
                // Never filled: the file was never created.
                None => return report(undo, Ok(Vec::new())),
            },
        };
        let result = match std::fs::remove_file(&path) {
            Ok(()) => Ok(vec![Removed {
                kind: "file",
                name: path,
                role: None,
            }]),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(format!("cannot remove {path}: {e}")),
        };
        report(undo, result)
    }
}

/// The networks' names or the images' tags of a batch.
fn targets(batch: &[Undo]) -> Vec<String> {
    batch
        .iter()
        .filter_map(Undo::target)
        .map(str::to_string)
        .collect()
}

/// Undos in run order (with their place), cut into batches.
fn batches(undos: Vec<(usize, Undo)>) -> Vec<Vec<(usize, Undo)>> {
    let mut out: Vec<Vec<(usize, Undo)>> = Vec::new();
    for undo in undos {
        let kind = undo.1.kind();
        let joins = out
            .iter_mut()
            .rev()
            .find(|b| !(b[0].1.kind() == UndoKind::File && kind != UndoKind::File))
            .filter(|b| b[0].1.kind() == kind);
        match joins {
            Some(batch) => batch.push(undo),
            None => out.push(vec![undo]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::call::Call;
    use crate::engine::scripted_engine::ScriptedEngine;
    use crate::naming::Role;
    use crate::plan::fixture::{a_plan, fake};
    use crate::plan::slot::Slot;
    use crate::plan::step::Action;
    use crate::progress::Journal;
    use std::sync::{Arc, Mutex};

    fn kinds(batches: &[Vec<(usize, Undo)>]) -> Vec<Vec<UndoKind>> {
        batches
            .iter()
            .map(|b| b.iter().map(|(_, u)| u.kind()).collect())
            .collect()
    }

    fn numbered(undos: Vec<Undo>) -> Vec<(usize, Undo)> {
        undos.into_iter().enumerate().collect()
    }

    #[test]
    fn batches_by_kind_keep_the_order_between_kinds_and_let_files_pass() {
        let c = |role| Undo::Containers {
            bottle_id: "0123456789abcdef".into(),
            role,
        };
        let n = |name: &str| Undo::Network { name: name.into() };
        let f = Undo::File {
            path: Arg::Lit("/tmp/x".into()),
        };
        let teardown = vec![
            c(Role::Agent),
            f.clone(),
            c(Role::Mitmproxy),
            c(Role::Pipelock),
            n("a"),
            n("b"),
            Undo::Image { tag: "t".into() },
        ];
        use UndoKind::*;
        assert_eq!(
            kinds(&batches(numbered(teardown.clone()))),
            [
                vec![Containers, Containers, Containers],
                vec![File],
                vec![Network, Network],
                vec![Image]
            ]
        );
        // Another kind in between keeps its place.
        let split = vec![n("a"), c(Role::Agent), n("b")];
        assert_eq!(
            kinds(&batches(numbered(split))),
            [vec![Network], vec![Containers], vec![Network]]
        );
    }

    /// Issue 13's teardown in one round: undos of one kind batched into one docker command,
    /// each undo still reported with what it removed.
    #[test]
    fn batched_undos_share_one_command_and_report_each_resource() {
        let plan = a_plan(|_| {});
        let docker = Arc::new(fake());
        // Leave a whole bottle behind: SIGKILL after attach, as it were.
        let journal: Journal = Arc::new(Mutex::new(Vec::new()));
        let fake_for_script = docker.clone();
        let engine = ScriptedEngine::new(journal, move |call| fake_for_script.answer(call));
        for step in plan.launch.iter().flat_map(|p| p.steps()) {
            let known = plan
                .planned_slots()
                .with(Slot::Tty, "")
                .with(Slot::EnvFile, "/nonexistent")
                .with(Slot::MitmHostEntry, "m:172.30.0.2")
                .with(Slot::CaCertificate, "pem");
            let cmd = match &step.action {
                Action::Run { command, .. } => command,
                Action::RunAgent { run, .. } => run,
                _ => continue,
            };
            docker.answer(&Call::new(cmd.argv(&known).unwrap()));
        }
        assert_eq!(docker.world().containers.len(), 4);
        let undos: Vec<Undo> = plan.teardown().into_iter().cloned().collect();
        let slots = SlotValues::default();
        let reports = Undoer {
            engine: &engine,
            slots: &slots,
            knowledge: &Knowledge::default(),
        }
        .run(undos);
        let calls: Vec<Vec<String>> = engine.calls().into_iter().map(|(_, c)| c.args).collect();
        let rm: Vec<&Vec<String>> = calls.iter().filter(|a| a[0] == "rm").collect();
        let net_rm: Vec<&Vec<String>> = calls
            .iter()
            .filter(|a| a[..2] == ["network", "rm"])
            .collect();
        assert_eq!((rm.len(), net_rm.len()), (1, 1), "{calls:#?}");
        assert_eq!(rm[0].len(), 3 + 4, "four containers in one `docker rm`");
        assert_eq!(
            net_rm[0].len(),
            2 + 3,
            "three networks in one `docker network rm`"
        );
        assert!(docker.world().containers.is_empty() && docker.world().networks.is_empty());
        let removed: Vec<(String, Option<Role>)> = reports
            .iter()
            .flat_map(|r| r.result.as_ref().unwrap().iter())
            .map(|r| (r.name.clone(), r.role))
            .collect();
        assert_eq!(removed.len(), 7, "{removed:#?}");
        assert_eq!(
            removed[0],
            (plan.agent_container.name.clone(), Some(Role::Agent))
        );
        assert_eq!(reports.len(), plan.teardown().len(), "one report per undo");
    }
}
