//! `Undoer`: runs `Undo` values against the engine (teardown and `bottle cleanup` alike),
//! in batches (one undo at a time, or consecutive undos of one kind in one docker
//! command), reporting what each undo removed or why it could not. Something already gone
//! counts as undone. I/O (through the engine; files for the env-file).

use crate::engine::answer::Answer;
use crate::engine::call::Call;
use crate::engine::docker_engine::DockerEngine;
use crate::engine::finished::Finished;
use crate::plan::docker_command::Arg;
use crate::plan::role::{LABEL_ID, LABEL_ROLE, Role};
use crate::plan::slot::SlotValues;
use crate::plan::undo::{Undo, UndoKind};
use std::panic::AssertUnwindSafe;

/// How undos share docker commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batching {
    /// Every undo on its own.
    One,
    /// Consecutive undos of one kind together (one `docker rm`, one `docker network rm`).
    /// File undos touch no Docker state, so they do not separate two runs of another kind
    /// (the env-file between the agent's and the sidecars' containers); any other kind
    /// does, so an undo that must run between two others keeps its place.
    ByKind,
}

/// One resource an undo removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    /// `container`, `network`, `image` or `file`.
    pub kind: &'static str,
    pub name: String,
    /// The container's role, when the undo knows it.
    pub role: Option<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoReport {
    pub undo: Undo,
    /// What it removed (nothing when it was already gone), or why it failed.
    pub result: Result<Vec<Removed>, String>,
}

pub struct Undoer<'a> {
    pub engine: &'a dyn DockerEngine,
    /// Resolves undos whose target is a slot (the env-file).
    pub slots: &'a SlotValues,
}

impl Undoer<'_> {
    /// Runs every undo in the order given, all of them: a failure, or a panic in one
    /// batch, does not stop the rest. One report per undo, in order.
    pub fn run(&self, undos: Vec<Undo>, batching: Batching) -> Vec<UndoReport> {
        let mut reports = Vec::with_capacity(undos.len());
        for batch in batches(undos, batching) {
            let done = std::panic::catch_unwind(AssertUnwindSafe(|| self.batch(&batch)))
                .unwrap_or_else(|_| {
                    batch
                        .iter()
                        .map(|u| report(u, Err(format!("internal error while undoing {u:?}"))))
                        .collect()
                });
            reports.extend(done);
        }
        reports
    }

    fn batch(&self, batch: &[Undo]) -> Vec<UndoReport> {
        match batch[0].kind() {
            UndoKind::Containers => self.containers(batch),
            UndoKind::Network => self.networks(batch),
            UndoKind::Image => self.images(batch),
            UndoKind::File => batch.iter().map(|u| self.file(u)).collect(),
        }
    }

    fn removal(&self, args: Vec<String>) -> Result<Finished, String> {
        let call = Call::new(args).to_the_end();
        self.engine
            .run(&call)
            .map_err(|e| format!("`{}`: {e:#}", call.shown))
    }

    /// One `docker ps` per bottle id, one `docker rm` for every container found.
    fn containers(&self, batch: &[Undo]) -> Vec<UndoReport> {
        let targets: Vec<(&str, Role)> = batch
            .iter()
            .filter_map(|u| match u {
                Undo::Containers { bottle_id, role } => Some((bottle_id.as_str(), *role)),
                _ => None,
            })
            .collect();
        let mut ids: Vec<&str> = Vec::new();
        for (id, _) in &targets {
            if !ids.contains(id) {
                ids.push(id);
            }
        }
        // (container id, name, role) of every container to remove.
        let mut found: Vec<(String, String, Role)> = Vec::new();
        let mut failed: Vec<(&str, String)> = Vec::new();
        for bottle in &ids {
            let roles: Vec<Role> = targets
                .iter()
                .filter(|(id, _)| id == bottle)
                .map(|(_, r)| *r)
                .collect();
            let mut args = vec![
                "ps".to_string(),
                "--all".into(),
                "--filter".into(),
                format!("label={LABEL_ID}={bottle}"),
            ];
            if let [role] = roles[..] {
                args.extend([
                    "--filter".into(),
                    format!("label={LABEL_ROLE}={}", role.label()),
                ]);
            }
            args.extend([
                "--format".into(),
                format!("{{{{.ID}}}}\t{{{{.Names}}}}\t{{{{.Label \"{LABEL_ROLE}\"}}}}"),
            ]);
            match self.removal(args) {
                Ok(list) if list.ok() => {
                    for line in list.stdout_text().lines() {
                        let f: Vec<&str> = line.split('\t').collect();
                        if let [id, name, label] = f[..]
                            && let Some(role) = roles.iter().find(|r| r.label() == label)
                        {
                            found.push((id.into(), name.into(), *role));
                        }
                    }
                }
                Ok(list) => failed.push((
                    bottle,
                    format!("cannot list containers: {}", list.stderr.trim()),
                )),
                Err(e) => failed.push((bottle, format!("cannot list containers: {e}"))),
            }
        }
        let mut problems: Vec<(String, String)> = Vec::new(); // (container id, message)
        if !found.is_empty() {
            let mut args = vec!["rm".to_string(), "--force".into(), "--volumes".into()];
            args.extend(found.iter().map(|(id, _, _)| id.clone()));
            match self.removal(args) {
                Ok(done) => {
                    let removed = done.stdout_text();
                    for (id, name, role) in &found {
                        if removed.lines().any(|l| l == id) {
                            continue;
                        }
                        let why = line_about(&done, id);
                        if !Answer::of_message(&why).is_gone() {
                            problems.push((
                                id.clone(),
                                format!("cannot remove {} container {name}: {why}", role.label()),
                            ));
                        }
                    }
                }
                Err(e) => {
                    for (id, _, _) in &found {
                        problems.push((id.clone(), e.clone()));
                    }
                }
            }
        }
        batch
            .iter()
            .map(|u| {
                let Undo::Containers { bottle_id, role } = u else {
                    unreachable!("a containers batch holds containers undos")
                };
                if let Some((_, why)) = failed.iter().find(|(id, _)| id == bottle_id) {
                    return report(u, Err(format!("{} containers: {why}", role.label())));
                }
                let mine: Vec<&(String, String, Role)> =
                    found.iter().filter(|(_, _, r)| r == role).collect();
                let errors: Vec<&str> = problems
                    .iter()
                    .filter(|(id, _)| mine.iter().any(|(m, _, _)| m == id))
                    .map(|(_, why)| why.as_str())
                    .collect();
                if errors.is_empty() {
                    let removed = mine
                        .iter()
                        .map(|(_, name, role)| Removed {
                            kind: "container",
                            name: name.clone(),
                            role: Some(*role),
                        })
                        .collect();
                    report(u, Ok(removed))
                } else {
                    report(u, Err(errors.join("; ")))
                }
            })
            .collect()
    }

    /// `docker network rm` of the batch; a network something is still attached to is
    /// disconnected and removed again.
    fn networks(&self, batch: &[Undo]) -> Vec<UndoReport> {
        let names = targets(batch);
        let mut args = vec!["network".to_string(), "rm".into()];
        args.extend(names.iter().cloned());
        let first = self.removal(args);
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
        let attached = self.removal(vec![
            "network".into(),
            "inspect".into(),
            "--format".into(),
            "{{range $id, $c := .Containers}}{{$id}} {{end}}".into(),
            name.into(),
        ])?;
        if Answer::of(&attached).is_gone() {
            return Ok(());
        }
        for id in attached.stdout_text().split_whitespace() {
            self.removal(vec![
                "network".into(),
                "disconnect".into(),
                "--force".into(),
                name.into(),
                id.into(),
            ])?;
        }
        let again = self.removal(vec!["network".into(), "rm".into(), name.into()])?;
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
        let done = self.removal(args);
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
            Arg::Slot { slot, suffix } => match self.slots.get(*slot) {
                Some(value) => format!("{value}{suffix}"),
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

fn report(undo: &Undo, result: Result<Vec<Removed>, String>) -> UndoReport {
    UndoReport {
        undo: undo.clone(),
        result,
    }
}

/// The line of Docker's stderr about `target` (all of it when no line names it).
fn line_about(done: &Finished, target: &str) -> String {
    done.stderr
        .lines()
        .find(|l| l.contains(target))
        .unwrap_or(done.stderr.trim())
        .trim()
        .to_string()
}

/// Undos in run order, cut into batches.
fn batches(undos: Vec<Undo>, batching: Batching) -> Vec<Vec<Undo>> {
    let mut out: Vec<Vec<Undo>> = Vec::new();
    for undo in undos {
        let kind = undo.kind();
        let joins = match batching {
            Batching::One => None,
            Batching::ByKind => out
                .iter_mut()
                .rev()
                .find(|b| !(b[0].kind() == UndoKind::File && kind != UndoKind::File))
                .filter(|b| b[0].kind() == kind),
        };
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

    fn kinds(batches: &[Vec<Undo>]) -> Vec<Vec<UndoKind>> {
        batches
            .iter()
            .map(|b| b.iter().map(Undo::kind).collect())
            .collect()
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
            kinds(&batches(teardown.clone(), Batching::ByKind)),
            [
                vec![Containers, Containers, Containers],
                vec![File],
                vec![Network, Network],
                vec![Image]
            ]
        );
        assert_eq!(batches(teardown, Batching::One).len(), 7);
        // Another kind in between keeps its place.
        let split = vec![n("a"), c(Role::Agent), n("b")];
        assert_eq!(
            kinds(&batches(split, Batching::ByKind)),
            [vec![Network], vec![Containers], vec![Network]]
        );
    }
}
