//! The agent container: `docker run` on the agent network only, confined and limited,
//! with no DNS of its own (mitmproxy's address comes later, by a hosts entry that
//! provisioning writes, so the agent is created without waiting for mitmproxy), its proxy and trust
//! set by environment, literal values through a short-lived env-file, forwarded values by
//! name, and each credential as its placeholder; and the steps around it. Pure.

use crate::config::credential::Credential;
use crate::config::manifest::Runtime;
use crate::config::resources::Resources;
use crate::image::contract::ImageContract;
use crate::naming::{AGENT_NAME_ATTEMPTS, BottleNames, Role};
use crate::plan::bottle_plan::{AgentContainerPlan, PlanEnv};
use crate::plan::docker_command::{Arg, DockerCommand};
use crate::plan::planner::hardening;
use crate::plan::slot::Slot;
use crate::plan::step::{Action, Step};
use crate::plan::undo::Undo;

/// What the agent container is made of.
pub(crate) struct AgentInput<'a> {
    pub image: &'a str,
    pub env: &'a PlanEnv,
    pub credentials: &'a [Credential],
    pub resources: &'a Resources,
    pub runtime: Runtime,
    pub proxy_url: &'a str,
}

pub(crate) fn agent_container(
    names: &BottleNames,
    input: AgentInput,
) -> (AgentContainerPlan, Vec<Step>) {
    let c = &ImageContract::get().agent;
    let mut steps = Vec::new();
    let mut run = DockerCommand::new(["run", "--detach", "--name"])
        .slot(Slot::AgentName)
        .args(names.labels.args(Role::Agent))
        .args([
            "--network",
            &names.of(Role::AgentNetwork),
            "--user",
            &c.user_spec(),
            "--workdir",
            &c.workdir,
        ])
        .args(hardening::confined())
        .args(input.resources.docker_args())
        .args(hardening::no_outside_dns());
    if input.runtime == Runtime::Runsc {
        run = run
            .args(["--runtime", "runsc"])
            // Claude Code's runtime (Bun) crashes under gVisor with its JIT on.
            .args(["--env", "BUN_JSC_useJIT=0"]);
    }
    let bundle = c.ca_bundle_path();
    let fixed_env = [
        ("HTTPS_PROXY", input.proxy_url),
        ("HTTP_PROXY", input.proxy_url),
        ("https_proxy", input.proxy_url),
        ("http_proxy", input.proxy_url),
        ("NO_PROXY", "localhost,127.0.0.1"),
        ("no_proxy", "localhost,127.0.0.1"),
        // Node's built-in fetch ignores the proxy variables unless asked (Node >= 22.21).
        ("NODE_USE_ENV_PROXY", "1"),
        ("NODE_EXTRA_CA_CERTS", &c.mitm_ca_path()),
        ("SSL_CERT_FILE", &bundle),
        ("REQUESTS_CA_BUNDLE", &bundle),
        ("CURL_CA_BUNDLE", &bundle),
        ("GIT_SSL_CAINFO", &bundle),
    ];
    for (k, v) in fixed_env {
        run = run.args(["--env".to_string(), format!("{k}={v}")]);
    }
    let literals = !input.env.literals.is_empty();
    if literals {
        // 0600 by construction; deleted right after `docker run` read it, and by teardown.
        steps.push(
            Step::new(Action::WriteEnvFile {
                names: input.env.literals.clone(),
            })
            .undo(Undo::File {
                path: Arg::Slot {
                    prefix: String::new(),
                    slot: Slot::EnvFile,
                    suffix: String::new(),
                },
            }),
        );
        run = run.arg("--env-file").slot(Slot::EnvFile);
    }
    for f in &input.env.forwarded {
        run = run.pass_env(&f.name);
    }
    // Placeholders are not secret: the real values never come near the agent.
    for cred in input.credentials {
        run = run.args([
            "--env".to_string(),
            format!("{}={}", cred.name, cred.placeholder()),
        ]);
    }
    let run = run.arg(input.image).args(c.command.iter().cloned());
    steps.push(
        Step::new(Action::RunAgent {
            run,
            name: names.agent.clone(),
            pinned: names.agent_pinned,
            attempts: AGENT_NAME_ATTEMPTS,
        })
        .undo(Undo::Containers {
            bottle_id: names.bottle_id.clone(),
            role: Role::Agent,
        }),
    );
    if literals {
        steps.push(Step::new(Action::RemoveEnvFile));
    }
    let plan = AgentContainerPlan {
        name: names.agent.clone(),
        name_pinned: names.agent_pinned,
    };
    (plan, steps)
}
