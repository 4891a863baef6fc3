//! How the [`Undoer`](super::undoer::Undoer) removes a batch of container undos in one
//! `docker rm`, as named steps over one [`Removal`]: which undos need a lookup (those
//! whose create did not answer with an id), the lookup itself (one listing per bottle,
//! keeping only what bottle created: the ownership check), which containers each undo
//! removes (known ids first), the `docker rm`, and one report per undo. I/O (through the
//! engine).

use crate::engine::answer::Answer;
use crate::engine::docker_engine::DockerEngine;
use crate::engine::listing;
use crate::naming::{LabelFilter, Role, look_alike, same_id};
use crate::plan::undo::Undo;
use crate::teardown::knowledge::Knowledge;
use crate::teardown::removal::{self, Removed, UndoReport, line_about, report};

/// The containers one undo removes: those of one bottle with one role.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    bottle_id: String,
    role: Role,
}

impl Target {
    fn of(undo: &Undo) -> Target {
        match undo {
            Undo::Containers { bottle_id, role } => Target {
                bottle_id: bottle_id.clone(),
                role: *role,
            },
            _ => unreachable!("a containers batch holds containers undos"),
        }
    }
}

/// A container to remove, and the undo it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    target: Target,
    id: String,
    name: String,
}

/// What the batch learns on its way.
#[derive(Debug, Default)]
struct Removal {
    /// Found by label, and bottle's.
    looked_up: Vec<Found>,
    /// Look-alikes left alone: the undo, and why.
    kept: Vec<(Target, String)>,
    /// Bottles whose containers could not be listed, and why.
    unlisted: Vec<(String, String)>,
    /// Every container the `docker rm` gets, in the batch's order, once each.
    chosen: Vec<Found>,
    /// Containers the `docker rm` could not remove: their id, and why.
    problems: Vec<(String, String)>,
}

/// Removes every container of `batch`'s undos; one report per undo, in its order.
pub(super) fn remove(
    engine: &dyn DockerEngine,
    knowledge: &Knowledge,
    batch: &[Undo],
) -> Vec<UndoReport> {
    let mut removal = Removal::default();
    removal.look_up(engine, knowledge, &needs_lookup(knowledge, batch));
    removal.choose(knowledge, batch);
    removal.remove(engine);
    batch.iter().map(|undo| removal.report(undo)).collect()
}

/// The undos whose containers must be found by label: those whose create did not answer
/// with an id (it failed, or was cut short), once each.
fn needs_lookup(knowledge: &Knowledge, batch: &[Undo]) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    for undo in batch {
        let target = Target::of(undo);
        if !knowledge.complete.contains(undo) && !out.contains(&target) {
            out.push(target);
        }
    }
    out
}

impl Removal {
    /// One listing per bottle (of its roles when only one is asked for); each container
    /// of a role asked for is kept for removal when bottle created it, else reported.
    fn look_up(&mut self, engine: &dyn DockerEngine, knowledge: &Knowledge, targets: &[Target]) {
        let mut bottles: Vec<&str> = Vec::new();
        for t in targets {
            if !bottles.contains(&t.bottle_id.as_str()) {
                bottles.push(&t.bottle_id);
            }
        }
        for bottle in bottles {
            let roles: Vec<Role> = targets
                .iter()
                .filter(|t| t.bottle_id == bottle)
                .map(|t| t.role)
                .collect();
            let mut filters = vec![LabelFilter::bottle(bottle)];
            if let [role] = roles[..] {
                filters.push(LabelFilter::role(role));
            }
            let listed = match listing::containers(engine, &filters) {
                Ok(listed) => listed,
                Err(e) => {
                    let why = format!("cannot list containers: {e}");
                    self.unlisted.push((bottle.to_string(), why));
                    continue;
                }
            };
            for c in listed {
                let Some(role) = c.labels.role.role().filter(|r| roles.contains(r)) else {
                    continue;
                };
                let target = Target {
                    bottle_id: bottle.to_string(),
                    role,
                };
                if knowledge.names.owns(&c.listed()) {
                    self.looked_up.push(Found {
                        target,
                        id: c.id,
                        name: c.name,
                    });
                } else {
                    self.kept.push((target, look_alike(&c.listed())));
                }
            }
        }
    }

    /// In the batch's order (newest first): an undo whose creates all answered removes
    /// the ids they answered, any other what the lookup found; each container once.
    fn choose(&mut self, knowledge: &Knowledge, batch: &[Undo]) {
        for undo in batch {
            let target = Target::of(undo);
            let these: Vec<Found> = if knowledge.complete.contains(undo) {
                knowledge
                    .containers
                    .iter()
                    .filter(|c| c.bottle_id == target.bottle_id && c.role == target.role)
                    .map(|c| Found {
                        target: target.clone(),
                        id: c.id.clone(),
                        name: c.name.clone(),
                    })
                    .collect()
            } else {
                self.looked_up
                    .iter()
                    .filter(|f| f.target == target)
                    .cloned()
                    .collect()
            };
            for found in these {
                if !self
                    .chosen
                    .iter()
                    .any(|c| c.id == found.id || same_id(&c.id, &found.id))
                {
                    self.chosen.push(found);
                }
            }
        }
    }

    /// One `docker rm` of every chosen container; what it could not remove (and is not
    /// already gone) is a problem of that container.
    fn remove(&mut self, engine: &dyn DockerEngine) {
        if self.chosen.is_empty() {
            return;
        }
        let mut args = vec!["rm".to_string(), "--force".into(), "--volumes".into()];
        args.extend(self.chosen.iter().map(|c| c.id.clone()));
        match removal::run(engine, args) {
            Ok(done) => {
                let removed = done.stdout_text();
                for c in &self.chosen {
                    if removed.lines().any(|l| l == c.id) {
                        continue;
                    }
                    let why = line_about(&done, &c.id);
                    if !Answer::of_message(&why).is_gone() {
                        let role = c.target.role.label();
                        let what = format!("cannot remove {role} container {}: {why}", c.name);
                        self.problems.push((c.id.clone(), what));
                    }
                }
            }
            Err(e) => {
                for c in &self.chosen {
                    self.problems.push((c.id.clone(), e.clone()));
                }
            }
        }
    }

    /// What `undo` removed, or why it failed (its bottle could not be listed, or one of
    /// its containers stayed), and the look-alikes it left.
    fn report(&self, undo: &Undo) -> UndoReport {
        let target = Target::of(undo);
        let kept: Vec<String> = self
            .kept
            .iter()
            .filter(|(t, _)| *t == target)
            .map(|(_, why)| why.clone())
            .collect();
        if let Some((_, why)) = self.unlisted.iter().find(|(b, _)| *b == target.bottle_id) {
            let failed = Err(format!("{} containers: {why}", target.role.label()));
            return UndoReport {
                kept,
                ..report(undo, failed)
            };
        }
        let mine: Vec<&Found> = self.chosen.iter().filter(|c| c.target == target).collect();
        let errors: Vec<&str> = self
            .problems
            .iter()
            .filter(|(id, _)| mine.iter().any(|c| c.id == *id))
            .map(|(_, why)| why.as_str())
            .collect();
        let result = if errors.is_empty() {
            Ok(mine
                .iter()
                .map(|c| Removed {
                    kind: "container",
                    name: c.name.clone(),
                    role: Some(c.target.role),
                })
                .collect())
        } else {
            Err(errors.join("; "))
        };
        UndoReport {
            kept,
            ..report(undo, result)
        }
    }
}
