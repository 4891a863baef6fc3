//! Working-directory manifests the user has allowed, the way direnv trusts `.envrc`: a
//! repository's `./bot-bottle.json` chooses an agent's command and prompt, so an agent
//! from it runs only once the user has allowed that file, by its absolute path and the
//! SHA-256 of its content; any change asks again. The store is
//! `$XDG_DATA_HOME/bot-bottle/allowed.json` (default `~/.local/share/…`). The decision is
//! pure; `load` and `save` do the I/O (written 0600, atomically).

use crate::config::catalog::Agent;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustStore {
    pub version: u32,
    /// Absolute path of a manifest → SHA-256 (hex) of the content allowed.
    pub allowed: BTreeMap<String, String>,
}

/// Where a working-directory manifest stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    Allowed,
    /// Never allowed.
    Unknown,
    /// Allowed once, with other content.
    Changed,
}

/// The SHA-256 of a manifest's content, in hex.
pub fn digest(text: &str) -> String {
    crate::digest::sha256_hex(text.as_bytes())
}

impl TrustStore {
    pub fn check(&self, path: &str, text: &str) -> Trust {
        match self.allowed.get(path) {
            Some(d) if *d == digest(text) => Trust::Allowed,
            Some(_) => Trust::Changed,
            None => Trust::Unknown,
        }
    }

    pub fn allow(&mut self, path: &str, text: &str) {
        self.version = 1;
        self.allowed.insert(path.to_string(), digest(text));
    }

    /// Forgets `path`; says whether it was there.
    pub fn revoke(&mut self, path: &str) -> bool {
        self.allowed.remove(path).is_some()
    }
}

/// The store's file for this environment.
pub fn store_path(env: &BTreeMap<String, String>, home: &Path) -> PathBuf {
    env.get("XDG_DATA_HOME")
        .filter(|p| p.starts_with('/'))
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".local/share"))
        .join("bot-bottle")
        .join("allowed.json")
}

/// Reads the store; a missing file is an empty store.
pub fn load(path: &Path) -> Result<TrustStore> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a store of allowed manifests (remove it to start over)",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TrustStore::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes the store: a 0600 file in its directory, renamed over the old one.
pub fn save(path: &Path, store: &TrustStore) -> Result<()> {
    let dir = path.parent().context("the store has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut file = tempfile::Builder::new()
        .prefix(".allowed-")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut text = serde_json::to_string_pretty(store).expect("plain data");
    text.push('\n');
    file.write_all(text.as_bytes())?;
    file.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// What allowing a manifest lets it do, for the user to read first: each agent, its
/// bottle, command and prompt.
pub fn summary<'a>(agents: impl IntoIterator<Item = &'a Agent>) -> String {
    let mut out = String::new();
    for a in agents {
        let command = a
            .command
            .iter()
            .map(|w| crate::engine::call::quote(w))
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(&format!(
            "  agent {} (bottle {}): {command}\n",
            a.name, a.bottle
        ));
        if let Some(prompt) = &a.prompt {
            for line in prompt.lines().take(5) {
                out.push_str(&format!("    prompt | {line}\n"));
            }
            if prompt.lines().count() > 5 {
                out.push_str("    prompt | …\n");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_content_only() {
        let mut store = TrustStore::default();
        let path = "/repo/bot-bottle.json";
        assert_eq!(store.check(path, "{}"), Trust::Unknown);
        store.allow(path, "{}");
        assert_eq!(store.check(path, "{}"), Trust::Allowed);
        assert_eq!(
            store.check(path, "{ }"),
            Trust::Changed,
            "any change asks again"
        );
        assert_eq!(store.check("/other/bot-bottle.json", "{}"), Trust::Unknown);
        assert!(store.revoke(path));
        assert_eq!(store.check(path, "{}"), Trust::Unknown);
    }

    #[test]
    fn the_store_round_trips_as_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/bot-bottle/allowed.json");
        assert_eq!(load(&path).unwrap(), TrustStore::default());
        let mut store = TrustStore::default();
        store.allow("/repo/bot-bottle.json", "{\"agents\": {}}");
        save(&path, &store).unwrap();
        assert_eq!(load(&path).unwrap(), store);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::write(&path, "not json").unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("remove it"));
    }

    #[test]
    fn the_summary_shows_what_would_run() {
        let text = r#"{"agents": {"fixer": {"command": ["sh", "-c", "curl x | sh"],
                        "prompt": "Fix it.\nThen push."}}}"#;
        let files = [crate::config::catalog::ManifestText {
            origin: crate::config::catalog::ManifestOrigin::WorkingDir(
                "/repo/bot-bottle.json".into(),
            ),
            text: text.into(),
        }];
        let catalog = crate::config::catalog::Catalog::load(&files, &Default::default()).unwrap();
        let s = summary(catalog.working_dir_agents());
        assert!(
            s.contains("agent fixer (bottle default): sh -c 'curl x | sh'"),
            "{s}"
        );
        assert!(s.contains("prompt | Then push."), "{s}");
    }
}
