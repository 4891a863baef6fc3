//! `PipelockConfig`: the pipelock configuration a bottle runs with, and its rendering
//! (JSON, which pipelock reads as YAML). Pure. pipelock rejects unknown keys, so only keys
//! from its documented schema appear here.

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
}
