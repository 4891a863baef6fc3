//! Reads a docker-archive (what `docker save` and a Nix `streamLayeredImage` script write)
//! as a stream and computes each image's identity: the config digest (`sha256:` of the
//! config blob) and the diff_id of every layer (`sha256:` of the uncompressed layer tar),
//! checked against the diff_ids the config records. Pure over a `Read`.
//!
//! Archives can be gigabytes and their entries come in any order, so every file is hashed
//! as it passes and only the hashes and the small JSON files are kept; `manifest.json` is
//! resolved at the end. `docker image inspect .Id` is not used as the identity: with the
//! containerd image store it is a manifest digest, not the config digest.

use crate::digest::hex;
use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Component, Path};

/// JSON files (manifest, configs) bigger than this are not kept in memory.
const JSON_LIMIT: u64 = 16 * 1024 * 1024;
/// How far to follow links between entries (`layer.tar -> ../<id>/layer.tar`).
const LINK_DEPTH: usize = 16;

/// The identity of one image in a docker-archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageDigest {
    /// `name:tag` as the archive's manifest.json lists them (empty for an untagged save).
    pub repo_tags: Vec<String>,
    /// `sha256:<hex>` of the image config blob.
    pub config_digest: String,
    /// `sha256:<hex>` of each uncompressed layer tar, bottom layer first.
    pub diff_ids: Vec<String>,
    /// From the config, e.g. `linux`.
    pub os: String,
    /// From the config, in Go's names, e.g. `amd64`, `arm64`.
    pub architecture: String,
}

impl ImageDigest {
    /// The Nix system the image is for, e.g. `x86_64-linux` (digests differ per system).
    pub fn system(&self) -> String {
        let arch = match self.architecture.as_str() {
            "amd64" => "x86_64",
            "arm64" => "aarch64",
            "386" => "i686",
            other => other,
        };
        format!("{arch}-{}", self.os)
    }

    /// The first `name:tag`, if the archive has one.
    pub fn image_name(&self) -> Option<&str> {
        self.repo_tags.first().map(String::as_str)
    }
}

/// What was seen of one regular file in the archive.
struct Blob {
    sha256: String,
    size: u64,
    /// `gzip`, `zstd`, … when the file starts with that format's magic bytes.
    compression: Option<&'static str>,
    /// The content, for small files that look like JSON.
    json: Option<Vec<u8>>,
}

#[derive(Deserialize)]
struct ManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct ImageConfig {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    rootfs: RootFs,
}

#[derive(Deserialize)]
struct RootFs {
    diff_ids: Vec<String>,
}

/// Every image of a docker-archive, in manifest.json's order.
pub fn read_archive<R: Read>(reader: R) -> Result<Vec<ImageDigest>> {
    let mut input = EofReader {
        inner: reader,
        eof: false,
    };
    let files = scan(&mut input)?;
    // A complete tar stream ends with zero blocks, where reading stops before the end of
    // the input. Reaching the end while looking for the next header means it was cut.
    files.resolve().map_err(|e| {
        if input.eof && files.entries > 0 {
            e.context(format!(
                "the archive is truncated: it ends after {} entries without tar's end-of-archive marker",
                files.entries
            ))
        } else {
            e
        }
    })
}

/// Remembers whether the input reached its end.
struct EofReader<R> {
    inner: R,
    eof: bool,
}

impl<R: Read> Read for EofReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof = true;
        }
        Ok(n)
    }
}

/// The one image of a docker-archive (a stream script writes exactly one).
pub fn read_single_image<R: Read>(reader: R) -> Result<ImageDigest> {
    let mut images = read_archive(reader)?;
    match images.len() {
        1 => Ok(images.remove(0)),
        n => bail!("the archive holds {n} images; expected exactly one"),
    }
}

/// The archive's files, by normalised path.
struct Files {
    blobs: BTreeMap<String, Blob>,
    /// Symlinks and hard links: path -> target path (normalised, relative to the root).
    links: BTreeMap<String, String>,
    entries: usize,
}

fn scan<R: Read>(reader: R) -> Result<Files> {
    let mut archive = tar::Archive::new(reader);
    let mut files = Files {
        blobs: BTreeMap::new(),
        links: BTreeMap::new(),
        entries: 0,
    };
    let entries = archive
        .entries()
        .context("cannot read the archive as a tar stream")?;
    for entry in entries {
        let mut entry = entry.map_err(|e| {
            let mut why = e.to_string();
            if why.len() > 160 {
                let cut = (0..=160).rev().find(|&i| why.is_char_boundary(i)).unwrap_or(0);
                why.truncate(cut);
                why.push('…');
            }
            anyhow!(
                "the archive is not a valid tar stream after {} entries (truncated or corrupt): {why}",
                files.entries
            )
        })?;
        files.entries += 1;
        let raw_path = entry
            .path()
            .map_err(|e| anyhow!("entry {} has an unreadable path: {e}", files.entries))?
            .into_owned();
        let Some(path) = normalize(&raw_path) else {
            bail!(
                "the archive is corrupt: entry {} has the unsafe path {}",
                files.entries,
                raw_path.display()
            );
        };
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name()
                .map_err(|e| anyhow!("{path}: unreadable link target: {e}"))?
                .ok_or_else(|| anyhow!("{path}: a link without a target"))?
                .into_owned();
            let joined = if kind.is_symlink() && !target.is_absolute() {
                Path::new(&path)
                    .parent()
                    .unwrap_or(Path::new(""))
                    .join(&target)
            } else {
                target.clone()
            };
            let Some(resolved) = normalize(&joined) else {
                bail!(
                    "the archive is corrupt: {path} links outside the archive ({})",
                    target.display()
                );
            };
            files.links.insert(path, resolved);
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            let size = entry.header().size().unwrap_or(0);
            let blob = hash_entry(&mut entry, &path, size)?;
            files.blobs.insert(path, blob);
        }
        // Directories, PAX and GNU headers and the like carry nothing we need.
    }
    Ok(files)
}

/// Hashes one entry's data as it streams past, keeping it only if it is small JSON.
fn hash_entry(entry: &mut impl Read, path: &str, size: u64) -> Result<Blob> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut read: u64 = 0;
    let mut compression = None;
    let mut json: Option<Vec<u8>> = None;
    loop {
        let n = match entry.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(anyhow!(
                    "the archive is truncated or unreadable in {path} after {read} of {size} bytes: {e}"
                ));
            }
        };
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        if read == 0 {
            compression = sniff_compression(chunk);
            let first = chunk.iter().find(|b| !b.is_ascii_whitespace());
            if size <= JSON_LIMIT && matches!(first, Some(b'{') | Some(b'[')) {
                json = Some(Vec::with_capacity(size as usize));
            }
        }
        if let Some(j) = json.as_mut() {
            j.extend_from_slice(chunk);
        }
        hasher.update(chunk);
        read += n as u64;
    }
    if read != size {
        bail!("the archive is truncated: {path} ends after {read} of its {size} bytes");
    }
    Ok(Blob {
        sha256: hex(&hasher.finalize()),
        size,
        compression,
        json,
    })
}

fn sniff_compression(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Some("gzip")
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("zstd")
    } else if head.starts_with(b"BZh") {
        Some("bzip2")
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Some("xz")
    } else {
        None
    }
}

/// `./a/../b/c` -> `b/c`; None for a path that climbs out of the root.
fn normalize(path: &Path) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

/// `sha256:<64 lowercase hex>`.
pub fn is_sha256_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl Files {
    fn blob(&self, path: &str, what: &str) -> Result<&Blob> {
        let mut current = normalize(Path::new(path))
            .ok_or_else(|| anyhow!("manifest.json names {what} {path}, outside the archive"))?;
        for _ in 0..=LINK_DEPTH {
            if let Some(blob) = self.blobs.get(&current) {
                return Ok(blob);
            }
            match self.links.get(&current) {
                Some(next) => current = next.clone(),
                None => bail!(
                    "manifest.json names {what} {path}, which is not in the archive (is it truncated?)"
                ),
            }
        }
        bail!("the archive is corrupt: {path} is a loop of links")
    }

    fn resolve(&self) -> Result<Vec<ImageDigest>> {
        if self.entries == 0 {
            bail!("the input is empty: expected a docker-archive (tar) stream");
        }
        let manifest = match self.blobs.get("manifest.json") {
            Some(Blob { json: Some(j), .. }) => j,
            Some(_) => bail!("the archive is corrupt: manifest.json is not a JSON document"),
            None => bail!(
                "no manifest.json in the archive: it is not a docker-archive (the output of `docker save` or of an image stream script), or it is truncated"
            ),
        };
        let manifest: Vec<ManifestEntry> = serde_json::from_slice(manifest)
            .map_err(|e| anyhow!("the archive is corrupt: manifest.json: {e}"))?;
        if manifest.is_empty() {
            bail!("the archive holds no image: manifest.json is an empty list");
        }
        manifest.iter().map(|m| self.image(m)).collect()
    }

    fn image(&self, entry: &ManifestEntry) -> Result<ImageDigest> {
        let config_blob = self.blob(&entry.config, "the config")?;
        let config_digest = format!("sha256:{}", config_blob.sha256);
        // A config stored under its own hash (`<hex>.json`, `blobs/sha256/<hex>`) must have it.
        let stem = Path::new(&entry.config)
            .file_name()
            .map(|f| f.to_string_lossy().trim_end_matches(".json").to_string())
            .unwrap_or_default();
        if is_sha256_digest(&format!("sha256:{stem}")) && stem != config_blob.sha256 {
            bail!(
                "the archive is corrupt: the config {} hashes to {config_digest}",
                entry.config
            );
        }
        let Some(json) = &config_blob.json else {
            bail!(
                "the archive is corrupt: the config {} is not a JSON document ({} bytes)",
                entry.config,
                config_blob.size
            );
        };
        let config: ImageConfig = serde_json::from_slice(json).map_err(|e| {
            anyhow!(
                "the archive is corrupt: the config {} is not an image config: {e}",
                entry.config
            )
        })?;
        let recorded = &config.rootfs.diff_ids;
        if recorded.len() != entry.layers.len() {
            bail!(
                "the archive is corrupt: manifest.json lists {} layers but the config {config_digest} records {} diff_ids",
                entry.layers.len(),
                recorded.len()
            );
        }
        let mut diff_ids = Vec::with_capacity(entry.layers.len());
        for (i, (layer, want)) in entry.layers.iter().zip(recorded).enumerate() {
            let what = format!("layer {}", i + 1);
            let blob = self.blob(layer, &what)?;
            if let Some(kind) = blob.compression {
                bail!(
                    "{what} ({layer}) is {kind}-compressed: only uncompressed layers are read (as `docker save` on the classic image store and Nix image stream scripts write them)"
                );
            }
            let got = format!("sha256:{}", blob.sha256);
            if &got != want {
                bail!(
                    "the archive is corrupt: {what} ({layer}) hashes to {got}, but the image config {config_digest} records diff_id {want}"
                );
            }
            diff_ids.push(got);
        }
        Ok(ImageDigest {
            repo_tags: entry.repo_tags.clone().unwrap_or_default(),
            config_digest,
            diff_ids,
            os: config.os,
            architecture: config.architecture,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(bytes: &[u8]) -> String {
        format!("sha256:{}", hex(&Sha256::digest(bytes)))
    }

    fn add(builder: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut h, path, data).unwrap();
    }

    fn symlink(builder: &mut tar::Builder<Vec<u8>>, path: &str, target: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_entry_type(tar::EntryType::Symlink);
        builder.append_link(&mut h, path, target).unwrap();
    }

    fn layer(content: &str) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        add(&mut b, "file.txt", content.as_bytes());
        b.into_inner().unwrap()
    }

    /// An archive like streamLayeredImage's: layers first, then config and manifest.
    fn archive(layers: &[Vec<u8>], recorded: &[String], manifest_last: bool) -> Vec<u8> {
        let config = serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": recorded},
        })
        .to_string();
        let config_hex = sha(config.as_bytes())[7..].to_string();
        let names: Vec<String> = (0..layers.len())
            .map(|i| format!("l{i}/layer.tar"))
            .collect();
        let manifest = serde_json::json!([{
            "Config": format!("{config_hex}.json"),
            "RepoTags": ["bot-bottle-agent:abc"],
            "Layers": names,
        }])
        .to_string();
        let mut b = tar::Builder::new(Vec::new());
        if !manifest_last {
            add(&mut b, "manifest.json", manifest.as_bytes());
        }
        for (name, l) in names.iter().zip(layers) {
            add(&mut b, name, l);
        }
        add(&mut b, &format!("{config_hex}.json"), config.as_bytes());
        if manifest_last {
            add(&mut b, "manifest.json", manifest.as_bytes());
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn digests_in_any_order() {
        let layers = vec![layer("one"), layer("two")];
        let ids: Vec<String> = layers.iter().map(|l| sha(l)).collect();
        for manifest_last in [true, false] {
            let bytes = archive(&layers, &ids, manifest_last);
            let d = read_single_image(&bytes[..]).unwrap();
            assert_eq!(d.diff_ids, ids);
            assert_eq!(d.repo_tags, vec!["bot-bottle-agent:abc"]);
            assert_eq!(d.system(), "x86_64-linux");
            assert!(is_sha256_digest(&d.config_digest));
        }
    }

    #[test]
    fn follows_layer_symlinks() {
        let l = layer("shared");
        let id = sha(&l);
        let config = serde_json::json!({"architecture": "arm64", "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [id, id]}})
        .to_string();
        let manifest = serde_json::json!([{"Config": "c.json", "RepoTags": null,
            "Layers": ["a/layer.tar", "b/layer.tar"]}])
        .to_string();
        let mut b = tar::Builder::new(Vec::new());
        add(&mut b, "a/layer.tar", &l);
        symlink(&mut b, "b/layer.tar", "../a/layer.tar");
        add(&mut b, "c.json", config.as_bytes());
        add(&mut b, "manifest.json", manifest.as_bytes());
        let d = read_single_image(&b.into_inner().unwrap()[..]).unwrap();
        assert_eq!(d.diff_ids, vec![id.clone(), id]);
        assert!(d.repo_tags.is_empty());
        assert_eq!(d.system(), "aarch64-linux");
    }

    #[test]
    fn a_changed_layer_is_named() {
        let layers = vec![layer("one"), layer("two")];
        let mut ids: Vec<String> = layers.iter().map(|l| sha(l)).collect();
        ids[1] = sha(b"something else");
        let err = read_single_image(&archive(&layers, &ids, true)[..]).unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("corrupt") && msg.contains("layer 2"), "{msg}");
    }

    #[test]
    fn truncation_is_named() {
        let layers = vec![layer(&"x".repeat(100_000))];
        let ids: Vec<String> = layers.iter().map(|l| sha(l)).collect();
        let bytes = archive(&layers, &ids, true);
        for cut in [bytes.len() / 2, 700, 512 * 3] {
            let msg = format!("{:#}", read_single_image(&bytes[..cut]).unwrap_err());
            assert!(
                msg.contains("truncated") || msg.contains("no manifest.json"),
                "cut at {cut}: {msg}"
            );
        }
        // Without only its end-of-archive marker, every file is whole: still readable.
        assert!(read_single_image(&bytes[..bytes.len() - 1024]).is_ok());
        // Cut at a header boundary before manifest.json: named as truncated.
        let before_manifest = bytes.len() - 1024 - 512 - 512;
        let msg = format!(
            "{:#}",
            read_single_image(&bytes[..before_manifest]).unwrap_err()
        );
        assert!(msg.starts_with("the archive is truncated"), "{msg}");
        let msg = format!("{:#}", read_single_image(&b""[..]).unwrap_err());
        assert!(msg.contains("empty"), "{msg}");
    }

    #[test]
    fn not_an_archive_and_compressed_layers() {
        let msg = format!("{:#}", read_archive(&[7u8; 2000][..]).unwrap_err());
        assert!(msg.contains("tar") || msg.contains("manifest"), "{msg}");
        let gz = [&[0x1f, 0x8b, 8, 0][..], &[0u8; 60]].concat();
        let id = sha(&gz);
        let msg = format!(
            "{:#}",
            read_single_image(&archive(&[gz], &[id], true)[..]).unwrap_err()
        );
        assert!(msg.contains("gzip-compressed"), "{msg}");
    }

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize(Path::new("./a/../b/c")).unwrap(), "b/c");
        assert_eq!(normalize(Path::new("../x")), None);
        assert!(is_sha256_digest(&sha(b"")));
        assert!(!is_sha256_digest("sha256:ABC"));
    }
}
