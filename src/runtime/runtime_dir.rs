//! `RuntimeDir`: the per-user directory that holds each launch's env-file, record and
//! policy journal:
//! `$XDG_RUNTIME_DIR/bot-bottle` (when that variable is an absolute path), else
//! `/tmp/bot-bottle-<uid>`. Created 0700; an existing one is used only when it is a real
//! directory (not a symlink) owned by this uid that nobody else may enter. I/O.

use crate::error::Error;
use std::collections::BTreeMap;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeDir {
    path: PathBuf,
}

/// The env-file of a launch: `<dir>/<bottle id>.env`.
const ENV_SUFFIX: &str = ".env";
/// The record of a launch: `<dir>/<bottle id>.record` (JSON lines).
const RECORD_SUFFIX: &str = ".record";
/// The live policy journal of a launch: `<dir>/<bottle id>.policy` (JSON lines).
const POLICY_SUFFIX: &str = ".policy";

impl RuntimeDir {
    /// Where the directory is for this environment and uid. Pure.
    pub fn locate(env: &BTreeMap<String, String>, uid: u32) -> PathBuf {
        match env.get("XDG_RUNTIME_DIR").map(Path::new) {
            Some(dir) if dir.is_absolute() => dir.join("bot-bottle"),
            _ => PathBuf::from(format!("/tmp/bot-bottle-{uid}")),
        }
    }

    /// The directory for this environment and uid, created when missing, checked when not.
    pub fn open(env: &BTreeMap<String, String>, uid: u32) -> Result<RuntimeDir, Error> {
        RuntimeDir::at(&RuntimeDir::locate(env, uid), uid)
    }

    /// `path` as the runtime directory of `uid`: created 0700 when missing, else checked.
    pub fn at(path: &Path, uid: u32) -> Result<RuntimeDir, Error> {
        let shown = path.display();
        match std::fs::DirBuilder::new().mode(0o700).create(path) {
            Ok(()) => {
                // The umask can only take bits away; make it exactly 0700 anyway.
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| Error::usage(format!("cannot chmod 0700 {shown}: {e}")))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(Error::usage(format!(
                    "cannot create bottle's runtime directory {shown}: {e}; set XDG_RUNTIME_DIR to a directory of yours"
                )));
            }
        }
        let meta = std::fs::symlink_metadata(path)
            .map_err(|e| Error::usage(format!("cannot read {shown}: {e}")))?;
        check(path, &meta, uid)?;
        Ok(RuntimeDir {
            path: path.to_path_buf(),
        })
    }

    #[cfg(test)]
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn env_file(&self, bottle_id: &str) -> PathBuf {
        self.path.join(format!("{bottle_id}{ENV_SUFFIX}"))
    }

    pub fn record_file(&self, bottle_id: &str) -> PathBuf {
        self.path.join(format!("{bottle_id}{RECORD_SUFFIX}"))
    }

    pub fn policy_file(&self, bottle_id: &str) -> PathBuf {
        self.path.join(format!("{bottle_id}{POLICY_SUFFIX}"))
    }

    /// The bottle ids that have a record, an env-file or a policy journal here, sorted.
    pub fn bottle_ids(&self) -> std::io::Result<Vec<String>> {
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&self.path)? {
            let name = entry?.file_name().to_string_lossy().into_owned();
            let id = name
                .strip_suffix(RECORD_SUFFIX)
                .or_else(|| name.strip_suffix(ENV_SUFFIX))
                .or_else(|| name.strip_suffix(POLICY_SUFFIX));
            if let Some(id) = id.filter(|id| is_bottle_id(id)) {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }
}

/// A launch id: hex digits only (so it never makes a path of its own).
pub fn is_bottle_id(id: &str) -> bool {
    id.len() >= 8 && id.chars().all(|c| c.is_ascii_hexdigit())
}

/// The rules for an existing directory: a real directory, ours, closed to others.
fn check(path: &Path, meta: &std::fs::Metadata, uid: u32) -> Result<(), Error> {
    let shown = path.display();
    if meta.file_type().is_symlink() || !meta.is_dir() {
        return Err(Error::usage(format!(
            "bottle's runtime directory {shown} is not a directory (a symlink or a file): refusing to keep env-files there; remove it, or set XDG_RUNTIME_DIR to a directory of yours"
        )));
    }
    if meta.uid() != uid {
        return Err(Error::usage(format!(
            "bottle's runtime directory {shown} belongs to uid {}, not to you (uid {uid}): refusing to keep env-files there; remove it, or set XDG_RUNTIME_DIR to a directory of yours",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::usage(format!(
            "bottle's runtime directory {shown} is open to group or others (mode {mode:04o}): refusing to keep env-files there; run `chmod 700 {shown}`"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid() -> u32 {
        crate::host_snapshot::uid()
    }

    #[test]
    fn xdg_runtime_dir_when_absolute_else_tmp_per_uid() {
        let env = |v: &str| BTreeMap::from([("XDG_RUNTIME_DIR".to_string(), v.to_string())]);
        assert_eq!(
            RuntimeDir::locate(&env("/run/user/1000"), 1000),
            Path::new("/run/user/1000/bot-bottle")
        );
        assert_eq!(
            RuntimeDir::locate(&env("relative/dir"), 1000),
            Path::new("/tmp/bot-bottle-1000")
        );
        assert_eq!(
            RuntimeDir::locate(&BTreeMap::new(), 42),
            Path::new("/tmp/bot-bottle-42")
        );
    }

    #[test]
    fn created_0700_and_reused_when_it_is_ours_and_closed() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("bot-bottle");
        let dir = RuntimeDir::at(&path, uid()).unwrap();
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert_eq!(RuntimeDir::at(&path, uid()).unwrap(), dir);
        assert_eq!(
            dir.env_file("0123456789abcdef"),
            path.join("0123456789abcdef.env")
        );
        std::fs::write(dir.record_file("0123456789abcdef"), "").unwrap();
        std::fs::write(dir.env_file("89abcdef01234567"), "").unwrap();
        std::fs::write(path.join("stray.env"), "").unwrap();
        assert_eq!(
            dir.bottle_ids().unwrap(),
            ["0123456789abcdef", "89abcdef01234567"]
        );
    }

    #[test]
    fn refused_when_open_to_others_owned_by_someone_else_or_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("bot-bottle");
        std::fs::create_dir(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let err = RuntimeDir::at(&path, uid()).unwrap_err().to_string();
        assert!(
            err.contains("open to group or others (mode 0755)") && err.contains("chmod 700"),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
        let err = RuntimeDir::at(&path, uid() + 1).unwrap_err().to_string();
        assert!(err.contains("not to you"), "{err}");
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let err = RuntimeDir::at(&link, uid()).unwrap_err().to_string();
        assert!(err.contains("not a directory (a symlink"), "{err}");
    }
}
