//! The agent container: `docker run` on the agent network only, its proxy and trust set
//! by environment, literal values through a short-lived env-file, forwarded values by
//! name; and the steps around it (env-file, mitmproxy's host entry for runsc). Pure.

use crate::config::manifest::Runtime;
use crate::image::contract::ImageContract;
use crate::plan::bottle_plan::{AgentContainerPlan, PlanEnv};
use crate::plan::docker_command::{Arg, DockerCommand};
use crate::plan::planner::names::Names;
use crate::plan::role::Role;
use crate::plan::slot::Slot;
use crate::plan::step::{Action, Capture, Step};
use crate::plan::undo::Undo;

/// Agent names tried after a conflict: `name`, `name-2`, … `name-10`.
pub(crate) const NAME_ATTEMPTS: u32 = 10;

pub(crate) fn agent_container(
    names: &Names,
    image: &str,
    env: &PlanEnv,
    runtime: Runtime,
    proxy_url: &str,
) -> (AgentContainerPlan, Vec<Step>) {
    let c = &ImageContract::get().agent;
    let mut steps = Vec::new();
    let mut run = DockerCommand::new(["run", "--detach", "--name"])
        .slot(Slot::AgentName)
        .args(names.labels.args(Role::Agent))
        .args([
            "--network",
            &names.net_agent,
            "--user",
            &c.user_spec(),
            "--workdir",
            &c.workdir,
        ]);
    if runtime == Runtime::Runsc {
        // gVisor cannot use Docker's embedded DNS: mitmproxy's address comes by --add-host.
        let net = &names.net_agent;
        steps.push(Step::new(Action::Query {
            query: DockerCommand::new([
                "inspect".to_string(),
                "--format".into(),
                format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
                names.mitmproxy.clone(),
            ]),
            capture: Capture::HostEntry {
                name: names.mitmproxy.clone(),
            },
        }));
        run = run
            .args(["--runtime", "runsc", "--add-host"])
            .slot(Slot::MitmHostEntry)
            // Claude Code's runtime (Bun) crashes under gVisor with its JIT on.
            .args(["--env", "BUN_JSC_useJIT=0"]);
    }
    let bundle = c.ca_bundle_path();
    let fixed_env = [
        ("HTTPS_PROXY", proxy_url),
        ("HTTP_PROXY", proxy_url),
        ("https_proxy", proxy_url),
        ("http_proxy", proxy_url),
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
    let literals = !env.literals.is_empty();
    if literals {
        // 0600 by construction; deleted right after `docker run` read it, and by teardown.
        steps.insert(
            0,
            Step::new(Action::WriteEnvFile {
                names: env.literals.clone(),
            })
            .undo(Undo::File {
                path: Arg::Slot {
                    slot: Slot::EnvFile,
                    suffix: String::new(),
                },
            }),
        );
        run = run.arg("--env-file").slot(Slot::EnvFile);
    }
    for f in &env.forwarded {
        run = run.args(["--env", &f.name]).pass_env(&f.name);
    }
    let run = run.arg(image).args(c.command.iter().cloned());
    steps.push(
        Step::new(Action::RunAgent {
            run,
            name: names.agent.clone(),
            pinned: names.agent_pinned,
            attempts: NAME_ATTEMPTS,
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
