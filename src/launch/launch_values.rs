//! Collects the values a launch needs by name: prompted secrets (asked on the terminal,
//! never echoed), host variables, credentials, and the literals for the env-file; and
//! files them under the names the plan's docker commands pass them by. I/O (terminal,
//! host environment). Values live only in memory from here on.

use crate::config::catalog::Bottle;
use crate::config::credential::ValueSource;
use crate::config::env_value::EnvValue;
use crate::error::Error;
use crate::plan::addon_config::guarded_env;
use crate::plan::bottle_plan::BottlePlan;
use std::collections::BTreeMap;
use std::io::Write;

pub struct LaunchValues {
    /// Every value a docker child receives by name: the agent's forwarded values (also
    /// pipelock's, to scan for, and mitmproxy's under `BOT_BOTTLE_GUARDED_*`) and the
    /// credentials' real values (mitmproxy's and pipelock's, `BOT_BOTTLE_CREDENTIAL_*`).
    pub by_name: BTreeMap<String, String>,
    /// Literal values, for the 0600 env-file.
    pub literals: Vec<(String, String)>,
    /// (name, value) of the forwarded values and credentials, for the length warning.
    secrets: Vec<(String, usize)>,
}

impl LaunchValues {
    pub fn collect(
        plan: &BottlePlan,
        bottle: &Bottle,
        host_env: &BTreeMap<String, String>,
    ) -> Result<LaunchValues, Error> {
        let value_of = |source: &ValueSource, name: &str| -> Result<String, Error> {
            match source {
                ValueSource::Host { var } => host_env.get(var).cloned().ok_or_else(|| {
                    Error::usage(format!("the host variable {var} (for {name}) is not set"))
                }),
                ValueSource::Prompt { prompt } => ask(name, prompt.as_deref()),
            }
        };
        let mut by_name = BTreeMap::new();
        let mut secrets = Vec::new();
        for f in &plan.env.forwarded {
            let value = value_of(&f.source, &f.name)?;
            secrets.push((f.name.clone(), value.chars().count()));
            by_name.insert(guarded_env(&f.name), value.clone());
            by_name.insert(f.name.clone(), value);
        }
        for c in &plan.credentials {
            let value = value_of(&c.source, &c.name)?;
            if value.is_empty() {
                return Err(Error::usage(format!(
                    "the credential {} is empty; give it a value (an empty one could never be injected or recognised)",
                    c.name
                )));
            }
            secrets.push((c.name.clone(), value.chars().count()));
            by_name.insert(c.value_env(), value);
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
            by_name,
            literals,
            secrets,
        })
    }

    /// Secret values (forwarded or credentials) too short for pipelock's environment scan
    /// to recognise (the addon still refuses a credential found where it did not put it).
    pub fn too_short_for_pipelock(&self, plan: &BottlePlan) -> Vec<String> {
        let min = plan.pipelock.config.dlp.min_env_secret_length as usize;
        self.secrets
            .iter()
            .filter(|(_, len)| *len < min)
            .map(|(name, _)| name.clone())
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

fn ask(name: &str, prompt: Option<&str>) -> Result<String, Error> {
    let question = match prompt {
        Some(p) => format!("bottle: {p} ({name}): "),
        None => format!("bottle: value for {name}: "),
    };
    let _ = std::io::stderr().flush();
    rpassword::prompt_password(&question).map_err(|e| {
        Error::usage(format!(
            "{name} is asked on the terminal at launch (\"?\" in the manifest), but none is available ({e}); run bottle from a terminal, or use \"${{HOST_VAR}}\" for unattended runs"
        ))
    })
}
