//! The image contract (`nix/image-contract.json`): users, paths, ports and commands the
//! three images promise. Pure; the file is compiled in, so the CLI and the Nix images
//! cannot drift apart.

use serde::Deserialize;
use std::sync::OnceLock;

const CONTRACT_JSON: &str = include_str!("../../nix/image-contract.json");

#[derive(Debug, Clone, Deserialize)]
pub struct ImageContract {
    pub agent: AgentContract,
    pub pipelock: PipelockContract,
    pub mitmproxy: MitmproxyContract,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AgentContract {
    pub repository: String,
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub workdir: String,
    pub system_ca_bundle: String,
    pub trust_dir: String,
    pub skills_dir: String,
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PipelockContract {
    pub repository: String,
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    pub port: u16,
    pub config_path: String,
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MitmproxyContract {
    pub repository: String,
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    pub port: u16,
    pub home: String,
    pub confdir: String,
    pub ca_cert: String,
    pub addon: String,
    pub command: Vec<String>,
    pub pipelock_option: String,
}

impl ImageContract {
    /// The compiled-in contract. It is checked by a unit test, so parsing cannot fail at run time.
    pub fn get() -> &'static ImageContract {
        static CONTRACT: OnceLock<ImageContract> = OnceLock::new();
        CONTRACT.get_or_init(|| {
            serde_json::from_str(CONTRACT_JSON)
                .expect("nix/image-contract.json is valid (unit-tested)")
        })
    }
}

impl AgentContract {
    /// The mitmproxy CA alone, for runtimes that add to their built-in roots (Node).
    pub fn mitm_ca_path(&self) -> String {
        format!("{}/mitm-ca.pem", self.trust_dir)
    }

    /// System roots plus the mitmproxy CA, for runtimes that take one bundle (OpenSSL, curl, requests).
    pub fn ca_bundle_path(&self) -> String {
        format!("{}/ca-bundle.pem", self.trust_dir)
    }

    pub fn prompt_path(&self) -> String {
        format!("{}/.bot-bottle/prompt.md", self.home)
    }

    pub fn user_spec(&self) -> String {
        format!("{}:{}", self.uid, self.gid)
    }
}

impl PipelockContract {
    pub fn config_dir(&self) -> &str {
        self.config_path
            .rsplit_once('/')
            .map(|(dir, _)| dir)
            .unwrap_or("/")
    }

    pub fn config_file_name(&self) -> &str {
        self.config_path
            .rsplit_once('/')
            .map(|(_, file)| file)
            .unwrap_or(&self.config_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_parses_and_is_consistent() {
        let c = ImageContract::get();
        assert!(
            c.pipelock
                .command
                .iter()
                .any(|a| a == &c.pipelock.config_path)
        );
        assert!(c.mitmproxy.command.iter().any(|a| a == &c.mitmproxy.addon));
        assert!(c.mitmproxy.ca_cert.starts_with(&c.mitmproxy.confdir));
        assert!(c.agent.workdir.starts_with(&c.agent.home));
        assert_eq!(c.pipelock.config_dir(), "/etc/pipelock");
        assert_eq!(c.pipelock.config_file_name(), "pipelock.yaml");
    }
}
