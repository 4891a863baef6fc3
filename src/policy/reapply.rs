//! Re-applying a bottle's live policy to a pipelock that came back: a restarted container
//! starts from the launch's config (its tmpfs is new), so the allowlist the journal says
//! it had is loaded again, in place, the way `allow-host` loads it, under the journal's
//! lock. I/O (the journal file; the reload through the engine).

use crate::engine::docker_engine::DockerEngine;
use crate::policy::live_policy::{LivePolicy, utc_timestamp};
use crate::policy::pipelock_reload::{CONFIRM_TIMEOUT, PipelockReload, ReloadError, Reloaded};
use crate::runtime::policy_journal::PolicyJournal;
use anyhow::{Result, anyhow};

/// Loads the journal's allowlist into its pipelock again. `Ok(None)`: nothing to re-apply
/// (no journal, or no live change in it).
pub fn reapply(engine: &dyn DockerEngine, journal: &PolicyJournal) -> Result<Option<Reloaded>> {
    if journal.read()?.is_none() {
        return Ok(None);
    }
    let held = journal.lock()?;
    let state = held.read()?;
    let live = LivePolicy::of(&state).map_err(|m| anyhow!("{m}"))?;
    if live.changes.is_empty() {
        return Ok(None);
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let comment = format!(
        "bot-bottle live policy of bottle {}: {} change(s) re-applied at {} after a restart",
        state.bottle_id,
        live.changes.len(),
        utc_timestamp(now)
    );
    let text = live
        .render(&live.allowlist(), &comment)
        .map_err(|m| anyhow!("{m}"))?;
    let reload = PipelockReload {
        engine,
        container: &state.pipelock,
        config_path: &state.config_path,
        timeout: CONFIRM_TIMEOUT,
    };
    let done = reload
        .current()
        .and_then(|previous| reload.load(&text, &previous))
        .map_err(|e| match e {
            ReloadError::Gone(m) => anyhow!("{m}"),
            ReloadError::Failed(e) => e,
        })?;
    drop(held);
    Ok(Some(done))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256_hex;
    use crate::engine::scripted_engine::{Reply, ScriptedEngine};
    use crate::progress::Journal;
    use crate::runtime::policy_journal::{ChangeKind, JOURNAL_VERSION, JournalEntry, PolicyChange};
    use crate::runtime::runtime_dir::RuntimeDir;
    use std::sync::{Arc, Mutex};

    #[test]
    fn a_pipelock_that_came_back_gets_the_live_allowlist_again_and_nothing_else_does() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RuntimeDir::at(&tmp.path().join("rt"), crate::host_snapshot::uid()).unwrap();
        let journal = PolicyJournal::of(&dir, "0123456789abcdef");
        let written = Arc::new(Mutex::new(Vec::<String>::new()));
        let w = written.clone();
        let engine = ScriptedEngine::new(
            Arc::new(Mutex::new(Vec::new())) as Journal,
            move |call| match call.args[0].as_str() {
                "exec" => {
                    if let Some(stdin) = &call.stdin {
                        w.lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(stdin).into());
                    }
                    Reply::ok("{\"launch\":true}")
                }
                "logs" => match w.lock().unwrap().last() {
                    Some(text) => Reply::ok(format!(
                        "{{\"event\":\"config_reload\",\"status\":\"success\",\"config_hash\":\"{}\"}}",
                        sha256_hex(text.as_bytes())
                    )),
                    None => Reply::ok(""),
                },
                _ => Reply::fail("unexpected"),
            },
        );
        assert_eq!(reapply(&engine, &journal).unwrap(), None, "no journal");
        journal
            .create(&JournalEntry::Launch {
                v: JOURNAL_VERSION,
                bottle_id: "0123456789abcdef".into(),
                agent: "dev".into(),
                bottle: "web".into(),
                pipelock: "bot-bottle-pipelock-dev-01234567".into(),
                config_path: "/etc/pipelock/pipelock.yaml".into(),
                config: r#"{"version":1,"api_allowlist":["allowed.test"]}"#.into(),
            })
            .unwrap();
        assert_eq!(reapply(&engine, &journal).unwrap(), None, "no live change");
        assert!(written.lock().unwrap().is_empty());
        journal
            .lock()
            .unwrap()
            .append(&PolicyChange {
                n: 1,
                at: "2026-12-04T23:10:00.000Z".into(),
                host: "denied.test".into(),
                change: ChangeKind::Added,
                config_sha256: "ab".into(),
            })
            .unwrap();
        let done = reapply(&engine, &journal).unwrap().unwrap();
        let text = written.lock().unwrap()[0].clone();
        assert_eq!(done.config_sha256, sha256_hex(text.as_bytes()));
        assert!(text.starts_with(
            "# bot-bottle live policy of bottle 0123456789abcdef: 1 change(s) re-applied"
        ));
        let body: serde_json::Value =
            serde_json::from_str(text.split_once('\n').unwrap().1).unwrap();
        assert_eq!(
            body["api_allowlist"],
            serde_json::json!(["allowed.test", "denied.test"])
        );
    }
}
