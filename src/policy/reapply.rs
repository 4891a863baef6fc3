//! `reapply`: the live policy loaded again into a web pipelock or a mitmproxy that
//! restarted during the session. pipelock's wrapper wrote the launch's config into its fresh
//! tmpfs, and mitmproxy's confdir (a tmpfs) starts without the addon's live policy file:
//! either would undo every `allow-host` and `deny-host`; so the journal's changes are
//! rendered and loaded again, under the journal's lock (an `allow-host` at the same moment
//! waits). I/O (the journal, the reload through the engine).

use crate::engine::docker_engine::DockerEngine;
use crate::naming::Role;
use crate::policy::live_policy::{LivePolicy, render_addon, utc_timestamp};
use crate::policy::sidecar_reload::{ReloadError, SidecarReload};
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
        state.launch.bottle_id,
        live.changes.len(),
        utc_timestamp(now)
    );
    let loaded = match restarted {
        Restarted::Pipelock => {
            let text = live
                .render(&live.allowlist(), &comment)
                .map_err(|m| anyhow!(m))?;
            let reload = SidecarReload::pipelock(engine, &state.launch);
            reload
                .current()
                .and_then(|previous| reload.load(&text, &previous))
        }
        Restarted::Mitmproxy(container) => {
            let approved = live.approved_hosts();
            let reload = SidecarReload::addon(engine, container);
            // Before it, the fresh confdir had no file: the launch's allowlist.
            let before = render_addon(&state.launch.bottle_id, &[], &format!("{comment} (none)"));
            reload.load(
                &render_addon(&state.launch.bottle_id, &approved, &comment),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256_hex;
    use crate::engine::scripted_engine::{Reply, ScriptedEngine};
    use crate::runtime::policy_journal::{
        ChangeKind, JOURNAL_VERSION, JournalEntry, LaunchEntry, PolicyChange,
    };
    use crate::runtime::runtime_dir::RuntimeDir;
    use std::sync::{Arc, Mutex};

    #[test]
    fn a_restarted_mitmproxy_gets_the_approvals_in_force_and_nothing_without_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RuntimeDir::at(&tmp.path().join("rt"), crate::host_snapshot::uid()).unwrap();
        let journal = PolicyJournal::of(&dir, "0123456789abcdef");
        journal
            .create(&JournalEntry::Launch(LaunchEntry {
                v: JOURNAL_VERSION,
                bottle_id: "0123456789abcdef".into(),
                agent: "dev".into(),
                bottle: "dev".into(),
                pipelock: "pl".into(),
                config_path: "/etc/pipelock/pipelock.yaml".into(),
                config: r#"{"api_allowlist":["allowed.test"]}"#.into(),
            }))
            .unwrap();
        let written = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
        let w = written.clone();
        let engine = ScriptedEngine::new(Arc::new(Mutex::new(Vec::new())), move |call| match call
            .args[0]
            .as_str()
        {
            "exec" => {
                if let Some(stdin) = &call.stdin {
                    let text = String::from_utf8_lossy(stdin).into_owned();
                    w.lock().unwrap().push((call.args[2].clone(), text));
                }
                Reply::ok("")
            }
            "logs" => Reply::ok(
                w.lock()
                    .unwrap()
                    .iter()
                    .map(|(_, t)| {
                        format!(
                            "bottle_verdict: live policy loaded (sha256 {}): …\n",
                            sha256_hex(t.as_bytes())
                        )
                    })
                    .collect::<String>(),
            ),
            _ => Reply::fail("unexpected"),
        });
        let mitm = Restarted::Mitmproxy("bot-bottle-mitm-dev-01234567");
        assert_eq!(reapply(&engine, &journal, mitm).unwrap(), None);
        assert!(engine.calls().is_empty(), "no change: nothing to load");
        let mut held = journal.lock().unwrap();
        for (n, host, change) in [
            (1, "*.example.dev", ChangeKind::Added),
            (2, "denied.test", ChangeKind::Added),
            (3, "denied.test", ChangeKind::Removed),
        ] {
            held.append(&PolicyChange {
                n,
                at: "2026-12-04T23:10:00.000Z".into(),
                host: host.into(),
                change,
                config_sha256: String::new(),
            })
            .unwrap();
        }
        drop(held);
        assert_eq!(reapply(&engine, &journal, mitm).unwrap(), Some(3));
        let written = written.lock().unwrap();
        assert_eq!(written.len(), 1);
        assert_eq!(written[0].0, "bot-bottle-mitm-dev-01234567");
        let file: serde_json::Value = serde_json::from_str(&written[0].1).unwrap();
        assert_eq!(file["approved"], serde_json::json!(["*.example.dev"]));
        assert_eq!(file["bottle_id"], "0123456789abcdef");
    }
}
