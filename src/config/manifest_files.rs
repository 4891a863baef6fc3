//! Finds and reads the two manifest files (the user's and the working directory's). I/O.

use crate::config::catalog::{ManifestOrigin, ManifestText};
use crate::error::Error;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "bot-bottle.json";

/// The user's manifest path: `$BOT_BOTTLE_CONFIG`, else `$XDG_CONFIG_HOME/bot-bottle/bot-bottle.json`,
/// else `~/.config/bot-bottle/bot-bottle.json`.
pub fn user_manifest_path(env: &BTreeMap<String, String>, home: &Path) -> PathBuf {
    if let Some(p) = env.get("BOT_BOTTLE_CONFIG").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let config = env
        .get("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".config"));
    config.join("bot-bottle").join(FILE_NAME)
}

/// Reads whichever of the two files exist. `BOT_BOTTLE_CONFIG` naming a missing file is an
/// error (the user asked for that file); a missing default location is not.
pub fn read(
    env: &BTreeMap<String, String>,
    home: &Path,
    cwd: &Path,
) -> Result<Vec<ManifestText>, Error> {
    let mut files = Vec::new();
    let user = user_manifest_path(env, home);
    let explicit = env.get("BOT_BOTTLE_CONFIG").is_some_and(|p| !p.is_empty());
    if let Some(text) = read_optional(&user, explicit)? {
        files.push(ManifestText {
            origin: ManifestOrigin::User(user.display().to_string()),
            text,
        });
    }
    let local = cwd.join(FILE_NAME);
    // The same file reached both ways is the user's, with the user's rights.
    let same = std::fs::canonicalize(&local).ok().is_some()
        && std::fs::canonicalize(&local).ok() == std::fs::canonicalize(&user).ok();
    if !same && let Some(text) = read_optional(&local, false)? {
        files.push(ManifestText {
            origin: ManifestOrigin::WorkingDir(local.display().to_string()),
            text,
        });
    }
    Ok(files)
}

fn read_optional(path: &Path, required: bool) -> Result<Option<String>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| {
            Error::usage(format!(
                "{}: not UTF-8 text (invalid byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(None),
        Err(e) => Err(Error::usage(format!(
            "{}: cannot read the manifest: {e}",
            path.display()
        ))),
    }
}
