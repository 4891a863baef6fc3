//! The image contract (`nix/image-contract.json`): users, paths, ports and commands the
//! three images promise, the parts the CLI uses (the Nix images read the rest: names,
//! users, homes), checked to agree with the commands. Pure; the file is compiled in, so
//! the CLI and the Nix images cannot drift apart.

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
    pub uid: u32,
    pub gid: u32,
    pub port: u16,
    pub config_path: String,
    pub command: Vec<String>,
    /// The directories it writes (tmpfs on its read-only root filesystem).
    pub writable: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MitmproxyContract {
    pub uid: u32,
    pub gid: u32,
    pub port: u16,
    pub confdir: String,
    /// Where bottle's CA (key and certificate) is written at each start, for mitmproxy to
    /// load instead of making its own.
    pub ca_file: String,
    /// Written by the addon once mitmproxy listens (its `running` hook); gone after a
    /// restart, since the confdir is a tmpfs.
    pub ready_file: String,
    /// Where bottle writes the hosts approved live (`bottle allow-host`) for the addon,
    /// which loads it when it changes (bot_bottle_addon/live_policy.py); gone after a
    /// restart (tmpfs) until supervision writes it again.
    pub live_policy_file: String,
    pub addon: String,
    pub command: Vec<String>,
    /// The addon's option naming its config (`env:VAR` or a path).
    pub config_option: String,
    /// The Python interpreter on its PATH (`bottle run -p` runs the port relays with it).
    pub python: String,
    /// The directories it writes (tmpfs on its read-only root filesystem).
    pub writable: Vec<String>,
}

impl ImageContract {
    /// The compiled-in contract. It is checked by a unit test, so parsing cannot fail at run time.
    pub fn get() -> &'static ImageContract {
        static CONTRACT: OnceLock<ImageContract> = OnceLock::new();
        CONTRACT.get_or_init(|| {
            ImageContract::parse(CONTRACT_JSON)
                .expect("nix/image-contract.json is valid (unit-tested)")
        })
    }

    /// Parses a contract and checks that its parts agree: the ports and paths bottle uses
    /// are the ones the images' commands listen on and read.
    pub fn parse(text: &str) -> Result<ImageContract, String> {
        let c: ImageContract = serde_json::from_str(text).map_err(|e| e.to_string())?;
        c.check()?;
        Ok(c)
    }

    fn check(&self) -> Result<(), String> {
        let (p, m, a) = (&self.pipelock, &self.mitmproxy, &self.agent);
        let after = |command: &[String], flag: &str| -> Option<String> {
            command
                .windows(2)
                .find(|w| w[0] == flag)
                .map(|w| w[1].clone())
        };
        let mut problems = Vec::new();
        let mut want = |ok: bool, what: String| {
            if !ok {
                problems.push(what);
            }
        };
        want(
            after(&p.command, "--listen").is_some_and(|l| l.ends_with(&format!(":{}", p.port))),
            format!(
                "pipelock.port {} is not the port of its command's --listen",
                p.port
            ),
        );
        want(
            after(&p.command, "--config").as_deref() == Some(p.config_path.as_str()),
            format!(
                "pipelock.config_path {} is not its command's --config",
                p.config_path
            ),
        );
        want(
            after(&m.command, "--listen-port") == Some(m.port.to_string()),
            format!(
                "mitmproxy.port {} is not its command's --listen-port",
                m.port
            ),
        );
        want(
            after(&m.command, "-s").as_deref() == Some(m.addon.as_str()),
            format!(
                "mitmproxy.addon {} is not the script its command loads (-s)",
                m.addon
            ),
        );
        want(
            m.command.contains(&format!("confdir={}", m.confdir)),
            format!(
                "mitmproxy.confdir {} is not its command's confdir",
                m.confdir
            ),
        );
        want(
            p.writable
                .iter()
                .any(|w| p.config_path.starts_with(&format!("{w}/"))),
            format!(
                "pipelock.config_path {} is not in a writable directory",
                p.config_path
            ),
        );
        want(
            m.writable.contains(&m.confdir),
            format!("mitmproxy.confdir {} is not writable", m.confdir),
        );
        want(
            m.ca_file == format!("{}/mitmproxy-ca.pem", m.confdir),
            format!(
                "mitmproxy.ca_file {} is not mitmproxy-ca.pem in its confdir",
                m.ca_file
            ),
        );
        want(
            m.ready_file == format!("{}/bot-bottle-ready", m.confdir),
            format!(
                "mitmproxy.ready_file {} is not bot-bottle-ready in its confdir (the addon writes it there)",
                m.ready_file
            ),
        );
        want(
            m.live_policy_file == format!("{}/bot-bottle-live-policy.json", m.confdir),
            format!(
                "mitmproxy.live_policy_file {} is not bot-bottle-live-policy.json in its confdir (the addon reads it there)",
                m.live_policy_file
            ),
        );
        want(
            a.workdir.starts_with(&format!("{}/", a.home))
                && a.skills_dir.starts_with(&format!("{}/", a.home)),
            "agent.workdir and agent.skills_dir must be under agent.home".to_string(),
        );
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "the image contract disagrees with itself: {}",
                problems.join("; ")
            ))
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_parses_and_is_consistent() {
        let c = ImageContract::parse(CONTRACT_JSON).unwrap();
        assert!(c.pipelock.writable.iter().any(|w| w == "/etc/pipelock"));
        assert!(c.mitmproxy.command.iter().any(|a| a == &c.mitmproxy.addon));
    }

    /// A port or path changed in one place of the contract but not in the command that
    /// uses it would leave bottle talking to a port nothing listens on.
    #[test]
    fn a_port_or_path_its_command_does_not_use_is_refused() {
        let cases: [(&str, serde_json::Value, &str); 6] = [
            ("/pipelock/port", 9999.into(), "pipelock.port 9999"),
            (
                "/pipelock/config_path",
                "/etc/pl.yaml".into(),
                "pipelock.config_path",
            ),
            ("/mitmproxy/port", 8081.into(), "mitmproxy.port 8081"),
            (
                "/mitmproxy/addon",
                "/opt/other.py".into(),
                "mitmproxy.addon",
            ),
            (
                "/mitmproxy/confdir",
                "/tmp/conf".into(),
                "mitmproxy.confdir",
            ),
            ("/agent/workdir", "/work".into(), "agent.workdir"),
        ];
        for (pointer, value, complaint) in cases {
            let mut json: serde_json::Value = serde_json::from_str(CONTRACT_JSON).unwrap();
            *json.pointer_mut(pointer).unwrap() = value;
            let err = ImageContract::parse(&json.to_string())
                .expect_err(&format!("{pointer} changed alone was accepted"));
            assert!(err.contains(complaint), "{pointer}: {err}");
        }
    }
}
