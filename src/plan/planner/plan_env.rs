//! The bottle's environment and credentials for one launch, by name: literals for the
//! env-file, values forwarded into the agent by name (prompts, host variables), which of
//! those pipelock scans for, and the credentials injected at the proxy (the bottle's own,
//! and the model credentials the host has). Pure.

use crate::config::catalog::Bottle;
use crate::config::credential::{Credential, MODEL_CREDENTIALS, ValueSource};
use crate::config::env_value::EnvValue;
use crate::error::Error;
use crate::host_snapshot::HostSnapshot;
use crate::plan::bottle_plan::{ForwardedEnv, PlanEnv};

pub(crate) fn plan_env(
    bottle: &Bottle,
    host: &HostSnapshot,
) -> Result<(PlanEnv, Vec<Credential>), Error> {
    let unset = |path: String, var: &str| {
        Error::usage(format!(
            "{}: bottles.{}.{path}: the host variable {var} is not set; export it, or change the value",
            bottle.source, bottle.name
        ))
    };
    let mut literals = Vec::new();
    let mut forwarded = Vec::new();
    for (name, value) in &bottle.env {
        let source = match value {
            EnvValue::Literal(_) => {
                literals.push(name.clone());
                continue;
            }
            EnvValue::Prompt { prompt } => ValueSource::Prompt {
                prompt: prompt.clone(),
            },
            EnvValue::Host { var } => {
                if host.var(var).is_none() {
                    return Err(unset(format!("env.{name}"), var));
                }
                ValueSource::Host { var: var.clone() }
            }
        };
        forwarded.push(ForwardedEnv {
            name: name.clone(),
            source,
        });
    }
    let mut credentials = bottle.credentials.clone();
    for cred in &credentials {
        if let ValueSource::Host { var } = &cred.source
            && host.var(var).is_none()
        {
            return Err(unset(format!("credentials.{}.value", cred.name), var));
        }
    }
    for name in MODEL_CREDENTIALS {
        let declared = credentials.iter().any(|c| c.name == *name);
        if !declared && host.var(name).is_some_and(|v| !v.is_empty()) {
            credentials.push(Credential::model(name));
        }
    }
    let scanned_by_pipelock = forwarded.iter().map(|f| f.name.clone()).collect();
    Ok((
        PlanEnv {
            literals,
            forwarded,
            scanned_by_pipelock,
        },
        credentials,
    ))
}
