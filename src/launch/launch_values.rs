//! Collects the values a launch needs by name: prompted secrets (asked on the terminal,
//! never echoed), host variables, model credentials, and the literals for the env-file.
//! I/O (terminal, host environment). Values live only in memory from here on.

use crate::config::catalog::Bottle;
use crate::config::env_value::EnvValue;
use crate::exit_code::UserError;
use crate::plan::bottle_plan::{BottlePlan, ForwardSource};
use anyhow::Result;
use std::collections::BTreeMap;
use std::io::Write;

pub struct LaunchValues {
    /// Forwarded values, passed to docker children by name.
    pub forwarded: BTreeMap<String, String>,
    /// Literal values, for the 0600 env-file.
    pub literals: Vec<(String, String)>,
}

impl LaunchValues {
    pub fn collect(
        plan: &BottlePlan,
        bottle: &Bottle,
        host_env: &BTreeMap<String, String>,
    ) -> Result<LaunchValues> {
        let mut forwarded = BTreeMap::new();
        for f in &plan.env.forwarded {
            let value = match &f.source {
                ForwardSource::Host { var } => host_env.get(var).cloned().ok_or_else(|| {
                    UserError::new(format!(
                        "the host variable {var} (for {}) is not set",
                        f.name
                    ))
                })?,
                ForwardSource::Credential => host_env.get(&f.name).cloned().unwrap_or_default(),
                ForwardSource::Prompt { prompt } => ask(&f.name, prompt.as_deref())?,
            };
            forwarded.insert(f.name.clone(), value);
        }
        let literals = bottle
            .env
            .iter()
            .filter_map(|(name, value)| match value {
                EnvValue::Literal(v) => Some((name.clone(), v.clone())),
                _ => None,
            })
            .collect();
        Ok(LaunchValues {
            forwarded,
            literals,
        })
    }

    /// Forwarded values pipelock scans for but, being under its minimum length, cannot
    /// recognise.
    pub fn too_short_for_pipelock(&self, plan: &BottlePlan) -> Vec<String> {
        let min = plan.pipelock.config.dlp.min_env_secret_length as usize;
        plan.env
            .scanned_by_pipelock
            .iter()
            .filter(|name| {
                self.forwarded
                    .get(*name)
                    .is_some_and(|v| v.chars().count() < min)
            })
            .cloned()
            .collect()
    }

    /// The env-file's text: `NAME=value` lines (values were checked for newlines and NUL).
    pub fn env_file_text(&self) -> String {
        self.literals
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect()
    }
}

fn ask(name: &str, prompt: Option<&str>) -> Result<String> {
    let question = match prompt {
        Some(p) => format!("bottle: {p} ({name}): "),
        None => format!("bottle: value for {name}: "),
    };
    let _ = std::io::stderr().flush();
    rpassword::prompt_password(&question).map_err(|e| {
        UserError::new(format!(
            "{name} is asked on the terminal at launch (\"?\" in the manifest), but none is available ({e}); run bottle from a terminal, or use \"${{HOST_VAR}}\" for unattended runs"
        ))
        .into()
    })
}
