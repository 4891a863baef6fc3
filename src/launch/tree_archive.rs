//! A host directory as a tar stream for `docker cp -`: every entry owned by the agent's
//! uid and gid (docker keeps a piped tar's owners, while copying a directory keeps the
//! host's, which the agent could not write), modes and times kept, symbolic links kept as
//! links, everything included (`.git` too; no ignore files apply). I/O (reads the tree).

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The archive of `root`'s contents under `prefix` (`""`: at the archive's top), with the
/// directories of `prefix` themselves as entries, all owned by `uid:gid`.
pub fn archive(root: &Path, prefix: &str, uid: u32, gid: u32) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    let prefix = PathBuf::from(prefix.trim_matches('/'));
    let mut parent = PathBuf::new();
    for part in prefix.components() {
        parent.push(part);
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        own(&mut header, uid, gid);
        builder.append_data(&mut header, &parent, std::io::empty())?;
    }
    let meta =
        std::fs::metadata(root).with_context(|| format!("cannot read {}", root.display()))?;
    anyhow::ensure!(meta.is_dir(), "{} is not a directory", root.display());
    walk(&mut builder, root, root, &prefix, uid, gid)?;
    builder.into_inner().context("cannot finish the archive")
}

fn own(header: &mut tar::Header, uid: u32, gid: u32) {
    header.set_uid(uid.into());
    header.set_gid(gid.into());
    let _ = header.set_username("");
    let _ = header.set_groupname("");
}

fn walk(
    builder: &mut tar::Builder<Vec<u8>>,
    root: &Path,
    dir: &Path,
    prefix: &Path,
    uid: u32,
    gid: u32,
) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot read {}", dir.display()))?;
    // The same tree gives the same archive.
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let name = prefix.join(path.strip_prefix(root).expect("under root"));
        let mut header = tar::Header::new_gnu();
        header.set_metadata(&meta);
        own(&mut header, uid, gid);
        let kind = meta.file_type();
        if kind.is_dir() {
            header.set_size(0);
            builder.append_data(&mut header, &name, std::io::empty())?;
            walk(builder, root, &path, prefix, uid, gid)?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&path)?;
            header.set_size(0);
            builder.append_link(&mut header, &name, target)?;
        } else if kind.is_file() {
            let file = std::fs::File::open(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            builder.append_data(&mut header, &name, file)?;
        }
        // Sockets, fifos and devices mean nothing in another machine's tree.
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn every_entry_is_owned_by_the_agent_and_git_is_included() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".git/refs")).unwrap();
        std::fs::write(dir.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), ".git\n").unwrap();
        std::fs::write(dir.path().join("main.rs"), "fn main() {}\n").unwrap();
        std::os::unix::fs::symlink("main.rs", dir.path().join("link.rs")).unwrap();
        let bytes = archive(dir.path(), ".claude/skills/x", 1000, 1000).unwrap();
        assert_eq!(
            bytes,
            archive(dir.path(), ".claude/skills/x", 1000, 1000).unwrap()
        );
        let mut seen = Vec::new();
        for entry in tar::Archive::new(&bytes[..]).entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            assert_eq!(entry.header().uid().unwrap(), 1000, "{path}");
            assert_eq!(entry.header().gid().unwrap(), 1000, "{path}");
            if path.ends_with("HEAD") {
                let mut text = String::new();
                entry.read_to_string(&mut text).unwrap();
                assert_eq!(text, "ref: refs/heads/main\n");
            }
            if path.ends_with("link.rs") {
                assert_eq!(
                    entry.link_name().unwrap().unwrap().display().to_string(),
                    "main.rs"
                );
            }
            seen.push(path.trim_end_matches('/').to_string());
        }
        for want in [
            ".claude",
            ".claude/skills",
            ".claude/skills/x",
            ".claude/skills/x/.git/HEAD",
            ".claude/skills/x/.dockerignore",
            ".claude/skills/x/main.rs",
            ".claude/skills/x/link.rs",
        ] {
            assert!(
                seen.contains(&want.to_string()),
                "{want} missing from {seen:?}"
            );
        }
        assert!(archive(&dir.path().join("nope"), "", 1, 1).is_err());
    }
}
