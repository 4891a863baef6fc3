//! `PipelockReload`: a new config for a running pipelock, loaded in place. pipelock
//! (v2.3.0, internal/config/reload.go) watches its config file's directory and re-reads
//! the file when it is written or renamed into place; a reload swaps its scanner without
//! touching open connections (internal/cli/runtime/server.go `Reload`), so nothing
//! restarts and a stream in flight goes on. The new file is written beside the old one and
//! renamed over it (`docker exec`, the config on stdin), then pipelock's own log must say
//! `config_reload` with the new file's SHA-256 (`config_hash`, load.go `Hash`); a `config
//! reload failed` line, a rejected reload, or silence puts the old file back and fails.
//! I/O (through the engine).

use crate::digest::sha256_hex;
use crate::engine::call::Call;
use crate::engine::docker_engine::DockerEngine;
use anyhow::{Result, anyhow};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long pipelock may take to log the reload (its debounce is 100 ms).
pub const CONFIRM_TIMEOUT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(100);

/// One running pipelock's config file.
pub struct PipelockReload<'a> {
    pub engine: &'a dyn DockerEngine,
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

impl From<anyhow::Error> for ReloadError {
    fn from(e: anyhow::Error) -> ReloadError {
        ReloadError::Failed(e)
    }
}

impl PipelockReload<'_> {
    /// The config file as it is now in the container.
    pub fn current(&self) -> Result<String, ReloadError> {
        let done = self.exec(&["cat", self.config_path], None)?;
        Ok(String::from_utf8_lossy(&done.stdout).into_owned())
    }

    /// Writes `text` and waits for pipelock to confirm it; on any failure the file is put
    /// back as `previous` (best effort) and the error says what pipelock said.
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
                    Ok(()) => "the previous config was put back".to_string(),
                    Err(r) => format!(
                        "putting the previous config back failed too ({})",
                        match r {
                            ReloadError::Gone(m) => m,
                            ReloadError::Failed(e) => format!("{e:#}"),
                        }
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
                "pipelock ({}) is gone: {said}",
                self.container
            )));
        }
        Err(ReloadError::Failed(anyhow!(
            "`{}` failed (exit {}): {said}",
            call.shown,
            done.code
        )))
    }

    /// pipelock's log since `since` (both streams).
    fn log_since(&self, since: &str) -> Result<String, ReloadError> {
        let done = self
            .engine
            .run(&Call::new(["logs", "--since", since, self.container]))?;
        if !done.ok() {
            return Err(ReloadError::Gone(format!(
                "cannot read pipelock's log: {}",
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
        Ok(reload_failures(&self.log_since(since)?))
    }

    fn confirm(&self, since: &str, want: &str, failures_before: usize) -> Result<(), ReloadError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let log = self.log_since(since)?;
            if confirmed(&log, want) {
                return Ok(());
            }
            let failures = reload_failures(&log);
            if failures.len() > failures_before {
                return Err(ReloadError::Failed(anyhow!(
                    "pipelock refused the new config: {}",
                    failures[failures_before..].join("; ")
                )));
            }
            if Instant::now() >= deadline {
                return Err(ReloadError::Failed(anyhow!(
                    "pipelock did not confirm the reload: no `config_reload` line with config_hash {want} in its log within {:?}",
                    self.timeout
                )));
            }
            std::thread::sleep(POLL);
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
        let reload = PipelockReload {
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
        let reload = PipelockReload {
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
        let ended = PipelockReload {
            engine: &gone,
            ..reload
        };
        assert!(matches!(ended.current(), Err(ReloadError::Gone(_))));
        assert!(matches!(ended.load("x", "y"), Err(ReloadError::Gone(_))));

        let (silent, _) = engine("");
        let reload = PipelockReload {
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
