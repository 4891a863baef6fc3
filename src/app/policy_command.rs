//! `bottle allow-host` and `bottle deny-host`: every host checked before Docker is asked
//! anything; the running bottle found as `bottle logs` finds it; its policy journal held
//! while the web pipelock reloads the re-rendered config (nothing restarts); the change
//! journaled once pipelock confirmed it; `--persist` checked before and written after.
//! A failure changes nothing. I/O.

use crate::app::{engine, load_catalog};
use crate::engine::docker_engine::DockerEngine;
use crate::error::Error;
use crate::exit_code;
use crate::host_snapshot::{self, HostSnapshot};
use crate::policy::live_policy::{LivePolicy, check_host, utc_timestamp};
use crate::policy::manifest_edit::ManifestEdit;
use crate::policy::pipelock_reload::{CONFIRM_TIMEOUT, PipelockReload, ReloadError, Reloaded};
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
    let (changed, allowlist) = match request.kind {
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
            (plan.add, list)
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
            (gone, list)
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
            kind: request.kind,
        };
        apply(&docker, &mut held, &live, &state, &change)?;
    } else {
        out_line(&format!("bottle {id}: nothing to change"));
    }
    if let Some(edit) = edit {
        persist(&edit, &state.launch.bottle)?;
    }
    Ok(exit_code::SUCCESS)
}

/// One change to make: the hosts, the allowlist that results, added or removed.
struct Applied<'a> {
    changed: &'a [String],
    allowlist: &'a [String],
    kind: ChangeKind,
}

/// Reloads pipelock with the new allowlist and journals the change.
fn apply(
    docker: &dyn DockerEngine,
    held: &mut JournalLock,
    live: &LivePolicy,
    state: &Journal,
    change: &Applied,
) -> Result<(), Error> {
    let Applied {
        changed,
        allowlist,
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
    let reload = PipelockReload {
        engine: docker,
        container: &state.launch.pipelock,
        config_path: &state.launch.config_path,
        timeout: CONFIRM_TIMEOUT,
    };
    let reloaded = reload
        .current()
        .and_then(|previous| reload.load(&text, &previous))
        .map_err(|e| reload_error(e, &state.launch.bottle_id))?;
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
        "bottle {} (agent `{}`): {verb} {}; pipelock reloaded its config in place in {:.2}s (sha256 {}), nothing restarted",
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
