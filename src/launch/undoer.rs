//! `Undoer`: runs `Undo` values against the engine (teardown and `bottle cleanup` alike),
//! consecutive undos of one kind in one docker command, reporting what each undo removed
//! or why it could not. Containers the caller knows by id are removed without a lookup;
//! the others are found by label and removed only when bottle named them. Something
//! already gone counts as undone. I/O (through the engine; files for the env-file).

use crate::engine::answer::Answer;
use crate::engine::call::Call;
use crate::engine::docker_engine::DockerEngine;
use crate::engine::finished::Finished;
use crate::engine::listing;
use crate::naming::{self, LabelFilter, Role, look_alike};
use crate::plan::docker_command::Arg;
use crate::plan::slot::SlotValues;
use crate::plan::undo::{Undo, UndoKind};
use std::panic::AssertUnwindSafe;

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
    /// Containers that carry the undo's labels but not a name bottle gave them (made
    /// from a committed agent image): left alone, said why.
    pub kept: Vec<String>,
}

/// A container whose create answered with its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownContainer {
    pub bottle_id: String,
    pub role: Role,
    pub id: String,
    pub name: String,
}

/// What the caller knows about the containers its undos remove: the launch itself (each
/// create's answer), or cleanup (the launch records).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    /// Containers whose create answered with their id.
    pub containers: Vec<KnownContainer>,
    /// Container undos whose every container is in `containers` (its create step
    /// succeeded): removed by id, without a lookup.
    pub complete: Vec<Undo>,
    /// Names and ids of what bottle created under a name outside the naming scheme (a
    /// pinned `--name`, what a record lists, a create's answer): for the ownership check.
    pub names: naming::Known,
}

/// Docker ids compare by prefix (short and full forms).
fn same_id(a: &str, b: &str) -> bool {
    a.len() >= 12 && b.len() >= 12 && (a.starts_with(b) || b.starts_with(a))
}

pub struct Undoer<'a> {
    pub engine: &'a dyn DockerEngine,
    /// Resolves undos whose target is a slot (the env-file).
    pub slots: &'a SlotValues,
    pub known: &'a Known,
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

    /// One `docker rm` for every container of the batch: those the launch knows by id
    /// directly, the others found first by label (one `docker ps` per bottle id) and
    /// kept only when bottle named them.
    fn containers(&self, batch: &[Undo]) -> Vec<UndoReport> {
        let target = |u: &Undo| match u {
            Undo::Containers { bottle_id, role } => (bottle_id.clone(), *role),
            _ => unreachable!("a containers batch holds containers undos"),
        };
        // Every container to remove: (bottle id, role, id, name).
        let mut found: Vec<(String, Role, String, String)> = Vec::new();
        // (bottle id, role, why) of look-alikes left alone.
        let mut kept: Vec<(String, Role, String)> = Vec::new();
        let mut failed: Vec<(String, String)> = Vec::new();
        let mut lookups: Vec<(String, Role)> = Vec::new();
        for undo in batch {
            let (bottle, role) = target(undo);
            if !self.known.complete.contains(undo) && !lookups.contains(&(bottle.clone(), role)) {
                lookups.push((bottle, role));
            }
        }
        // Found by label: (bottle id, role, id, name).
        let mut looked: Vec<(String, Role, String, String)> = Vec::new();
        let mut bottles: Vec<&str> = lookups.iter().map(|(b, _)| b.as_str()).collect();
        bottles.dedup();
        for bottle in bottles {
            let roles: Vec<Role> = lookups
                .iter()
                .filter(|(b, _)| b == bottle)
                .map(|(_, r)| *r)
                .collect();
            let mut filters = vec![LabelFilter::bottle(bottle)];
            if let [role] = roles[..] {
                filters.push(LabelFilter::role(role));
            }
            match listing::containers(self.engine, &filters) {
                Ok(list) => {
                    for c in list {
                        let Some(role) = c.labels.role.role().filter(|r| roles.contains(r)) else {
                            continue;
                        };
                        if self.known.names.owns(&c.listed()) {
                            looked.push((bottle.to_string(), role, c.id, c.name));
                        } else {
                            kept.push((bottle.to_string(), role, look_alike(&c.listed())));
                        }
                    }
                }
                Err(e) => {
                    failed.push((bottle.to_string(), format!("cannot list containers: {e:#}")))
                }
            }
        }
        // In the batch's order (newest first): known ids, else what the lookup found.
        for undo in batch {
            let (bottle, role) = target(undo);
            let of_undo = |c: &&(String, Role, String, String)| c.0 == bottle && c.1 == role;
            let known = self
                .known
                .containers
                .iter()
                .filter(|c| c.bottle_id == bottle && c.role == role)
                .map(|c| (bottle.clone(), role, c.id.clone(), c.name.clone()));
            let these: Vec<(String, Role, String, String)> = if self.known.complete.contains(undo) {
                known.collect()
            } else {
                looked.iter().filter(of_undo).cloned().collect()
            };
            for c in these {
                if !found.iter().any(|f| same_id(&f.2, &c.2) || f.2 == c.2) {
                    found.push(c);
                }
            }
        }
        let mut problems: Vec<(String, String)> = Vec::new(); // (container id, message)
        if !found.is_empty() {
            let mut args = vec!["rm".to_string(), "--force".into(), "--volumes".into()];
            args.extend(found.iter().map(|(_, _, id, _)| id.clone()));
            match self.removal(args) {
                Ok(done) => {
                    let removed = done.stdout_text();
                    for (_, role, id, name) in &found {
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
                    for (_, _, id, _) in &found {
                        problems.push((id.clone(), e.clone()));
                    }
                }
            }
        }
        batch
            .iter()
            .map(|u| {
                let (bottle, role) = target(u);
                let kept: Vec<String> = kept
                    .iter()
                    .filter(|(b, r, _)| *b == bottle && *r == role)
                    .map(|(_, _, why)| why.clone())
                    .collect();
                if let Some((_, why)) = failed.iter().find(|(b, _)| *b == bottle) {
                    return UndoReport {
                        kept,
                        ..report(u, Err(format!("{} containers: {why}", role.label())))
                    };
                }
                let mine: Vec<&(String, Role, String, String)> = found
                    .iter()
                    .filter(|(b, r, _, _)| *b == bottle && *r == role)
                    .collect();
                let errors: Vec<&str> = problems
                    .iter()
                    .filter(|(id, _)| mine.iter().any(|(_, _, m, _)| m == id))
                    .map(|(_, why)| why.as_str())
                    .collect();
                let result = if errors.is_empty() {
                    Ok(mine
                        .iter()
                        .map(|(_, role, _, name)| Removed {
                            kind: "container",
                            name: name.clone(),
                            role: Some(*role),
                        })
                        .collect())
                } else {
                    Err(errors.join("; "))
                };
                UndoReport {
                    kept,
                    ..report(u, result)
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
        kept: Vec::new(),
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
}
