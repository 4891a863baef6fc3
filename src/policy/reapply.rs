//! `reapply`: the live policy loaded again into a web pipelock or a mitmproxy that
//! restarted during the session. pipelock's wrapper wrote the launch's config into its fresh
//! tmpfs, and mitmproxy's confdir (a tmpfs) starts without the addon's live policy file:
//! either would undo every `allow-host` and `deny-host`; so the journal's changes are
//! rendered and loaded again, under the journal's lock (an `allow-host` at the same moment
//! waits). I/O (the journal, the reload through the engine).

use crate::engine::docker_engine::DockerEngine;
use crate::image::contract::ImageContract;
use crate::naming::Role;
use crate::policy::live_policy::{LivePolicy, render_addon, utc_timestamp};
use crate::policy::sidecar_reload::{CONFIRM_TIMEOUT, ReloadError, Sidecar, SidecarReload};
use crate::runtime::policy_journal::PolicyJournal;
use anyhow::{Result, anyhow};

/// The sidecar that restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restarted<'a> {
    /// The web pipelock (its container is the journal's).
    Pipelock,
    /// mitmproxy, this container.
    Mitmproxy(&'a str),
}

/// Supervision's hook after a sidecar of the launch came back: the web pipelock and
/// mitmproxy (`mitmproxy` is its container) get the live policy again; what to say.
pub fn after_restart(
    engine: &dyn DockerEngine,
    journal: &PolicyJournal,
    role: Role,
    mitmproxy: &str,
) -> Result<Option<String>> {
    let (restarted, who) = match role {
        Role::Pipelock => (Restarted::Pipelock, "pipelock"),
        Role::Mitmproxy => (Restarted::Mitmproxy(mitmproxy), "mitmproxy's addon"),
        _ => return Ok(None),
    };
    Ok(reapply(engine, journal, restarted)?
        .map(|n| format!("{who} has the live policy again ({n} change(s))")))
}

/// Loads the live policy again; how many live changes it holds (`None`: there were none,
/// the launch's config is the policy).
pub fn reapply(
    engine: &dyn DockerEngine,
    journal: &PolicyJournal,
    restarted: Restarted,
) -> Result<Option<usize>> {
    let held = journal.lock()?;
    let state = held.read()?;
    let live = LivePolicy::of(&state).map_err(|m| anyhow!(m))?;
    if live.changes.is_empty() {
        return Ok(None);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let who = match restarted {
        Restarted::Pipelock => "pipelock",
        Restarted::Mitmproxy(_) => "mitmproxy",
    };
    let comment = format!(
        "bot-bottle live policy of bottle {}: {} change(s) loaded again after {who} restarted ({})",
        state.bottle_id,
        live.changes.len(),
        utc_timestamp(now)
    );
    let loaded = match restarted {
        Restarted::Pipelock => {
            let text = live
                .render(&live.allowlist(), &comment)
                .map_err(|m| anyhow!(m))?;
            let reload = SidecarReload {
                engine,
                sidecar: Sidecar::Pipelock,
                container: &state.pipelock,
                config_path: &state.config_path,
                timeout: CONFIRM_TIMEOUT,
            };
            reload
                .current()
                .and_then(|previous| reload.load(&text, &previous))
        }
        Restarted::Mitmproxy(container) => {
            let approved: Vec<String> = live.approvals().into_iter().map(|a| a.host).collect();
            let reload = SidecarReload {
                engine,
                sidecar: Sidecar::Addon,
                container,
                config_path: &ImageContract::get().mitmproxy.live_policy_file,
                timeout: CONFIRM_TIMEOUT,
            };
            // Before it, the fresh confdir had no file: the launch's allowlist.
            let before = render_addon(&state.bottle_id, &[], &format!("{comment} (none)"));
            reload.load(
                &render_addon(&state.bottle_id, &approved, &comment),
                &before,
            )
        }
    };
    match loaded {
        Ok(_) => Ok(Some(live.changes.len())),
        Err(ReloadError::Gone(m)) => Err(anyhow!(m)),
        Err(ReloadError::Failed(e)) => Err(e.context("cannot load the live policy again")),
    }
}
