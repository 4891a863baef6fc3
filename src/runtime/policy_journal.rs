//! `PolicyJournal`: a running bottle's policy as it changes, kept in
//! `<runtime dir>/<bottle id>.policy`, one JSON object per line, each written whole (one
//! `write`, O_APPEND): first the launch's pipelock config (what the plan rendered), then
//! every live change `bottle allow-host` / `deny-host` made, after pipelock confirmed it.
//! The exit report, `bottle logs`, `ls` and `info` read it back; a restarted pipelock gets
//! its allowlist from it again. Changes are serialised by an exclusive `flock` on the
//! file. I/O (files).
//!
//! Format (version 1):
//! ```text
//! {"entry":"launch","v":1,"bottle_id":"0123456789abcdef","agent":"dev","bottle":"dev","pipelock":"bot-bottle-pipelock-dev-01234567","config_path":"/etc/pipelock/pipelock.yaml","config":"{\"version\":1,…}"}
//! {"entry":"change","n":1,"at":"2026-12-04T23:10:00.123Z","host":"registry.npmjs.org","change":"added","config_sha256":"…"}
//! ```

use crate::runtime::runtime_dir::RuntimeDir;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub const JOURNAL_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum JournalEntry {
    Launch(LaunchEntry),
    Change(PolicyChange),
}

/// The launch: which bottle, its web pipelock, and the config the plan rendered for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchEntry {
    pub v: u32,
    pub bottle_id: String,
    pub agent: String,
    pub bottle: String,
    /// The pipelock container whose allowlist the live changes touch.
    pub pipelock: String,
    pub config_path: String,
    /// The pipelock config as the plan rendered it (no secret: those go by name).
    pub config: String,
}

/// One live change of the allowlist, written once pipelock confirmed its reload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyChange {
    /// 1, 2, … in the order they were made.
    pub n: u32,
    /// UTC, `2026-12-04T23:10:00.123Z`.
    pub at: String,
    pub host: String,
    pub change: ChangeKind,
    /// SHA-256 (hex) of the pipelock config this change loaded.
    pub config_sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
}

impl ChangeKind {
    pub fn word(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
        }
    }
}

/// A journal read back: the launch line and the changes, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    pub launch: LaunchEntry,
    pub changes: Vec<PolicyChange>,
}

impl Journal {
    /// Pure. `None` without a launch line; lines that do not parse (a future version's)
    /// are skipped.
    pub fn parse(text: &str) -> Option<Journal> {
        let mut journal: Option<Journal> = None;
        for entry in text
            .lines()
            .filter_map(|l| serde_json::from_str::<JournalEntry>(l).ok())
        {
            match entry {
                JournalEntry::Launch(launch) if journal.is_none() => {
                    journal = Some(Journal {
                        launch,
                        changes: Vec::new(),
                    })
                }
                JournalEntry::Change(c) => {
                    if let Some(j) = journal.as_mut() {
                        j.changes.push(c);
                    }
                }
                JournalEntry::Launch(_) => {}
            }
        }
        journal
    }
}

/// The journal file of one bottle.
pub struct PolicyJournal {
    path: PathBuf,
}

impl PolicyJournal {
    pub fn of(dir: &RuntimeDir, bottle_id: &str) -> PolicyJournal {
        PolicyJournal {
            path: dir.policy_file(bottle_id),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new journal (0600, must not exist) whose first line is the launch.
    pub fn create(&self, launch: &JournalEntry) -> Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(&self.path)
            .with_context(|| format!("cannot create the policy journal {}", self.path.display()))?;
        write_line(&mut file, launch, &self.path)
    }

    /// The journal, or `None` when the file does not exist.
    pub fn read(&self) -> Result<Option<Journal>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(Journal::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", self.path.display())),
        }
    }

    /// Holds the journal exclusively (other `allow-host`s wait) until the guard drops.
    pub fn lock(&self) -> Result<JournalLock> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .with_context(|| format!("cannot open the policy journal {}", self.path.display()))?;
        // SAFETY: flock(2) on a descriptor we own; released when the file closes.
        let locked = unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX) };
        if locked != 0 {
            bail!(
                "cannot lock the policy journal {}: {}",
                self.path.display(),
                std::io::Error::last_os_error()
            );
        }
        Ok(JournalLock {
            file,
            path: self.path.clone(),
        })
    }
}

/// The journal, held: changes are appended through it.
pub struct JournalLock {
    file: std::fs::File,
    path: PathBuf,
}

impl JournalLock {
    /// The journal as it is now (read under the lock).
    pub fn read(&self) -> Result<Journal> {
        let text = std::fs::read_to_string(&self.path)
            .with_context(|| format!("cannot read {}", self.path.display()))?;
        Journal::parse(&text).with_context(|| {
            format!(
                "the policy journal {} has no launch line",
                self.path.display()
            )
        })
    }

    pub fn append(&mut self, change: &PolicyChange) -> Result<()> {
        write_line(
            &mut self.file,
            &JournalEntry::Change(change.clone()),
            &self.path,
        )
    }
}

fn write_line(file: &mut std::fs::File, entry: &JournalEntry, path: &Path) -> Result<()> {
    let mut line = serde_json::to_vec(entry)?;
    line.push(b'\n');
    file.write_all(&line)
        .with_context(|| format!("cannot write the policy journal {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch() -> JournalEntry {
        JournalEntry::Launch(LaunchEntry {
            v: JOURNAL_VERSION,
            bottle_id: "0123456789abcdef".into(),
            agent: "dev".into(),
            bottle: "web".into(),
            pipelock: "bot-bottle-pipelock-dev-01234567".into(),
            config_path: "/etc/pipelock/pipelock.yaml".into(),
            config: "{\"version\":1}".into(),
        })
    }

    #[test]
    fn the_launch_line_then_changes_in_order_read_back_past_a_torn_end() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RuntimeDir::at(&tmp.path().join("rt"), crate::host_snapshot::uid()).unwrap();
        let journal = PolicyJournal::of(&dir, "0123456789abcdef");
        assert_eq!(journal.read().unwrap(), None);
        journal.create(&launch()).unwrap();
        assert!(journal.create(&launch()).is_err(), "never reused");
        let mode =
            std::os::unix::fs::MetadataExt::mode(&std::fs::metadata(journal.path()).unwrap());
        assert_eq!(mode & 0o777, 0o600);
        let mut held = journal.lock().unwrap();
        for (n, change) in [(1, ChangeKind::Added), (2, ChangeKind::Removed)] {
            held.append(&PolicyChange {
                n,
                at: format!("2026-12-04T23:10:0{n}.000Z"),
                host: "registry.npmjs.org".into(),
                change,
                config_sha256: "ab".into(),
            })
            .unwrap();
        }
        drop(held);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(journal.path())
            .unwrap();
        f.write_all(b"{\"entry\":\"future\"}\n{\"entry\":\"cha")
            .unwrap();
        let back = journal.read().unwrap().unwrap();
        assert_eq!(back.launch.bottle, "web");
        assert_eq!(back.launch.pipelock, "bot-bottle-pipelock-dev-01234567");
        assert_eq!(
            back.changes.iter().map(|c| c.change).collect::<Vec<_>>(),
            [ChangeKind::Added, ChangeKind::Removed]
        );
        let text = std::fs::read_to_string(journal.path()).unwrap();
        assert!(
            text.lines().nth(1).unwrap().starts_with(
                "{\"entry\":\"change\",\"n\":1,\"at\":\"2026-12-04T23:10:01.000Z\",\"host\":\"registry.npmjs.org\",\"change\":\"added\""
            ),
            "{text}"
        );
    }
}
