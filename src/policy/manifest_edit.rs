//! `ManifestEdit`: `allow-host --persist`, hosts added to a bottle's
//! `egress.allowlist` in the user's own manifest (`$BOT_BOTTLE_CONFIG`, else
//! `$XDG_CONFIG_HOME/bot-bottle/bot-bottle.json`), never in a repository's
//! `./bot-bottle.json` (which may not declare bottles anyway). The edited file is checked
//! like any manifest before anything is written; it is written whole (pretty JSON, keys in
//! their order) beside the old one and renamed over it. Preparing is pure apart from
//! reading the files; [`ManifestEdit::write`] does the I/O.

use crate::config::catalog::{Catalog, DEFAULT_BOTTLE, ManifestOrigin, ManifestText};
use crate::config::host_pattern;
use crate::config::manifest_files::{self, FILE_NAME};
use crate::error::Error;
use crate::host_snapshot::HostSnapshot;
use anyhow::Context;
use serde_json::{Map, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEdit {
    pub path: PathBuf,
    /// The hosts the file gains (those it already covers are left out).
    pub added: Vec<String>,
    text: String,
    existed: bool,
}

impl ManifestEdit {
    /// The user's manifest with `hosts` added to bottle `bottle`'s allowlist, checked.
    pub fn prepare(
        host: &HostSnapshot,
        bottle: &str,
        hosts: &[String],
    ) -> Result<ManifestEdit, Error> {
        let path = manifest_files::user_manifest_path(&host.env, &host.home);
        let local = host.cwd.join(FILE_NAME);
        if same_file(&path, &local) {
            return Err(Error::usage(format!(
                "--persist writes only your own manifest, and {} is also the working directory's {FILE_NAME} (a repository's manifest): nothing changed; add the host to its egress.allowlist by hand if you mean to",
                path.display()
            )));
        }
        let (old, existed) = match std::fs::read_to_string(&path) {
            Ok(text) => (text, true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ("{}".to_string(), false),
            Err(e) => {
                return Err(Error::usage(format!(
                    "{}: cannot read the manifest: {e}",
                    path.display()
                )));
            }
        };
        let (text, added) = add_hosts(&old, bottle, hosts)
            .map_err(|m| Error::usage(format!("{}: {m}; nothing changed", path.display())))?;
        let edit = ManifestEdit {
            path,
            added,
            text,
            existed,
        };
        edit.check(host)?;
        Ok(edit)
    }

    /// The manifests as `bottle run` would read them with this edit: they must load.
    fn check(&self, host: &HostSnapshot) -> Result<(), Error> {
        let mut files = manifest_files::read(&host.env, &host.home, &host.cwd)?;
        files.retain(|f| !matches!(f.origin, ManifestOrigin::User(_)));
        files.insert(
            0,
            ManifestText {
                origin: ManifestOrigin::User(self.path.display().to_string()),
                text: self.text.clone(),
            },
        );
        Catalog::load(&files, &host.skills)?;
        Ok(())
    }

    /// Writes the file (0600 when new, else with its mode), beside it first.
    pub fn write(&self) -> anyhow::Result<()> {
        if self.added.is_empty() {
            return Ok(());
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let mode = if self.existed {
            std::fs::metadata(&self.path)
                .map(|m| m.permissions().mode() & 0o7777)
                .unwrap_or(0o600)
        } else {
            0o600
        };
        let tmp = dir.join(format!(".{FILE_NAME}.bot-bottle-{}", std::process::id()));
        std::fs::write(&tmp, &self.text)
            .and_then(|()| std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)))
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            })
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `text` with `hosts` appended to `bottles.<bottle>.egress.allowlist` (objects created
/// as needed; a bottle the file lacks only for `default`, which exists without one).
/// Returns the new text and the hosts added. Pure.
pub fn add_hosts(
    text: &str,
    bottle: &str,
    hosts: &[String],
) -> Result<(String, Vec<String>), String> {
    let mut doc: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
    let root = doc
        .as_object_mut()
        .ok_or("the manifest is not a JSON object")?;
    let bottles = object_at(root, "bottles", "bottles")?;
    if !bottles.contains_key(bottle) && bottle != DEFAULT_BOTTLE {
        return Err(format!("has no bottle `{bottle}`"));
    }
    let b = object_at(bottles, bottle, &format!("bottles.{bottle}"))?;
    let egress = object_at(b, "egress", &format!("bottles.{bottle}.egress"))?;
    let list = egress
        .entry("allowlist")
        .or_insert_with(|| Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or(format!("bottles.{bottle}.egress.allowlist is not an array"))?;
    let mut added = Vec::new();
    for host in hosts {
        let covered = list
            .iter()
            .filter_map(Value::as_str)
            .any(|entry| host_pattern::covers(entry, host));
        if !covered {
            list.push(Value::String(host.clone()));
            added.push(host.clone());
        }
    }
    let mut out = serde_json::to_string_pretty(&doc).expect("a JSON value serializes");
    out.push('\n');
    Ok((out, added))
}

fn object_at<'a>(
    parent: &'a mut Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<&'a mut Map<String, Value>, String> {
    parent
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or(format!("{path} is not an object"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_go_into_the_bottles_allowlist_and_the_rest_of_the_file_stays() {
        let text = r#"{"agents": {"a": {"bottle": "web"}},
            "bottles": {"web": {"env": {"X": "1"}, "egress": {"allowlist": ["*.npmjs.org"], "requests_per_minute": 60}}}}"#;
        let (out, added) = add_hosts(
            text,
            "web",
            &["registry.npmjs.org".into(), "denied.test".into()],
        )
        .unwrap();
        assert_eq!(added, ["denied.test"]);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["bottles"]["web"]["egress"]["allowlist"],
            serde_json::json!(["*.npmjs.org", "denied.test"])
        );
        assert_eq!(v["bottles"]["web"]["egress"]["requests_per_minute"], 60);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["agents", "bottles"], "order kept");
        // No file yet: the default bottle is made.
        let (out, _) = add_hosts("{}", "default", &["denied.test".into()]).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["bottles"]["default"]["egress"]["allowlist"],
            serde_json::json!(["denied.test"])
        );
        assert!(
            add_hosts(text, "other", &[])
                .unwrap_err()
                .contains("no bottle `other`")
        );
        assert!(
            add_hosts(
                r#"{"bottles": {"web": {"egress": {"allowlist": "x"}}}}"#,
                "web",
                &[]
            )
            .unwrap_err()
            .contains("egress.allowlist is not an array")
        );
    }
}
