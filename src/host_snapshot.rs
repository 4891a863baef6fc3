//! What the planner may know about the host: environment values, cwd, uid/gid, home, the
//! skills on disk and a fresh launch id. `capture` does the I/O; everything downstream
//! gets this plain value, so plans are deterministic for a given snapshot.

use crate::config::catalog::SkillIndex;
use crate::config::resources::EngineCapacity;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Clone)]
pub struct HostSnapshot {
    /// The host environment. Values are read only for forwarding at launch and for
    /// presence checks; plans carry names only.
    pub env: BTreeMap<String, String>,
    pub cwd: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
    /// 16 lowercase hex digits, fresh for every launch.
    pub launch_id: String,
    pub skills: SkillIndex,
    /// What the Docker engine has, when it was asked (a launch asks; `bottle plan` does
    /// not need an engine). Default limits shrink to fit it; set ones must fit.
    pub engine: Option<EngineCapacity>,
    /// The host has `::1` (`bottle run -p` publishes there too).
    pub loopback_v6: bool,
}

/// The host environment (variables that are not UTF-8 are left out).
pub fn env_vars() -> BTreeMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// The real uid of this process.
pub fn uid() -> u32 {
    // SAFETY: getuid cannot fail and touches no memory.
    unsafe { libc::getuid() }
}

/// Debug output names the environment's variables, never their values.
impl std::fmt::Debug for HostSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostSnapshot")
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("cwd", &self.cwd)
            .field("uid", &self.uid)
            .field("gid", &self.gid)
            .field("home", &self.home)
            .field("launch_id", &self.launch_id)
            .field("skills", &self.skills)
            .field("engine", &self.engine)
            .field("loopback_v6", &self.loopback_v6)
            .finish()
    }
}

impl HostSnapshot {
    /// Reads the real host.
    pub fn capture() -> anyhow::Result<HostSnapshot> {
        let env = env_vars();
        let cwd = std::env::current_dir()?;
        let home = env
            .get("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        // SAFETY: getgid cannot fail and touches no memory.
        let (uid, gid) = (uid(), unsafe { libc::getgid() });
        let skills = scan_skills(&home.join(".claude/skills"));
        Ok(HostSnapshot {
            env,
            cwd,
            uid,
            gid,
            home,
            launch_id: new_launch_id()?,
            skills,
            engine: None,
            loopback_v6: has_loopback_v6(),
        })
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }

    /// Where a skill lives on the host.
    pub fn skill_dir(&self, name: &str) -> PathBuf {
        self.home.join(".claude/skills").join(name)
    }
}

/// Lists the directories under `dir`; a missing directory simply has no skills.
pub fn scan_skills(dir: &Path) -> SkillIndex {
    let names: BTreeSet<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    SkillIndex {
        dir: dir.display().to_string(),
        names,
    }
}

/// Whether a socket can be bound on `[::1]` (IPv6 may be off on the host).
fn has_loopback_v6() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

fn new_launch_id() -> anyhow::Result<String> {
    let mut bytes = [0u8; 8];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
