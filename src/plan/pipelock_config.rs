//! The pipelock configuration a bottle runs with, and its rendering (JSON, which pipelock
//! reads as YAML) and packing as a tar for `docker cp -`. Pure. pipelock rejects unknown
//! keys, so only keys from its documented schema appear here.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PipelockConfig {
    pub version: u32,
    pub mode: &'static str,
    pub enforce: bool,
    pub api_allowlist: Vec<String>,
    pub forward_proxy: ForwardProxy,
    pub dlp: Dlp,
    pub request_body_scanning: RequestBodyScanning,
    pub logging: Logging,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForwardProxy {
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dlp {
    pub include_defaults: bool,
    pub scan_env: bool,
    pub min_env_secret_length: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestBodyScanning {
    pub enabled: bool,
    pub action: &'static str,
    pub scan_headers: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Logging {
    pub format: &'static str,
    pub output: &'static str,
    pub include_allowed: bool,
    pub include_blocked: bool,
}

impl PipelockConfig {
    /// Strict allowlist enforcement with DLP blocking; `allowlist` is the bottle's.
    pub fn for_allowlist(allowlist: &[String]) -> PipelockConfig {
        PipelockConfig {
            version: 1,
            mode: "strict",
            enforce: true,
            api_allowlist: allowlist.to_vec(),
            forward_proxy: ForwardProxy { enabled: true },
            dlp: Dlp {
                include_defaults: true,
                scan_env: true,
                min_env_secret_length: 16,
            },
            request_body_scanning: RequestBodyScanning {
                enabled: true,
                action: "block",
                scan_headers: true,
            },
            logging: Logging {
                format: "json",
                output: "stdout",
                include_allowed: true,
                include_blocked: true,
            },
        }
    }

    /// The file's exact bytes: pretty JSON with a trailing newline, same input same output.
    pub fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("plain data serializes");
        text.push('\n');
        text
    }

    /// A tar archive holding `file_name` with mode 0644, owned by `uid:gid`, with a zero
    /// mtime, for `docker cp - container:dir`: no temporary file on the host.
    pub fn tar(&self, file_name: &str, uid: u32, gid: u32) -> anyhow::Result<Vec<u8>> {
        let body = self.render();
        let mut header = tar::Header::new_ustar();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_uid(uid.into());
        header.set_gid(gid.into());
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        let mut builder = tar::Builder::new(Vec::new());
        builder.append_data(&mut header, file_name, body.as_bytes())?;
        Ok(builder.into_inner()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_holds_the_rendered_file_with_the_owner() {
        let cfg = PipelockConfig::for_allowlist(&["a.example".into()]);
        let bytes = cfg.tar("pipelock.yaml", 1000, 1001).unwrap();
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut entries = archive.entries().unwrap();
        let mut entry = entries.next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_str(), Some("pipelock.yaml"));
        assert_eq!(entry.header().uid().unwrap(), 1000);
        assert_eq!(entry.header().gid().unwrap(), 1001);
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
        assert_eq!(text, cfg.render());
        assert!(entries.next().is_none());
    }
}
