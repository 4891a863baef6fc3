//! `SidecarReload`: a new file for a running sidecar, loaded in place: pipelock's config,
//! or the addon's live policy (the hosts approved live, which mitmproxy's addon judges
//! names and the model lane's egress against). pipelock (v2.3.0, internal/config/reload.go)
//! watches its config file's directory and re-reads the file when it is written or renamed
//! into place; a reload swaps its scanner without touching open connections
//! (internal/cli/runtime/server.go `Reload`). The addon looks at its live policy file every
//! 100 ms (bot_bottle_addon/live_policy.py) and swaps its view of the allowlist between
//! requests. So nothing restarts and a stream in flight goes on. The new file is written
//! beside the old one and renamed over it (`docker exec`, the text on stdin), then the
//! sidecar's own log must confirm it by the new file's SHA-256 (pipelock: `config_reload`
//! with `config_hash`, load.go `Hash`; the addon: `live policy loaded (sha256 …)`); a
//! refusal line, a rejected reload, or silence puts the old file back and fails.
//! I/O (through the engine).

use crate::digest::sha256_hex;
use crate::engine::call::Call;
use crate::engine::docker_engine::DockerEngine;
use crate::image::contract::ImageContract;
use crate::runtime::policy_journal::LaunchEntry;
use anyhow::{Result, anyhow};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long pipelock may take to log the reload (its debounce is 100 ms).
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(100);

/// Which sidecar reads the file, and so how its log confirms or refuses a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sidecar {
    /// The web pipelock's config.
    Pipelock,
    /// mitmproxy's addon's live policy file.
    Addon,
}

impl Sidecar {
    pub fn name(self) -> &'static str {
        match self {
            Sidecar::Pipelock => "pipelock",
            Sidecar::Addon => "mitmproxy's addon",
        }
    }

    fn confirmed(self, log: &str, want: &str) -> bool {
        match self {
            Sidecar::Pipelock => confirmed(log, want),
            Sidecar::Addon => addon_confirmed(log, want),
        }
    }

    fn failures(self, log: &str) -> Vec<String> {
        match self {
            Sidecar::Pipelock => reload_failures(log),
            Sidecar::Addon => addon_failures(log),
        }
    }

    fn confirmation(self, want: &str) -> String {
        match self {
            Sidecar::Pipelock => format!("no `config_reload` line with config_hash {want}"),
            Sidecar::Addon => format!("no `{ADDON_LOADED} {want})` line"),
        }
    }
}

/// One running sidecar's file.
pub struct SidecarReload<'a> {
    pub engine: &'a dyn DockerEngine,
    pub sidecar: Sidecar,
    pub container: &'a str,
    pub config_path: &'a str,
    pub timeout: Duration,
}

/// What a confirmed reload took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reloaded {
    pub config_sha256: String,
    pub took: Duration,
}

/// Why a reload did not happen.
#[derive(Debug)]
pub enum ReloadError {
    /// The container is gone or stopped: the bottle ended.
    Gone(String),
    Failed(anyhow::Error),
}

impl ReloadError {
    /// What went wrong, in words (for a message that goes on after it).
    pub fn said(self) -> String {
        match self {
            ReloadError::Gone(m) => m,
            ReloadError::Failed(e) => format!("{e:#}"),
        }
    }
}

impl From<anyhow::Error> for ReloadError {
    fn from(e: anyhow::Error) -> ReloadError {
        ReloadError::Failed(e)
    }
}

impl<'a> SidecarReload<'a> {
    /// The web pipelock's config, where the launch journaled it.
    pub fn pipelock(engine: &'a dyn DockerEngine, launch: &'a LaunchEntry) -> SidecarReload<'a> {
        SidecarReload {
            engine,
            sidecar: Sidecar::Pipelock,
            container: &launch.pipelock,
            config_path: &launch.config_path,
            timeout: CONFIRM_TIMEOUT,
        }
    }

    /// The addon's live policy file in mitmproxy's container `container`.
    pub fn addon(engine: &'a dyn DockerEngine, container: &'a str) -> SidecarReload<'a> {
        SidecarReload {
            engine,
            sidecar: Sidecar::Addon,
            container,
            config_path: &ImageContract::get().mitmproxy.live_policy_file,
            timeout: CONFIRM_TIMEOUT,
        }
    }

    /// The config file as it is now in the container.
    pub fn current(&self) -> Result<String, ReloadError> {
        let done = self.exec(&["cat", self.config_path], None)?;
        Ok(String::from_utf8_lossy(&done.stdout).into_owned())
    }

    /// Writes `text` and waits for the sidecar to confirm it; on any failure the file is put
    /// back as `previous` (best effort) and the error says what the sidecar said.
    pub fn load(&self, text: &str, previous: &str) -> Result<Reloaded, ReloadError> {
        let started = Instant::now();
        let since = since_arg(SystemTime::now());
        let failures_before = self.failures(&since)?.len();
        self.write(text)?;
        let want = sha256_hex(text.as_bytes());
        match self.confirm(&since, &want, failures_before) {
            Ok(()) => Ok(Reloaded {
                config_sha256: want,
                took: started.elapsed(),
            }),
            Err(e) => {
                let restored = match self.write(previous) {
                    Ok(()) => format!("the previous {} was put back", self.what()),
                    Err(r) => format!(
                        "putting the previous {} back failed too ({})",
                        self.what(),
                        r.said()
                    ),
                };
                Err(match e {
                    ReloadError::Failed(e) => ReloadError::Failed(e.context(restored)),
                    gone => gone,
                })
            }
        }
    }

    /// Beside the old file, then renamed over it: pipelock never reads half a file.
    fn write(&self, text: &str) -> Result<(), ReloadError> {
        let script = "cat > \"$1.bot-bottle-new\" && mv -f \"$1.bot-bottle-new\" \"$1\"";
        self.exec(
            &["sh", "-c", script, "sh", self.config_path],
            Some(text.as_bytes().to_vec()),
        )?;
        Ok(())
    }

    fn exec(
        &self,
        command: &[&str],
        stdin: Option<Vec<u8>>,
    ) -> Result<crate::engine::finished::Finished, ReloadError> {
        let mut args = vec!["exec"];
        if stdin.is_some() {
            args.push("-i");
        }
        args.push(self.container);
        args.extend_from_slice(command);
        let mut call = Call::new(args.iter().copied()).to_the_end();
        call.stdin = stdin;
        let done = self.engine.run(&call)?;
        if done.ok() {
            return Ok(done);
        }
        let said = done.stderr.trim().to_string();
        let lower = said.to_ascii_lowercase();
        if lower.contains("no such container") || lower.contains("is not running") {
            return Err(ReloadError::Gone(format!(
                "{} ({}) is gone: {said}",
                self.sidecar.name(),
                self.container
            )));
        }
        Err(ReloadError::Failed(anyhow!(
            "`{}` failed (exit {}): {said}",
            call.shown,
            done.code
        )))
    }

    /// The sidecar's log since `since` (both streams).
    fn log_since(&self, since: &str) -> Result<String, ReloadError> {
        let done = self
            .engine
            .run(&Call::new(["logs", "--since", since, self.container]))?;
        if !done.ok() {
            return Err(ReloadError::Gone(format!(
                "cannot read the log of {}: {}",
                self.sidecar.name(),
                done.stderr.trim()
            )));
        }
        Ok(format!(
            "{}\n{}",
            String::from_utf8_lossy(&done.stdout),
            done.stderr
        ))
    }

    fn failures(&self, since: &str) -> Result<Vec<String>, ReloadError> {
        Ok(self.sidecar.failures(&self.log_since(since)?))
    }

    fn confirm(&self, since: &str, want: &str, failures_before: usize) -> Result<(), ReloadError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let log = self.log_since(since)?;
            if self.sidecar.confirmed(&log, want) {
                return Ok(());
            }
            let failures = self.sidecar.failures(&log);
            if failures.len() > failures_before {
                return Err(ReloadError::Failed(anyhow!(
                    "{} refused the new {}: {}",
                    self.sidecar.name(),
                    self.what(),
                    failures[failures_before..].join("; ")
                )));
            }
            if Instant::now() >= deadline {
                return Err(ReloadError::Failed(anyhow!(
                    "{} did not confirm the reload: {} in its log within {:?}",
                    self.sidecar.name(),
                    self.sidecar.confirmation(want),
                    self.timeout
                )));
            }
            std::thread::sleep(POLL);
        }
    }
}

impl SidecarReload<'_> {
    fn what(&self) -> &'static str {
        match self.sidecar {
            Sidecar::Pipelock => "config",
            Sidecar::Addon => "live policy",
        }
    }
}

/// `docker logs --since` for a little before `now` (the engine's clock may lag).
fn since_arg(now: SystemTime) -> String {
    let t = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(Duration::from_secs(5));
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

/// Whether pipelock's log has a successful `config_reload` of the config whose hash is
/// `want` (logger.go `LogConfigReload`). Pure.
pub fn confirmed(log: &str, want: &str) -> bool {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l.trim()).ok())
        .any(|v| {
            v["event"] == "config_reload" && v["status"] == "success" && v["config_hash"] == want
        })
}

/// The reloads pipelock refused, as it logged them: `pipelock: config reload failed: …`
/// on stderr (reload.go `tryReload`), or an `error` event of method `CONFIG_RELOAD`
/// (server.go `Reload`: a rejected reload, e.g. one that widens trusted_domains in strict
/// mode). Pure.
pub fn reload_failures(log: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in log.lines().map(str::trim) {
        if let Some(i) = line.find("config reload failed") {
            out.push(line[i..].to_string());
        } else if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
            && v["event"] == "error"
            && v["method"] == "CONFIG_RELOAD"
        {
            out.push(v["error"].as_str().unwrap_or("rejected").to_string());
        }
    }
    out
}

/// The addon's line for a live policy it loaded (bottle_verdict.py, live_policy.py
/// `LOADED_LINE`), up to the hash.
pub const ADDON_LOADED: &str = "bottle_verdict: live policy loaded (sha256";
/// The addon's line for a live policy it could not use (`REFUSED_LINE`).
const ADDON_REFUSED: &str = "bottle_verdict: live policy refused (sha256";

/// mitmproxy's log lines, without the request log's (JSON objects, which quote what the
/// agent sent).
fn addon_lines(log: &str) -> impl Iterator<Item = &str> {
    log.lines().map(str::trim).filter(|l| !l.starts_with('{'))
}

/// Whether the addon's log says it loaded the live policy whose hash is `want`. Pure.
pub fn addon_confirmed(log: &str, want: &str) -> bool {
    let line = format!("{ADDON_LOADED} {want})");
    addon_lines(log).any(|l| l.contains(&line))
}

/// The live policies the addon could not use, as it logged them. Pure.
pub fn addon_failures(log: &str) -> Vec<String> {
    addon_lines(log)
        .filter_map(|l| l.find(ADDON_REFUSED).map(|i| l[i..].to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::scripted_engine::{Reply, ScriptedEngine};
    use crate::progress::Journal;
    use std::sync::{Arc, Mutex};

    const OK_LINE: &str = r#"{"level":"info","component":"pipelock","event":"config_reload","status":"success","detail":"mode=strict","config_hash":"HASH","time":"2026-12-04T23:10:00Z","message":"configuration reloaded"}"#;

    #[test]
    fn pipelocks_log_confirms_the_reload_of_exactly_this_config() {
        let log = OK_LINE.replace("HASH", "ab12");
        assert!(confirmed(&log, "ab12"));
        assert!(!confirmed(&log, "ab13"));
        assert!(!confirmed(&log.replace("success", "failed"), "ab12"));
        let failures = reload_failures(
            "pipelock: config reload failed: parsing config /etc/pipelock/pipelock.yaml: yaml: line 3: x\n\
             {\"level\":\"error\",\"event\":\"error\",\"method\":\"CONFIG_RELOAD\",\"resource\":\"/etc/pipelock/pipelock.yaml\",\"error\":\"rejected: security downgrade from strict mode\"}\n\
             {\"level\":\"error\",\"event\":\"error\",\"method\":\"GET\",\"error\":\"dial\"}\n",
        );
        assert_eq!(
            failures,
            [
                "config reload failed: parsing config /etc/pipelock/pipelock.yaml: yaml: line 3: x",
                "rejected: security downgrade from strict mode"
            ]
        );
    }

    #[test]
    fn the_addons_log_confirms_its_live_policy_and_the_request_log_cannot() {
        let loaded = "[03:51:28.123] bottle_verdict: live policy loaded (sha256 ab12): 1 live approval(s): *.example.dev";
        assert!(addon_confirmed(loaded, "ab12"));
        assert!(!addon_confirmed(loaded, "ab1"));
        assert!(!Sidecar::Pipelock.confirmed(loaded, "ab12"));
        // What the agent sends is quoted in the request log (JSON lines): never a confirmation.
        let quoted = r#"{"method":"GET","host":"x.test","path":"/bottle_verdict: live policy loaded (sha256 ab12)"}"#;
        assert!(!addon_confirmed(quoted, "ab12"));
        let refused = "[03:51:29.000] bottle_verdict: live policy refused (sha256 cd34): /x.json: approved[0]: must be a host name; every request is refused until a valid live policy is loaded";
        assert_eq!(
            addon_failures(&format!("{loaded}\n{quoted}\n{refused}\n")),
            [
                "bottle_verdict: live policy refused (sha256 cd34): /x.json: approved[0]: must be a host name; every request is refused until a valid live policy is loaded"
            ]
        );
    }

    #[test]
    fn the_addons_live_policy_is_written_in_place_and_confirmed_by_its_own_log() {
        let (ok, _) = engine(
            "[03:51:28.123] bottle_verdict: live policy loaded (sha256 HASH): 1 live approval(s): *.example.dev\n",
        );
        let reload = SidecarReload {
            sidecar: Sidecar::Addon,
            engine: &ok,
            container: "mitm",
            config_path: "/home/mitmproxy/.mitmproxy/bot-bottle-live-policy.json",
            timeout: Duration::from_secs(2),
        };
        let done = reload.load("{\"approved\":[]}", "old").unwrap();
        assert_eq!(done.config_sha256, sha256_hex(b"{\"approved\":[]}"));
        let (refused, _) = engine(
            "[03:51:29.000] bottle_verdict: live policy refused (sha256 HASH): bad; every request is refused until a valid live policy is loaded\n",
        );
        let reload = SidecarReload {
            engine: &refused,
            ..reload
        };
        match reload.load("{}", "old") {
            Err(ReloadError::Failed(e)) => {
                let e = format!("{e:#}");
                assert!(
                    e.contains("previous live policy was put back")
                        && e.contains("mitmproxy's addon refused the new live policy"),
                    "{e}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    fn engine(log_after_write: &'static str) -> (ScriptedEngine, Journal) {
        let journal: Journal = Arc::new(Mutex::new(Vec::new()));
        let written = Arc::new(Mutex::new(Vec::<String>::new()));
        let w = written.clone();
        let engine =
            ScriptedEngine::new(journal.clone(), move |call| match call.args[0].as_str() {
                "exec" => {
                    if let Some(stdin) = &call.stdin {
                        w.lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(stdin).into());
                    }
                    Reply::ok("old config")
                }
                "logs" => {
                    let writes = w.lock().unwrap();
                    match writes.first() {
                        Some(text) => {
                            Reply::ok(log_after_write.replace("HASH", &sha256_hex(text.as_bytes())))
                        }
                        None => Reply::ok(""),
                    }
                }
                _ => Reply::fail("unexpected"),
            });
        (engine, journal)
    }

    #[test]
    fn a_confirmed_reload_writes_once_and_a_refused_one_puts_the_old_file_back() {
        let (ok, _) = engine(OK_LINE);
        let reload = SidecarReload {
            sidecar: Sidecar::Pipelock,
            engine: &ok,
            container: "pl",
            config_path: "/etc/pipelock/pipelock.yaml",
            timeout: Duration::from_secs(2),
        };
        let done = reload.load("# new\n{}\n", "old").unwrap();
        assert_eq!(done.config_sha256, sha256_hex(b"# new\n{}\n"));
        let calls = ok.calls();
        let writes: Vec<_> = calls.iter().filter(|(_, c)| c.stdin.is_some()).collect();
        assert_eq!(writes.len(), 1);
        assert_eq!(
            writes[0].1.args,
            [
                "exec",
                "-i",
                "pl",
                "sh",
                "-c",
                "cat > \"$1.bot-bottle-new\" && mv -f \"$1.bot-bottle-new\" \"$1\"",
                "sh",
                "/etc/pipelock/pipelock.yaml"
            ]
        );

        let (refused, _) = engine("pipelock: config reload failed: yaml: bad\n");
        let reload = SidecarReload {
            engine: &refused,
            ..reload
        };
        let err = match reload.load("# new\n{}\n", "old") {
            Err(ReloadError::Failed(e)) => format!("{e:#}"),
            other => panic!("{other:?}"),
        };
        assert!(
            err.contains("previous config was put back")
                && err.contains("pipelock refused the new config: config reload failed: yaml: bad"),
            "{err}"
        );
        let stdins: Vec<String> = refused
            .calls()
            .iter()
            .filter_map(|(_, c)| c.stdin.clone())
            .map(|s| String::from_utf8(s).unwrap())
            .collect();
        assert_eq!(stdins, ["# new\n{}\n", "old"]);

        // The bottle ended meanwhile: its pipelock is gone, nothing is retried.
        let journal: Journal = Arc::new(Mutex::new(Vec::new()));
        let gone = ScriptedEngine::new(journal, |_| {
            Reply::fail("Error: No such container: bot-bottle-pipelock-dev-01234567")
        });
        let ended = SidecarReload {
            engine: &gone,
            ..reload
        };
        assert!(matches!(ended.current(), Err(ReloadError::Gone(_))));
        assert!(matches!(ended.load("x", "y"), Err(ReloadError::Gone(_))));

        let (silent, _) = engine("");
        let reload = SidecarReload {
            engine: &silent,
            timeout: Duration::from_millis(300),
            ..reload
        };
        match reload.load("# new\n{}\n", "old") {
            Err(ReloadError::Failed(e)) => {
                assert!(
                    format!("{e:#}").contains("did not confirm the reload"),
                    "{e:#}"
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
