//! `reapply`: the live policy loaded again into a web pipelock that restarted during the
//! session. Its wrapper wrote the launch's config into its fresh tmpfs, which would undo
//! every `allow-host` and `deny-host`; so the journal's changes are rendered and reloaded
//! again, under the journal's lock (an `allow-host` at the same moment waits). I/O (the
//! journal, the reload through the engine).

use crate::engine::docker_engine::DockerEngine;
use crate::policy::live_policy::LivePolicy;
use crate::policy::pipelock_reload::{CONFIRM_TIMEOUT, PipelockReload, ReloadError};
use crate::runtime::policy_journal::PolicyJournal;
use anyhow::{Result, anyhow};

/// Loads the live policy again; how many live changes it holds (`None`: there were none,
/// the launch's config is the policy).
pub fn reapply(engine: &dyn DockerEngine, journal: &PolicyJournal) -> Result<Option<usize>> {
    let held = journal.lock()?;
    let state = held.read()?;
    let live = LivePolicy::of(&state).map_err(|m| anyhow!(m))?;
    if live.changes.is_empty() {
        return Ok(None);
    }
    let comment = format!(
        "bot-bottle live policy of bottle {}: {} change(s) loaded again after pipelock restarted",
        state.launch.bottle_id,
        live.changes.len()
    );
    let text = live
        .render(&live.allowlist(), &comment)
        .map_err(|m| anyhow!(m))?;
    let reload = PipelockReload {
        engine,
        container: &state.launch.pipelock,
        config_path: &state.launch.config_path,
        timeout: CONFIRM_TIMEOUT,
    };
    let loaded = reload
        .current()
        .and_then(|previous| reload.load(&text, &previous));
    match loaded {
        Ok(_) => Ok(Some(live.changes.len())),
        Err(ReloadError::Gone(m)) => Err(anyhow!(m)),
        Err(ReloadError::Failed(e)) => Err(e.context("cannot load the live policy again")),
    }
}
