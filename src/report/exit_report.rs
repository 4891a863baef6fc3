//! The exit report: at the end of `bottle run`, on every exit path and before teardown
//! removes the containers, mitmproxy's request log is read (`docker logs`, run to the
//! end even after a signal), summarised on stderr, and with `--report FILE` written as
//! JSON (docs/report.md; schema docs/report.schema.json): the bottle, how it ended, the
//! images with their ids and digests, the allowlist, a hash of the rendered pipelock
//! config and one of the addon's rules (per-host methods and paths, git push), the
//! counts, and at the end the live policy changes and what the session needed off the
//! allowlist (`needed_hosts`). Building the report is pure; the hook does I/O.

use crate::digest::sha256_hex;
use crate::engine::call::Call;
use crate::engine::docker_engine::DockerEngine;
use crate::launch::executor::Ending;
pub use crate::launch::supervisor::Restart;
use crate::naming::Role;
use crate::plan::bottle_plan::BottlePlan;
use crate::plan::undo::Undo;
use crate::policy::live_policy::LivePolicy;
use crate::progress::Progress;
use crate::report::needed_hosts::Needed;
use crate::report::port_traffic::PortTraffic;
use crate::report::request_log::RequestLine;
use crate::report::summary::{BlockedHost, Counts, HostCounts, LaneCounts, ReasonCount, Summary};
use crate::runtime::policy_journal::{PolicyChange, PolicyJournal};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `"report"` of every exit report.
pub const REPORT_KIND: &str = "bot-bottle.exit-report";
pub const REPORT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExitReport {
    pub report: &'static str,
    pub v: u32,
    pub bottle_id: String,
    pub agent: String,
    pub bottle: String,
    pub ended: Ended,
    pub images: Vec<ImageInfo>,
    pub allowlist: Vec<String>,
    /// SHA-256 (hex) of the addon's rules (`AddonPolicy::sha256`).
    pub addon_policy_sha256: String,
    /// SHA-256 (hex) of the pipelock config as rendered and copied into pipelock.
    pub pipelock_config_sha256: String,
    /// SHA-256 (hex) of the model pipelock's config, likewise.
    pub model_pipelock_config_sha256: String,
    pub log: LogInfo,
    /// Each sidecar restart during the session, in order.
    pub restarts: Vec<Restart>,
    pub totals: Counts,
    /// The model lane's and the web lane's counts, redactions and server egress.
    pub lanes: BTreeMap<String, LaneCounts>,
    pub hosts: Vec<HostCounts>,
    pub reasons: Vec<ReasonCount>,
    pub blocked_most: Vec<BlockedHost>,
    /// Every live change of the allowlist (`bottle allow-host` / `deny-host`), in order.
    pub policy_changes: Vec<PolicyChange>,
    /// The allowlist pipelock had at the end (the launch's plus live approvals).
    pub allowlist_at_end: Vec<String>,
    /// What the session needed off the allowlist, and the line for the next launch.
    pub needed: Needed,
    /// `bottle run -p`: each published port and what went through it (empty without).
    pub ports: Vec<PortTraffic>,
}

/// How the launch ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ended {
    /// `exited`, `failed`, `signal`, `panicked` or `sidecar_failed`.
    pub how: &'static str,
    /// The command's exit code (`exited`).
    pub code: Option<i32>,
    /// The signal's number (`signal`).
    pub signal: Option<i32>,
    /// The failed step's error (`failed`), or why supervision ended the session
    /// (`sidecar_failed`).
    pub error: Option<String>,
}

impl Ended {
    pub fn of(ending: &Ending) -> Ended {
        let (how, code, signal, error) = match ending {
            Ending::Exited(c) => ("exited", Some(*c), None, None),
            Ending::Failed(e) => ("failed", None, None, Some(e.clone())),
            Ending::Signal(s) => ("signal", None, Some(*s), None),
            Ending::Panicked => ("panicked", None, None, None),
            Ending::SidecarFailed(e) => ("sidecar_failed", None, None, Some(e.clone())),
        };
        Ended {
            how,
            code,
            signal,
            error,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageInfo {
    /// `agent`, `pipelock` or `mitmproxy`.
    pub role: String,
    pub reference: String,
    /// The image id (its config digest, `sha256:…`), when Docker has the image.
    pub id: Option<String>,
    /// Registry digests (`name@sha256:…`); empty for an image built or loaded locally.
    pub repo_digests: Vec<String>,
}

/// Whether mitmproxy's log could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogInfo {
    pub read: bool,
    /// Why not.
    pub error: Option<String>,
    /// Request lines found.
    pub requests: u64,
}

/// What a report says about the bottle, besides the traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub bottle_id: String,
    pub agent: String,
    pub bottle: String,
    pub allowlist: Vec<String>,
    pub addon_policy_sha256: String,
    pub pipelock_config_sha256: String,
    pub model_pipelock_config_sha256: String,
}

impl Identity {
    pub fn of(plan: &BottlePlan) -> Identity {
        Identity {
            bottle_id: plan.bottle_id.clone(),
            agent: plan.agent.clone(),
            bottle: plan.bottle.clone(),
            allowlist: plan.egress.allowlist.clone(),
            addon_policy_sha256: plan.mitmproxy.addon.policy.sha256(),
            pipelock_config_sha256: sha256_hex(plan.pipelock.config.render().as_bytes()),
            model_pipelock_config_sha256: sha256_hex(
                plan.model_pipelock.config.render().as_bytes(),
            ),
        }
    }
}

/// The live policy side of a report: the journal's changes and what was needed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySide {
    pub changes: Vec<PolicyChange>,
    pub allowlist_at_end: Option<Vec<String>>,
    pub needed: Needed,
}

impl PolicySide {
    /// From the request lines and the bottle's journal (when it could be read).
    pub fn of(lines: &[RequestLine], live: Option<&LivePolicy>) -> PolicySide {
        PolicySide {
            changes: live.map(|l| l.changes.clone()).unwrap_or_default(),
            allowlist_at_end: live.map(LivePolicy::allowlist),
            needed: Needed::of(lines, live),
        }
    }
}

impl ExitReport {
    /// Pure.
    pub fn build(
        identity: Identity,
        ended: Ended,
        images: Vec<ImageInfo>,
        log: LogInfo,
        restarts: Vec<Restart>,
        summary: Summary,
        policy: PolicySide,
    ) -> ExitReport {
        ExitReport {
            report: REPORT_KIND,
            v: REPORT_VERSION,
            bottle_id: identity.bottle_id,
            agent: identity.agent,
            bottle: identity.bottle,
            ended,
            images,
            allowlist: identity.allowlist.clone(),
            addon_policy_sha256: identity.addon_policy_sha256,
            pipelock_config_sha256: identity.pipelock_config_sha256,
            model_pipelock_config_sha256: identity.model_pipelock_config_sha256,
            log,
            restarts,
            totals: summary.total,
            lanes: summary.lanes,
            hosts: summary.hosts,
            reasons: summary.reasons,
            blocked_most: summary.blocked_most,
            ports: Vec::new(),
            policy_changes: policy.changes,
            allowlist_at_end: policy
                .allowlist_at_end
                .unwrap_or_else(|| identity.allowlist.clone()),
            needed: policy.needed,
        }
    }

    /// With what went through the published ports (`bottle run -p`).
    pub fn with_ports(self, ports: Vec<PortTraffic>) -> ExitReport {
        ExitReport { ports, ..self }
    }
}

/// The exit report's hook: reads the log before teardown, prints, writes.
pub struct ExitReporter<'a> {
    pub plan: &'a BottlePlan,
    /// Its summary lines are silenced by `-q` (the file is still written).
    pub progress: &'a Progress,
    /// `--report FILE`.
    pub file: Option<PathBuf>,
    /// The bottle's live policy journal (`bottle allow-host`), read before teardown.
    pub journal: Option<&'a PolicyJournal>,
}

impl ExitReporter<'_> {
    /// Runs before teardown ([`crate::launch::executor::BeforeTeardown`]).
    pub fn before_teardown(
        &self,
        engine: &dyn DockerEngine,
        registered: &[Undo],
        ending: &Ending,
        restarts: &[Restart],
    ) {
        let started = std::time::Instant::now();
        let mitm = Undo::Containers {
            bottle_id: self.plan.bottle_id.clone(),
            role: Role::Mitmproxy,
        };
        let log = if registered.contains(&mitm) {
            read_log(engine, &self.plan.mitmproxy.container)
        } else {
            Err("mitmproxy was never started".to_string())
        };
        let lines = match &log {
            Ok(text) => RequestLine::parse_all(text),
            Err(_) => Vec::new(),
        };
        let summary = Summary::of(&lines);
        let live = self.live_policy();
        let policy = PolicySide::of(&lines, live.as_ref());
        let end = policy.needed.render(&self.plan.bottle, &policy.changes);
        match &log {
            Ok(_) => {
                for line in summary.render().lines().chain(end.lines()) {
                    self.progress.say(line);
                }
            }
            Err(e) if registered.contains(&mitm) => self
                .progress
                .warn(&format!("cannot read mitmproxy's request log: {e}")),
            _ => {}
        }
        let ports = self.port_traffic(engine, registered);
        if let Some(file) = &self.file {
            let info = LogInfo {
                read: log.is_ok(),
                error: log.err(),
                requests: lines.len() as u64,
            };
            let report = ExitReport::build(
                Identity::of(self.plan),
                Ended::of(ending),
                images(engine, self.plan),
                info,
                restarts.to_vec(),
                summary,
                policy,
            )
            .with_ports(ports);
            let mut text = serde_json::to_string_pretty(&report).expect("plain data serializes");
            text.push('\n');
            match std::fs::write(file, text) {
                Ok(()) => self.progress.step(&format!(
                    "exit report written to {} in {:.2}s",
                    file.display(),
                    started.elapsed().as_secs_f64()
                )),
                Err(e) => self
                    .progress
                    .warn(&format!("cannot write the report {}: {e}", file.display())),
            }
        }
    }
}

impl ExitReporter<'_> {
    /// What went through the published ports, from the forwarder's output (printed too);
    /// zeros when it was never started or its output cannot be read.
    fn port_traffic(&self, engine: &dyn DockerEngine, registered: &[Undo]) -> Vec<PortTraffic> {
        let Some(ports) = &self.plan.ports else {
            return Vec::new();
        };
        let forwarder = Undo::Containers {
            bottle_id: self.plan.bottle_id.clone(),
            role: Role::Forwarder,
        };
        let log = if registered.contains(&forwarder) {
            read_log(engine, &ports.forwarder).unwrap_or_else(|e| {
                self.progress
                    .warn(&format!("cannot read the port forwarder's output: {e}"));
                String::new()
            })
        } else {
            String::new()
        };
        let traffic = PortTraffic::of(ports, &log);
        for port in &traffic {
            self.progress.say(&format!("published {}", port.render()));
        }
        traffic
    }

    /// The journal folded, when there is one that reads.
    fn live_policy(&self) -> Option<LivePolicy> {
        let journal = self.journal?.read();
        match journal {
            Ok(Some(j)) => match LivePolicy::of(&j) {
                Ok(live) => Some(live),
                Err(e) => {
                    self.progress.warn(&format!("the policy journal: {e}"));
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                self.progress.warn(&format!("{e:#}"));
                None
            }
        }
    }
}

/// `docker logs CONTAINER` (its stdout, where the addon writes), run to the end even
/// after a signal.
pub fn read_log(engine: &dyn DockerEngine, container: &str) -> Result<String, String> {
    let call = Call::new(["logs", container]).to_the_end();
    match engine.run(&call) {
        Ok(done) if done.ok() => Ok(String::from_utf8_lossy(&done.stdout).into_owned()),
        Ok(done) => Err(done.stderr.trim().to_string()),
        Err(e) => Err(format!("{e:#}")),
    }
}

/// The plan's three images, with what Docker knows of them.
fn images(engine: &dyn DockerEngine, plan: &BottlePlan) -> Vec<ImageInfo> {
    plan.images
        .all()
        .into_iter()
        .map(|image| {
            let call = Call::new([
                "image",
                "inspect",
                "--format",
                "{{.Id}} {{json .RepoDigests}}",
                &image.reference,
            ])
            .to_the_end();
            let (id, repo_digests) = match engine.run(&call) {
                Ok(done) if done.ok() => {
                    let text = done.stdout_text();
                    let (id, digests) = text.split_once(' ').unwrap_or((&text, "[]"));
                    (
                        Some(id.to_string()),
                        serde_json::from_str(digests).unwrap_or_default(),
                    )
                }
                _ => (None, Vec::new()),
            };
            ImageInfo {
                role: image.role.name().to_string(),
                reference: image.reference.clone(),
                id,
                repo_digests,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::call::Mode;
    use crate::engine::scripted_engine::{Reply, ScriptedEngine};
    use crate::plan::fixture::a_plan;
    use crate::progress::Journal;
    use std::sync::{Arc, Mutex};

    /// Issue 12: the exit report's hook reads mitmproxy's log (to the end, whatever signal
    /// came), prints the summary, and writes `--report`; when mitmproxy was never started it
    /// reads nothing and still writes the report.
    #[test]
    fn the_exit_report_reads_mitmproxys_log_prints_the_summary_and_writes_the_file() {
        use crate::report::exit_report::ExitReporter;
        let plan = a_plan(|_| {});
        let mitm = plan.mitmproxy.container.clone();
        let journal: Journal = Arc::new(Mutex::new(Vec::new()));
        let engine = ScriptedEngine::new(journal.clone(), move |call| {
            if call.args[..] == ["logs".to_string(), mitm.clone()] {
                Reply::ok(include_str!("../../tests/fixtures/request-log.txt"))
            } else if call.args[..2] == ["image", "inspect"] {
                Reply::ok("sha256:3f1c [\"registry.example/agent@sha256:aa\"]")
            } else {
                Reply::fail("unexpected")
            }
        });
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("report.json");
        let progress = Progress::recording(journal.clone());
        let reporter = ExitReporter {
            plan: &plan,
            progress: &progress,
            file: Some(file.clone()),
            journal: None,
        };
        let mitm_undo = Undo::Containers {
            bottle_id: plan.bottle_id.clone(),
            role: Role::Mitmproxy,
        };
        reporter.before_teardown(&engine, &[mitm_undo], &Ending::Signal(libc::SIGINT), &[]);
        let calls = engine.calls();
        assert_eq!(
            calls[0].1.mode,
            Mode::Finish,
            "read to the end after a signal"
        );
        let lines = journal.lock().unwrap().clone();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("bottle: traffic: 8 request(s): 3 allowed")),
            "{lines:#?}"
        );
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(report["ended"]["signal"], libc::SIGINT);
        assert_eq!(report["totals"]["requests"], 8);
        assert_eq!(report["images"][0]["id"], "sha256:3f1c");
        assert_eq!(
            report["images"][0]["repo_digests"][0],
            "registry.example/agent@sha256:aa"
        );
        assert_eq!(
            report["addon_policy_sha256"],
            plan.mitmproxy.addon.policy.sha256()
        );
        assert_eq!(
            report["pipelock_config_sha256"],
            crate::digest::sha256_hex(plan.pipelock.config.render().as_bytes())
        );

        // mitmproxy never started: no log read, the report says so.
        let before = engine.calls().len();
        reporter.before_teardown(&engine, &[], &Ending::Failed("no network".into()), &[]);
        let calls = engine.calls();
        assert!(calls[before..].iter().all(|(_, c)| c.args[0] != "logs"));
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(report["log"]["read"], false);
        assert_eq!(report["log"]["error"], "mitmproxy was never started");
        assert_eq!(report["ended"]["how"], "failed");
    }
}
