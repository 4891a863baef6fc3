//! `bottle allow-host` and `bottle deny-host`: every host checked before Docker is asked
//! anything; the running bottle found as `bottle logs` finds it; its policy journal held
//! while the web pipelock reloads the re-rendered config and mitmproxy's addon loads the
//! live approvals (nothing restarts); the change journaled once both confirmed it;
//! `--persist` checked before and written after. An approval reaches the addon first and
//! pipelock second, a removal pipelock first: pipelock never allows a wildcard whose names
//! the addon does not judge (issue 22). A failure changes nothing: a step that took effect
//! is undone when the other fails. I/O.

use crate::app::{engine, load_catalog};
use crate::digest::sha256_hex;
use crate::engine::docker_engine::DockerEngine;
use crate::error::Error;
use crate::exit_code;
use crate::host_snapshot::{self, HostSnapshot};
use crate::policy::live_policy::{LivePolicy, check_host, render_addon, utc_timestamp};
use crate::policy::manifest_edit::ManifestEdit;
use crate::policy::sidecar_reload::{ReloadError, Reloaded, SidecarReload};
use crate::progress::out_line;
use crate::resources::running_bottle;
use crate::runtime::policy_journal::{
    ChangeKind, Journal, JournalLock, PolicyChange, PolicyJournal,
};
use crate::runtime::runtime_dir::RuntimeDir;

/// What the user asked.
pub(super) struct HostChange<'a> {
    pub target: &'a str,
    pub hosts: &'a [String],
    pub kind: ChangeKind,
    pub persist: bool,
    pub verbose: bool,
}

pub(super) fn run(request: &HostChange) -> Result<i32, Error> {
    // Bad input is exit 2 before anything is asked of Docker.
    let mut hosts = Vec::new();
    for arg in request.hosts {
        let host = check_host(arg).map_err(|m| Error::usage(format!("{m}; nothing changed")))?;
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    let host = HostSnapshot::capture()?;
    let docker = engine(request.verbose)?;
    let catalog = load_catalog(&host).ok();
    let is_agent = |name: &str| {
        catalog
            .as_ref()
            .is_some_and(|c| c.agents.contains_key(name))
    };
    let mitm = running_bottle::find(&docker, request.target, &is_agent)?;
    let id = mitm.labels.bottle_id.clone();
    let dir = RuntimeDir::open(&host.env, host_snapshot::uid())?;
    let journal = PolicyJournal::of(&dir, &id);
    if journal.read()?.is_none() {
        // Teardown removes the journal: a bottle that ended meanwhile is not running.
        let running = docker.query(&["inspect", "--format", "{{.State.Running}}", &mitm.id])?;
        if running.stdout_text() != "true" {
            return Err(Error::NotRunning(format!(
                "bottle {id} (agent `{}`) ended meanwhile; nothing changed",
                mitm.labels.agent
            )));
        }
        return Err(Error::Failed(anyhow::anyhow!(
            "bottle {id} (agent `{}`) has no policy journal in {}: it was launched by another user or by a bottle without live policy; nothing changed",
            mitm.labels.agent,
            journal.path().display()
        )));
    }
    let mut held = journal.lock()?;
    let state = held.read()?;
    let live = LivePolicy::of(&state).map_err(|m| Error::Failed(anyhow::anyhow!("{m}")))?;
    let in_force = live.approved_hosts();
    let (changed, allowlist, approved) = match request.kind {
        ChangeKind::Added => {
            let plan = live.allow(&hosts);
            for (h, by, is_live) in &plan.already {
                let how = if *is_live {
                    "a live approval"
                } else {
                    "the bottle's allowlist"
                };
                out_line(&format!("{h}: already allowed by {by} ({how})"));
            }
            let mut list = live.allowlist();
            list.extend(plan.add.iter().cloned());
            let mut approved = in_force.clone();
            approved.extend(plan.add.iter().cloned());
            (plan.add, list, approved)
        }
        ChangeKind::Removed => {
            let gone = live
                .deny(&hosts)
                .map_err(|m| Error::usage(format!("{m}; nothing changed")))?;
            let list = live
                .allowlist()
                .into_iter()
                .filter(|h| !gone.contains(h))
                .collect();
            let approved = in_force
                .iter()
                .filter(|h| !gone.contains(h))
                .cloned()
                .collect();
            (gone, list, approved)
        }
    };
    // --persist is checked now: a manifest it cannot write stops everything.
    let edit = if request.persist {
        Some(ManifestEdit::prepare(&host, &state.launch.bottle, &hosts)?)
    } else {
        None
    };
    if !changed.is_empty() {
        let change = Applied {
            changed: &changed,
            allowlist: &allowlist,
            approved: &approved,
            in_force: &in_force,
            kind: request.kind,
        };
        apply(&docker, &mut held, &live, &state, &change, &mitm.id)?;
    } else {
        out_line(&format!("bottle {id}: nothing to change"));
    }
    if let Some(edit) = edit {
        persist(&edit, &state.launch.bottle)?;
    }
    Ok(exit_code::SUCCESS)
}

/// One change to make: the hosts, the allowlist that results (pipelock's), the live
/// approvals that result and those in force now (the addon's), added or removed.
struct Applied<'a> {
    changed: &'a [String],
    allowlist: &'a [String],
    approved: &'a [String],
    in_force: &'a [String],
    kind: ChangeKind,
}

/// One sidecar's step of a change: its reload, the new file, the file it has now.
struct StepFiles<'a> {
    reload: SidecarReload<'a>,
    new: String,
    old: String,
}

/// Reloads pipelock with the new allowlist and has the addon load the new live approvals,
/// in the order that keeps the addon judging every wildcard pipelock allows; journals the
/// change once both confirmed it.
fn apply(
    docker: &dyn DockerEngine,
    held: &mut JournalLock,
    live: &LivePolicy,
    state: &Journal,
    change: &Applied,
    mitm: &str,
) -> Result<(), Error> {
    let Applied {
        changed,
        allowlist,
        approved,
        in_force,
        kind,
    } = *change;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let at = utc_timestamp(now);
    let first = live.changes.len() as u32 + 1;
    let comment = format!(
        "bot-bottle live policy of bottle {}: change {first} at {at}: {} {}",
        state.launch.bottle_id,
        kind.word(),
        changed.join(" ")
    );
    let text = live
        .render(allowlist, &comment)
        .map_err(|m| Error::Failed(anyhow::anyhow!("{m}")))?;
    let pipelock = SidecarReload::pipelock(docker, &state.launch);
    let previous = pipelock
        .current()
        .map_err(|e| reload_error(e, &state.launch.bottle_id))?;
    let pipelock = StepFiles {
        reload: pipelock,
        new: text,
        old: previous,
    };
    let addon = StepFiles {
        reload: SidecarReload::addon(docker, mitm),
        new: render_addon(&state.launch.bottle_id, approved, &comment),
        // What the addon has now (no file yet means the same: no live approval), with a
        // note of its own so that putting it back is confirmed by its own hash.
        old: render_addon(
            &state.launch.bottle_id,
            in_force,
            &format!("{comment} (not made; the approvals before it)"),
        ),
    };
    let (lead, follow) = match kind {
        ChangeKind::Added => (&addon, &pipelock),
        ChangeKind::Removed => (&pipelock, &addon),
    };
    let started = std::time::Instant::now();
    load_in_order(lead, follow, &state.launch.bottle_id)?;
    let reloaded = Reloaded {
        config_sha256: sha256_hex(pipelock.new.as_bytes()),
        took: started.elapsed(),
    };
    for (i, host) in changed.iter().enumerate() {
        held.append(&PolicyChange {
            n: first + i as u32,
            at: at.clone(),
            host: host.clone(),
            change: kind,
            config_sha256: reloaded.config_sha256.clone(),
        })?;
    }
    say_done(state, changed, kind, &reloaded);
    Ok(())
}

/// `lead`, then `follow`; when `follow` fails, `lead` is put back as it was (confirmed
/// like the change), so that a failure changes nothing.
fn load_in_order(lead: &StepFiles, follow: &StepFiles, bottle_id: &str) -> Result<(), Error> {
    lead.reload
        .load(&lead.new, &lead.old)
        .map_err(|e| reload_error(e, bottle_id))?;
    let Err(e) = follow.reload.load(&follow.new, &follow.old) else {
        return Ok(());
    };
    let name = lead.reload.sidecar.name();
    let undone = match lead.reload.load(&lead.old, &lead.new) {
        Ok(_) => format!("{name} has its previous file again"),
        Err(u) => format!(
            "putting {name}'s previous file back failed too ({}): pipelock and the addon may disagree until the next allow-host or deny-host",
            u.said()
        ),
    };
    Err(match reload_error(e, bottle_id) {
        Error::Failed(e) => Error::Failed(e.context(undone)),
        Error::NotRunning(m) => Error::NotRunning(format!("{m} ({undone})")),
        other => other,
    })
}

fn reload_error(e: ReloadError, bottle_id: &str) -> Error {
    match e {
        ReloadError::Gone(m) => Error::NotRunning(format!(
            "bottle {bottle_id} ended meanwhile ({m}); nothing changed"
        )),
        ReloadError::Failed(e) => {
            Error::Failed(e.context(format!("bottle {bottle_id}: the allowlist was not changed")))
        }
    }
}

fn say_done(state: &Journal, changed: &[String], kind: ChangeKind, reloaded: &Reloaded) {
    let verb = match kind {
        ChangeKind::Added => "allowed",
        ChangeKind::Removed => "denied again",
    };
    out_line(&format!(
        "bottle {} (agent `{}`): {verb} {}; pipelock reloaded its config in place and mitmproxy's addon loaded the live approvals, in {:.2}s (sha256 {}), nothing restarted",
        state.launch.bottle_id,
        state.launch.agent,
        changed.join(", "),
        reloaded.took.as_secs_f64(),
        &reloaded.config_sha256[..16]
    ));
}

fn persist(edit: &ManifestEdit, bottle: &str) -> Result<(), Error> {
    if edit.added.is_empty() {
        out_line(&format!(
            "{}: bottle `{bottle}` already allows them for the next launch",
            edit.path.display()
        ));
        return Ok(());
    }
    edit.write().map_err(Error::Failed)?;
    out_line(&format!(
        "{}: added {} to bottles.{bottle}.egress.allowlist (for the next launch)",
        edit.path.display(),
        edit.added.join(", ")
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scripted_engine::{Reply, ScriptedEngine};
    use crate::policy::sidecar_reload::Sidecar;
    use crate::progress::Journal as Calls;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    /// An engine whose addon (container `mitm`) confirms every file and whose pipelock
    /// (container `pl`) refuses every config; the files written, in order.
    fn engine() -> (ScriptedEngine, Arc<Mutex<Vec<String>>>) {
        let written = Arc::new(Mutex::new(Vec::<String>::new()));
        let w = written.clone();
        let engine = ScriptedEngine::new(Arc::new(Mutex::new(Vec::new())) as Calls, move |call| {
            match call.args[0].as_str() {
                "exec" => {
                    if let Some(stdin) = &call.stdin {
                        let text = String::from_utf8_lossy(stdin).into_owned();
                        w.lock().unwrap().push(format!("{} {text}", call.args[2]));
                    }
                    Reply::ok("")
                }
                "logs" if call.args[3] == "mitm" => Reply::ok(
                    w.lock()
                        .unwrap()
                        .iter()
                        .filter_map(|l| l.strip_prefix("mitm "))
                        .map(|t| {
                            format!(
                                "[00:00:00.000] bottle_verdict: live policy loaded (sha256 {}): 0 live approval(s): -\n",
                                sha256_hex(t.as_bytes())
                            )
                        })
                        .collect::<String>(),
                ),
                "logs" => Reply::ok(
                    if w.lock().unwrap().iter().any(|l| l.starts_with("pl ")) {
                        "pipelock: config reload failed: yaml: bad\n"
                    } else {
                        ""
                    },
                ),
                _ => Reply::fail("unexpected"),
            }
        });
        (engine, written)
    }

    fn step<'a>(engine: &'a ScriptedEngine, sidecar: Sidecar, container: &'a str) -> StepFiles<'a> {
        StepFiles {
            reload: SidecarReload {
                engine,
                sidecar,
                container,
                config_path: "/f",
                timeout: Duration::from_secs(2),
            },
            new: format!("{container} new"),
            old: format!("{container} old"),
        }
    }

    #[test]
    fn an_approval_the_addon_took_is_taken_back_when_pipelock_refuses_it() {
        let (engine, written) = engine();
        let addon = step(&engine, Sidecar::Addon, "mitm");
        let pipelock = step(&engine, Sidecar::Pipelock, "pl");
        let err = match load_in_order(&addon, &pipelock, "0123456789abcdef") {
            Err(Error::Failed(e)) => format!("{e:#}"),
            other => panic!("{other:?}"),
        };
        assert!(
            err.contains("mitmproxy's addon has its previous file again")
                && err.contains("the allowlist was not changed")
                && err.contains("pipelock refused the new config"),
            "{err}"
        );
        assert_eq!(
            *written.lock().unwrap(),
            ["mitm mitm new", "pl pl new", "pl pl old", "mitm mitm old"],
            "the addon first, then pipelock (put back), then the addon put back"
        );
    }
}
