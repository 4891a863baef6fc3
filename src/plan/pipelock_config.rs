//! `PipelockConfig`: the pipelock configuration a bottle runs with, and its rendering
//! (JSON, which pipelock reads as YAML). Pure. pipelock (v2.3.0, the pinned release)
//! rejects unknown keys at any depth, so only keys from its schema appear here; each is
//! explained, with the source line that defines it, in docs/pipelock.md.

use crate::config::egress::Egress;
use crate::config::host_pattern;
use crate::config::provider;
use crate::plan::env_secret_pattern;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PipelockConfig {
    pub version: u32,
    pub mode: &'static str,
    pub enforce: bool,
    pub api_allowlist: Vec<String>,
    /// Hosts on private addresses pipelock may still connect to (its SSRF check).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trusted_domains: Vec<String>,
    pub forward_proxy: ForwardProxy,
    pub fetch_proxy: FetchProxy,
    pub dlp: Dlp,
    pub seed_phrase_detection: SeedPhraseDetection,
    pub request_body_scanning: RequestBodyScanning,
    pub response_scanning: ResponseScanning,
    pub logging: Logging,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForwardProxy {
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetchProxy {
    /// The whole request, streamed response included: a model answer takes minutes.
    pub timeout_seconds: u64,
    /// Larger non-streamed responses are cut short.
    pub max_response_mb: u64,
    pub monitoring: Monitoring,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Monitoring {
    /// Per registrable domain; pipelock's default of 60 is below one agent's rate.
    pub max_requests_per_minute: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dlp {
    pub include_defaults: bool,
    pub scan_env: bool,
    pub min_env_secret_length: u32,
    /// Each replaces the default pattern of its name (the rest stay).
    pub patterns: Vec<DlpPattern>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DlpPattern {
    pub name: &'static str,
    pub regex: String,
    pub severity: &'static str,
}

/// A cryptocurrency address in a URL, header or body (issue 22): pipelock v2.3.0's preset
/// configs' "Ethereum Address" (configs/strict.yaml:220), verbatim. Its defaults leave it
/// out (internal/config/defaults.go:155) because blockchain agents send addresses all the
/// time; docs/pipelock.md says why bot-bottle turns it on and `address_protection` off.
pub fn ethereum_address() -> DlpPattern {
    DlpPattern {
        name: "Ethereum Address",
        regex: r"0x[0-9a-fA-F]{40}\b".into(),
        severity: "high",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeedPhraseDetection {
    pub enabled: bool,
    /// 12 (the default) matches ordinary English in Claude Code's requests.
    pub min_words: u32,
    pub verify_checksum: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestBodyScanning {
    pub enabled: bool,
    pub action: &'static str,
    /// The same limit the addon enforces before anything reaches pipelock.
    pub max_body_bytes: u64,
    pub scan_headers: bool,
    /// Every header, not only pipelock's list of sensitive ones ...
    pub header_mode: &'static str,
    /// ... except those the addon injects credentials into (it scans them itself).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore_headers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseScanning {
    /// Also the switch for streaming: off, an event stream is buffered whole.
    pub enabled: bool,
    /// A match in a page is logged: docs match the injection patterns all the time.
    pub action: &'static str,
    pub sse_streaming: SseStreaming,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SseStreaming {
    pub enabled: bool,
    /// Logged, not ended: ordinary model text matches the patterns, and a block ends the
    /// answer mid-stream.
    pub action: &'static str,
    /// Larger events would be dropped; a server tool's result arrives as one big event.
    pub max_event_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Logging {
    pub format: &'static str,
    pub output: &'static str,
    pub include_allowed: bool,
    pub include_blocked: bool,
}

/// pipelock's environment scan ignores shorter values.
pub const MIN_ENV_SECRET_LENGTH: u32 = 16;
/// BIP-39 seed phrases of fewer words are not looked for (see [`SeedPhraseDetection`]).
pub const SEED_PHRASE_MIN_WORDS: u32 = 24;

impl PipelockConfig {
    /// The web pipelock's: strict allowlist enforcement with DLP blocking, the bottle's
    /// egress settings, and `ignore_headers`, the headers credentials are injected into. The
    /// model providers' API hosts are not on its allowlist: their requests take the model
    /// lane ([`PipelockConfig::for_model`]).
    pub fn for_bottle(egress: &Egress, ignore_headers: &[String]) -> PipelockConfig {
        PipelockConfig {
            version: 1,
            mode: "strict",
            enforce: true,
            api_allowlist: egress
                .allowlist
                .iter()
                .filter(|h| !provider::is_provider_host(h))
                .cloned()
                .collect(),
            trusted_domains: egress.private_hosts.clone(),
            forward_proxy: ForwardProxy { enabled: true },
            fetch_proxy: FetchProxy {
                timeout_seconds: egress.request_timeout_seconds,
                max_response_mb: egress.max_response_mb,
                monitoring: Monitoring {
                    max_requests_per_minute: egress.requests_per_minute,
                },
            },
            dlp: Dlp {
                include_defaults: true,
                scan_env: true,
                min_env_secret_length: MIN_ENV_SECRET_LENGTH,
                patterns: vec![
                    DlpPattern {
                        name: env_secret_pattern::NAME,
                        regex: env_secret_pattern::regex(),
                        severity: "high",
                    },
                    ethereum_address(),
                ],
            },
            seed_phrase_detection: SeedPhraseDetection {
                enabled: true,
                min_words: SEED_PHRASE_MIN_WORDS,
                verify_checksum: true,
            },
            request_body_scanning: RequestBodyScanning {
                enabled: true,
                action: "block",
                max_body_bytes: egress.max_request_bytes(),
                scan_headers: true,
                header_mode: "all",
                ignore_headers: ignore_headers.to_vec(),
            },
            response_scanning: ResponseScanning {
                enabled: true,
                action: "warn",
                sse_streaming: SseStreaming {
                    enabled: true,
                    action: "warn",
                    max_event_bytes: 1024 * 1024,
                },
            },
            logging: Logging {
                format: "json",
                output: "stdout",
                include_allowed: true,
                include_blocked: true,
            },
        }
    }

    /// The model pipelock's: the web one's URL, header-free DLP, SSRF, rate and size
    /// checks, with an allowlist of the providers' API hosts (those the bottle allows) and
    /// no request body scanning: mitmproxy's addon has already judged the body and redacted
    /// secrets from it, and pipelock's body scan costs seconds per megabyte (docs/pipelock.md).
    /// pipelock's header scan is part of its body scanning and goes with it; the addon
    /// judges the identity headers of this lane.
    pub fn for_model(egress: &Egress) -> PipelockConfig {
        let hosts: Vec<String> = provider::provider_hosts()
            .into_iter()
            .filter(|h| egress.allows(h))
            .collect();
        let trusted: Vec<String> = hosts
            .iter()
            .filter(|h| {
                egress
                    .private_hosts
                    .iter()
                    .any(|p| host_pattern::covers(p, h))
            })
            .cloned()
            .collect();
        let web = PipelockConfig::for_bottle(egress, &[]);
        PipelockConfig {
            api_allowlist: hosts,
            trusted_domains: trusted,
            request_body_scanning: RequestBodyScanning {
                enabled: false,
                scan_headers: false,
                ignore_headers: Vec::new(),
                ..web.request_body_scanning
            },
            ..web
        }
    }

    /// The file's exact bytes: pretty JSON with a trailing newline, same input same output.
    pub fn render(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("plain data serializes");
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The conformance suite checks, against the double and a real pipelock, the configs
    /// in tests/pipelock_conformance/product_config.json (the web pipelock's) and
    /// model_config.json (the model pipelock's): they must be exactly what the product
    /// renders for such a bottle, or the suite would test something else.
    #[test]
    fn the_conformance_suite_tests_the_config_the_product_renders() {
        let fixture: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/pipelock_conformance/product_config.json"
        ))
        .unwrap();
        let hosts: Vec<String> = [
            "api.anthropic.com",
            "statsig.anthropic.com",
            "*.allowed.test",
        ]
        .map(String::from)
        .to_vec();
        let egress = Egress {
            allowlist: hosts.clone(),
            private_hosts: hosts,
            ..Egress::default()
        };
        let rendered =
            PipelockConfig::for_bottle(&egress, &["authorization".into(), "x-api-key".into()]);
        let rendered: serde_json::Value = serde_json::from_str(&rendered.render()).unwrap();
        assert_eq!(rendered, fixture);
        assert!(
            !rendered["api_allowlist"]
                .as_array()
                .unwrap()
                .contains(&"api.anthropic.com".into()),
            "the model lane's host is the model pipelock's alone"
        );
        // And the model pipelock's: tests/pipelock_conformance/model_config.json.
        let fixture: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/pipelock_conformance/model_config.json"
        ))
        .unwrap();
        let rendered = PipelockConfig::for_model(&egress);
        let rendered: serde_json::Value = serde_json::from_str(&rendered.render()).unwrap();
        assert_eq!(rendered, fixture);
    }
}
