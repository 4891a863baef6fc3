//! `nix/images.lock.json`: the recorded identity of each Nix-built image, per system
//! (digests differ per architecture) and per role: its `name:tag`, config digest and layer
//! diff_ids. Reading is strict; writing is deterministic (sorted keys, pretty JSON, a
//! trailing newline); verifying gives a readable list of differences. Pure, except
//! [`ImageLock::read`] and [`ImageLock::write`].

use crate::image::archive::{ImageDigest, is_sha256_digest};
use crate::image::image_ref::ImageRole;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// Where `bottle images verify` and `bottle images lock` look by default.
pub const DEFAULT_LOCK_PATH: &str = "nix/images.lock.json";

const COMMENT: &str = "Written by `bottle images lock`: the config digest and layer diff_ids of each Nix-built image, per system. Checked by `bottle images verify` (and the flake's images-verify check).";

const VERSION: u32 = 1;

/// The whole lock file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageLock {
    #[serde(rename = "_comment", default)]
    pub comment: String,
    pub version: u32,
    /// Nix system (`x86_64-linux`) -> role name (`agent`) -> image.
    pub systems: BTreeMap<String, BTreeMap<String, LockedImage>>,
}

/// One recorded image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedImage {
    /// `name:tag` (streamLayeredImage's tag is a content hash).
    pub image: String,
    pub config_digest: String,
    pub diff_ids: Vec<String>,
}

impl LockedImage {
    /// The record for a computed digest; the archive must carry a `name:tag`.
    pub fn from_digest(digest: &ImageDigest) -> Result<LockedImage> {
        let Some(image) = digest.image_name() else {
            bail!(
                "the image {} has no name:tag in its archive (RepoTags), so it cannot be recorded",
                digest.config_digest
            );
        };
        Ok(LockedImage {
            image: image.to_string(),
            config_digest: digest.config_digest.clone(),
            diff_ids: digest.diff_ids.clone(),
        })
    }
}

/// One way a computed image differs from the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub system: String,
    pub role: ImageRole,
    /// `image`, `config_digest`, `diff_ids`, `diff_ids[3]`, or `record` (nothing recorded).
    pub field: String,
    pub recorded: String,
    pub computed: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}:\n    recorded: {}\n    computed: {}",
            self.role.name(),
            self.system,
            self.field,
            self.recorded,
            self.computed
        )
    }
}

/// At most this many differing layers are listed one by one.
const MAX_LAYER_LINES: usize = 10;

impl Default for ImageLock {
    fn default() -> Self {
        ImageLock::new()
    }
}

impl ImageLock {
    pub fn new() -> ImageLock {
        ImageLock {
            comment: COMMENT.to_string(),
            version: VERSION,
            systems: BTreeMap::new(),
        }
    }

    /// Parses and checks a lock file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<ImageLock> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let lock: ImageLock = serde_path_to_error::deserialize(de)
            .map_err(|e| anyhow::anyhow!("{origin}: {}: {}", e.path(), e.inner()))?;
        if lock.version != VERSION {
            bail!(
                "{origin}: version {} is not supported (expected {VERSION})",
                lock.version
            );
        }
        for (system, roles) in &lock.systems {
            for (role, image) in roles {
                if ImageRole::parse(role).is_none() {
                    bail!(
                        "{origin}: systems.{system}.{role}: unknown role (expected agent, pipelock or mitmproxy)"
                    );
                }
                if image.image.is_empty() {
                    bail!("{origin}: systems.{system}.{role}.image: empty");
                }
                let digests = std::iter::once(("config_digest".to_string(), &image.config_digest))
                    .chain(
                        image
                            .diff_ids
                            .iter()
                            .enumerate()
                            .map(|(i, d)| (format!("diff_ids[{i}]"), d)),
                    );
                for (field, d) in digests {
                    if !is_sha256_digest(d) {
                        bail!(
                            "{origin}: systems.{system}.{role}.{field}: `{d}` is not a digest like sha256:<64 hex digits>"
                        );
                    }
                }
            }
        }
        Ok(lock)
    }

    /// Reads a lock file.
    pub fn read(path: &Path) -> Result<ImageLock> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the image lock {}", path.display()))?;
        ImageLock::parse(&text, &path.display().to_string())
    }

    /// The file's text: pretty JSON, keys in a fixed order, a trailing newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a lock always serializes");
        text.push('\n');
        text
    }

    /// Writes the file atomically (a temporary file in the same directory, then a rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot write in {}", dir.display()))?;
        std::io::Write::write_all(&mut tmp, self.to_json().as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        // A lock is meant to be read and committed: 0644 rather than the temp file's 0600.
        std::fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o644),
        )?;
        tmp.persist(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }

    /// Records (or replaces) one role's image for the system the image is built for.
    pub fn record(&mut self, role: ImageRole, digest: &ImageDigest) -> Result<()> {
        let locked = LockedImage::from_digest(digest)?;
        self.systems
            .entry(digest.system())
            .or_default()
            .insert(role.name().to_string(), locked);
        Ok(())
    }

    /// The recorded image of a role on a system.
    pub fn get(&self, system: &str, role: ImageRole) -> Option<&LockedImage> {
        self.systems.get(system)?.get(role.name())
    }

    /// How a computed image differs from the record for its system; empty when it matches.
    pub fn verify(&self, role: ImageRole, computed: &ImageDigest) -> Vec<Difference> {
        let system = computed.system();
        let diff = |field: &str, recorded: String, got: String| Difference {
            system: system.clone(),
            role,
            field: field.to_string(),
            recorded,
            computed: got,
        };
        let computed_name = computed.image_name().unwrap_or("(no name:tag)").to_string();
        let Some(recorded) = self.get(&system, role) else {
            let systems: Vec<&str> = self.systems.keys().map(String::as_str).collect();
            return vec![diff(
                "record",
                if systems.is_empty() {
                    "nothing (the lock is empty)".to_string()
                } else {
                    format!(
                        "nothing for this role and system (systems recorded: {})",
                        systems.join(", ")
                    )
                },
                format!("{computed_name} {}", computed.config_digest),
            )];
        };
        let mut out = Vec::new();
        if recorded.image != computed_name {
            out.push(diff("image", recorded.image.clone(), computed_name));
        }
        if recorded.config_digest != computed.config_digest {
            out.push(diff(
                "config_digest",
                recorded.config_digest.clone(),
                computed.config_digest.clone(),
            ));
        }
        let (r, c) = (&recorded.diff_ids, &computed.diff_ids);
        if r != c {
            if r.len() != c.len() {
                out.push(diff(
                    "diff_ids",
                    format!("{} layers", r.len()),
                    format!("{} layers", c.len()),
                ));
            }
            let differing: Vec<usize> = (0..r.len().max(c.len()))
                .filter(|&i| r.get(i) != c.get(i))
                .collect();
            let none = || "(no layer)".to_string();
            for &i in differing.iter().take(MAX_LAYER_LINES) {
                out.push(diff(
                    &format!("diff_ids[{i}]"),
                    r.get(i).cloned().unwrap_or_else(none),
                    c.get(i).cloned().unwrap_or_else(none),
                ));
            }
            if differing.len() > MAX_LAYER_LINES {
                out.push(diff(
                    "diff_ids",
                    format!(
                        "… {} more differing layers",
                        differing.len() - MAX_LAYER_LINES
                    ),
                    "(not listed)".to_string(),
                ));
            }
        }
        out
    }
}

/// The differences as lines for a terminal, with a hint for re-recording.
pub fn render_differences(lock_path: &str, diffs: &[Difference]) -> String {
    let mut s = format!("the images differ from {lock_path}:\n");
    for d in diffs {
        s.push_str(&format!("  {d}\n"));
    }
    s.push_str(
        "If the change is intended (a new nixpkgs pin, a changed image), record it with `nix run .#bottle -- images lock` and commit the lock file.\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: char) -> String {
        format!("sha256:{}", n.to_string().repeat(64))
    }

    fn digest(tag: &str, config: char, layers: &[char]) -> ImageDigest {
        ImageDigest {
            repo_tags: vec![tag.to_string()],
            config_digest: d(config),
            diff_ids: layers.iter().map(|&c| d(c)).collect(),
            os: "linux".into(),
            architecture: "amd64".into(),
        }
    }

    #[test]
    fn round_trip_is_deterministic() {
        let mut lock = ImageLock::new();
        lock.record(ImageRole::Pipelock, &digest("p:1", 'a', &['b']))
            .unwrap();
        lock.record(ImageRole::Agent, &digest("a:1", 'c', &['d', 'e']))
            .unwrap();
        let mut arm = digest("a:2", 'f', &['0']);
        arm.architecture = "arm64".into();
        lock.record(ImageRole::Agent, &arm).unwrap();
        let text = lock.to_json();
        assert!(text.ends_with("}\n"));
        let back = ImageLock::parse(&text, "lock").unwrap();
        assert_eq!(back, lock);
        assert_eq!(back.to_json(), text);
        let systems: Vec<&String> = back.systems.keys().collect();
        assert_eq!(systems, ["aarch64-linux", "x86_64-linux"]);
        assert!(text.find("\"agent\"").unwrap() < text.find("\"pipelock\"").unwrap());
    }

    #[test]
    fn verify_lists_each_difference() {
        let mut lock = ImageLock::new();
        lock.record(ImageRole::Agent, &digest("a:1", 'a', &['b', 'c']))
            .unwrap();
        assert!(
            lock.verify(ImageRole::Agent, &digest("a:1", 'a', &['b', 'c']))
                .is_empty()
        );
        let diffs = lock.verify(ImageRole::Agent, &digest("a:2", 'f', &['b', 'd', 'e']));
        let fields: Vec<&str> = diffs.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "image",
                "config_digest",
                "diff_ids",
                "diff_ids[1]",
                "diff_ids[2]"
            ]
        );
        let text = render_differences("nix/images.lock.json", &diffs);
        assert!(text.contains("agent (x86_64-linux): diff_ids[2]:\n    recorded: (no layer)"));
        let missing = lock.verify(ImageRole::Mitmproxy, &digest("m:1", 'a', &[]));
        assert_eq!(missing[0].field, "record");
    }

    #[test]
    fn parse_rejects_bad_files() {
        let cases = [
            ("{}", "missing field"),
            (r#"{"version": 2, "systems": {}}"#, "version 2"),
            (r#"{"version": 1, "systems": {}, "x": 1}"#, "unknown field"),
            (
                r#"{"version": 1, "systems": {"x86_64-linux": {"dog": {"image": "a:1", "config_digest": "sha256:x", "diff_ids": []}}}}"#,
                "unknown role",
            ),
            (
                r#"{"version": 1, "systems": {"x86_64-linux": {"agent": {"image": "a:1", "config_digest": "sha256:x", "diff_ids": []}}}}"#,
                "config_digest",
            ),
        ];
        for (text, want) in cases {
            let msg = format!("{:#}", ImageLock::parse(text, "f.json").unwrap_err());
            assert!(msg.starts_with("f.json: ") && msg.contains(want), "{msg}");
        }
    }

    #[test]
    fn write_is_atomic_and_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("images.lock.json");
        let mut lock = ImageLock::new();
        lock.record(ImageRole::Agent, &digest("a:1", 'a', &['b']))
            .unwrap();
        lock.write(&path).unwrap();
        assert_eq!(ImageLock::read(&path).unwrap(), lock);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
