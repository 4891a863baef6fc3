//! The bottle's environment for one launch, by name: literals for the env-file, values
//! forwarded by name (prompts, host variables, model credentials), and which of those
//! pipelock scans for. Pure.

use crate::config::catalog::{AUTH_ENV, Bottle};
use crate::config::env_value::EnvValue;
use crate::exit_code::UserError;
use crate::host_snapshot::HostSnapshot;
use crate::plan::bottle_plan::{ForwardSource, ForwardedEnv, PlanEnv};

pub(crate) fn plan_env(bottle: &Bottle, host: &HostSnapshot) -> Result<PlanEnv, UserError> {
    let mut literals = Vec::new();
    let mut forwarded = Vec::new();
    for (name, value) in &bottle.env {
        let source = match value {
            EnvValue::Literal(_) => {
                literals.push(name.clone());
                continue;
            }
            EnvValue::Prompt { prompt } => ForwardSource::Prompt {
                prompt: prompt.clone(),
            },
            EnvValue::Host { var } => {
                if host.var(var).is_none() {
                    return Err(UserError::new(format!(
                        "{}: bottles.{}.env.{name}: the host variable {var} is not set; export it, or change the value",
                        bottle.source, bottle.name
                    )));
                }
                ForwardSource::Host { var: var.clone() }
            }
        };
        forwarded.push(ForwardedEnv {
            name: name.clone(),
            source,
        });
    }
    for cred in AUTH_ENV {
        let declared = bottle.env.iter().any(|(n, _)| n == cred);
        if !declared && host.var(cred).is_some_and(|v| !v.is_empty()) {
            forwarded.push(ForwardedEnv {
                name: cred.to_string(),
                source: ForwardSource::Credential,
            });
        }
    }
    let scanned_by_pipelock = forwarded
        .iter()
        .filter(|f| !AUTH_ENV.contains(&f.name.as_str()))
        .map(|f| f.name.clone())
        .collect();
    Ok(PlanEnv {
        literals,
        forwarded,
        scanned_by_pipelock,
    })
}
