//! `LaunchRecord`: what one launch created, written to `<runtime dir>/<bottle id>.record`
//! as it goes, one JSON object per line, each line written whole (one `write`, O_APPEND)
//! before the resource's create command starts, and the container's id right after it
//! returns; a SIGKILL at any point leaves a record that names everything that may exist.
//! `bottle cleanup` reads them back ([`ReadRecord`]). I/O (files).
//!
//! Format (version 1), the first line is always the launch:
//! ```text
//! {"entry":"launch","v":1,"bottle_id":"0123456789abcdef","agent":"dev","uid":1000,"pid":4242}
//! {"entry":"network","name":"bot-bottle-net-dev-01234567"}
//! {"entry":"container","role":"pipelock","name":"bot-bottle-pipelock-dev-01234567"}
//! {"entry":"container","role":"pipelock","name":"bot-bottle-pipelock-dev-01234567","id":"4f1c…"}
//! {"entry":"env_file","path":"/run/user/1000/bot-bottle/0123456789abcdef.env"}
//! {"entry":"image","tag":"bot-bottle-cwd-dev-01234567:latest"}
//! ```

use crate::runtime::runtime_dir::RuntimeDir;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const RECORD_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum Entry {
    Launch {
        v: u32,
        bottle_id: String,
        agent: String,
        uid: u32,
        pid: u32,
    },
    Network {
        name: String,
    },
    /// Written before the create (no id) and again once it returned the id.
    Container {
        role: String,
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    Image {
        tag: String,
    },
    EnvFile {
        path: String,
    },
}

/// The record a running launch appends to.
pub struct LaunchRecord {
    path: PathBuf,
    env_file: PathBuf,
    /// The launch's policy journal (`PolicyJournal`), removed with the record.
    policy: PathBuf,
    file: Mutex<std::fs::File>,
}

impl LaunchRecord {
    /// A new record (0600, must not exist) whose first line is the launch.
    pub fn create(dir: &RuntimeDir, bottle_id: &str, agent: &str, uid: u32) -> Result<Self> {
        let path = dir.record_file(bottle_id);
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot create the launch record {}", path.display()))?;
        let record = LaunchRecord {
            path,
            env_file: dir.env_file(bottle_id),
            policy: dir.policy_file(bottle_id),
            file: Mutex::new(file),
        };
        record.note(&Entry::Launch {
            v: RECORD_VERSION,
            bottle_id: bottle_id.into(),
            agent: agent.into(),
            uid,
            pid: std::process::id(),
        })?;
        Ok(record)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where this launch's env-file goes.
    pub fn env_file(&self) -> &Path {
        &self.env_file
    }

    /// Appends one line, in one write.
    pub fn note(&self, entry: &Entry) -> Result<()> {
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(&line)
            .with_context(|| format!("cannot write the launch record {}", self.path.display()))
    }

    /// The launch left nothing behind: the policy journal and the record go too.
    pub fn remove(&self) -> std::io::Result<()> {
        for path in [&self.policy, &self.path] {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }
}

/// A record read back (by `bottle cleanup`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRecord {
    pub bottle_id: String,
    /// From the launch line; empty when the record has none (torn, foreign).
    pub agent: String,
    pub entries: Vec<Entry>,
}

impl ReadRecord {
    /// Reads `<dir>/<bottle_id>.record`; a missing file is an empty record. Lines that
    /// do not parse (a torn last line, a future version's entry) are skipped.
    pub fn read(dir: &RuntimeDir, bottle_id: &str) -> Result<ReadRecord> {
        let path = dir.record_file(bottle_id);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        Ok(ReadRecord::parse(bottle_id, &text))
    }

    /// Pure.
    pub fn parse(bottle_id: &str, text: &str) -> ReadRecord {
        let entries: Vec<Entry> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let agent = entries
            .iter()
            .find_map(|e| match e {
                Entry::Launch { agent, .. } => Some(agent.clone()),
                _ => None,
            })
            .unwrap_or_default();
        ReadRecord {
            bottle_id: bottle_id.into(),
            agent,
            entries,
        }
    }

    /// Container names and ids, network names and image tags the launch created.
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        for e in &self.entries {
            match e {
                Entry::Container { name, id, .. } => {
                    out.push(name.clone());
                    out.extend(id.clone());
                }
                Entry::Network { name } => out.push(name.clone()),
                Entry::Image { tag } => out.push(tag.clone()),
                Entry::Launch { .. } | Entry::EnvFile { .. } => {}
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_is_whole_json_and_reads_back_past_a_torn_end() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RuntimeDir::at(&tmp.path().join("rt"), crate::host_snapshot::uid()).unwrap();
        let id = "0123456789abcdef";
        let record = LaunchRecord::create(&dir, id, "dev", 1000).unwrap();
        assert!(
            LaunchRecord::create(&dir, id, "dev", 1000).is_err(),
            "a record is never reused"
        );
        let mode = std::os::unix::fs::MetadataExt::mode(&std::fs::metadata(record.path()).unwrap());
        assert_eq!(mode & 0o777, 0o600);
        record
            .note(&Entry::Network {
                name: "bot-bottle-net-dev-01234567".into(),
            })
            .unwrap();
        record
            .note(&Entry::Container {
                role: "agent".into(),
                name: "pinned".into(),
                id: None,
            })
            .unwrap();
        record
            .note(&Entry::Container {
                role: "agent".into(),
                name: "pinned".into(),
                id: Some("c0ffee".into()),
            })
            .unwrap();
        record
            .note(&Entry::Image {
                tag: "bot-bottle-cwd-dev-01234567:latest".into(),
            })
            .unwrap();
        // A SIGKILL in the middle of a write cannot happen (one write per line), but a
        // foreign or future line must not hide the rest.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(record.path())
            .unwrap();
        f.write_all(b"{\"entry\":\"volume\",\"name\":\"x\"}\n{\"entry\":\"netw")
            .unwrap();
        let text = std::fs::read_to_string(record.path()).unwrap();
        assert!(
            text.starts_with(&format!(
                "{{\"entry\":\"launch\",\"v\":1,\"bottle_id\":\"{id}\",\"agent\":\"dev\",\"uid\":1000,\"pid\":"
            )),
            "{text}"
        );
        let back = ReadRecord::read(&dir, id).unwrap();
        assert_eq!(back.agent, "dev");
        assert_eq!(
            back.names(),
            [
                "bot-bottle-cwd-dev-01234567:latest",
                "bot-bottle-net-dev-01234567",
                "c0ffee",
                "pinned"
            ]
        );
        record.remove().unwrap();
        record.remove().unwrap();
        assert!(ReadRecord::read(&dir, id).unwrap().entries.is_empty());
    }
}
