//! The two sidecars, each a lane of steps. pipelock: started on the proxy network with its
//! config written by a tiny shell wrapper into a private tmpfs (its root filesystem is
//! read-only, so nothing can be copied in), joined to egress, waited for on `/health`.
//! mitmproxy: started on the agent network with the addon's config in its environment,
//! joined to the proxy network; its address on the agent network is read (the agent
//! reaches it by `--add-host`, not by DNS), and it is waited for until its CA certificate
//! can be read. Both confined (see `hardening`). Pure.

use crate::config::credential::Credential;
use crate::config::egress::Egress;
use crate::config::git_push::PushPolicy;
use crate::config::resources::EngineCapacity;
use crate::image::contract::ImageContract;
use crate::image::image_ref::ImageRef;
use crate::naming::{BottleNames, Role};
use crate::plan::addon_config::{ADDON_CONFIG_ENV, AddonConfig, guarded_env};
use crate::plan::addon_policy::AddonPolicy;
use crate::plan::bottle_plan::{MitmproxyPlan, PipelockPlan};
use crate::plan::docker_command::DockerCommand;
use crate::plan::phase::Lane;
use crate::plan::pipelock_config::PipelockConfig;
use crate::plan::planner::hardening;
use crate::plan::step::{Action, Capture, Step};
use crate::plan::undo::Undo;

/// How long pipelock's `/health` and mitmproxy's CA may take to appear.
pub(crate) const READY_TIMEOUT_SECONDS: u64 = 60;
/// The private tmpfs directories' size.
const TMPFS_MB: u64 = 64;

/// `docker run --detach` of a sidecar, confined, on one network (`docker run` joins only
/// one; the second is connected right after).
fn run(
    names: &BottleNames,
    name: &str,
    role: Role,
    network: &str,
    uid: u32,
    gid: u32,
) -> DockerCommand {
    DockerCommand::new(["run", "--detach", "--name", name])
        .args(names.labels.args(role))
        .args(["--network", network, "--user", &format!("{uid}:{gid}")])
        .args(hardening::confined())
        .args(hardening::no_outside_dns())
}

fn undo(names: &BottleNames, role: Role) -> Undo {
    Undo::Containers {
        bottle_id: names.bottle_id.clone(),
        role,
    }
}

/// What pipelock needs from the bottle.
pub(crate) struct PipelockInput<'a> {
    pub egress: &'a Egress,
    /// The agent's forwarded secrets, by name: pipelock's environment scan blocks them.
    pub scanned_env: &'a [String],
    pub credentials: &'a [Credential],
    pub ignore_headers: &'a [String],
    pub engine: Option<EngineCapacity>,
}

pub(crate) fn pipelock(
    names: &BottleNames,
    image: &ImageRef,
    input: PipelockInput,
) -> (PipelockPlan, Lane) {
    let c = &ImageContract::get().pipelock;
    let name = &names.of(Role::Pipelock);
    let config = PipelockConfig::for_bottle(input.egress, input.ignore_headers);
    // It buffers non-streamed responses and whole request bodies while it scans them.
    let memory_mb = 256 + 4 * (input.egress.max_response_mb + input.egress.max_request_mb);
    let mut run = run(
        names,
        name,
        Role::Pipelock,
        &names.of(Role::ProxyNetwork),
        c.uid,
        c.gid,
    )
    .args(hardening::read_only(&c.writable, c.uid, c.gid, TMPFS_MB))
    .args(hardening::sidecar_limits(memory_mb, input.engine));
    // The real values pipelock scans for, by name only. Credentials too: they may leave
    // only in the headers the addon injects them into, which pipelock skips.
    for var in input.scanned_env {
        run = run.pass_env(var);
    }
    for cred in input.credentials {
        let var = cred.value_env();
        run = run.pass_env(var);
    }
    let run = run
        .arg(image.arg())
        .args([
            "sh",
            "-c",
            &format!(
                "printf '%s' \"$1\" > {} && shift && exec \"$@\"",
                c.config_path
            ),
            "bot-bottle-pipelock",
        ])
        .content("the pipelock config, below", config.render())
        .args(c.command.iter().cloned());
    let steps = vec![
        Step::create_container(run, name).undo(undo(names, Role::Pipelock)),
        Step::run(DockerCommand::new([
            "network",
            "connect",
            &names.of(Role::EgressNetwork),
            name,
        ])),
        Step::new(Action::WaitFor {
            probe: DockerCommand::new([
                "exec",
                name,
                "pipelock",
                "healthcheck",
                "--addr",
                &format!("127.0.0.1:{}", c.port),
            ]),
            container: name.clone(),
            what: "pipelock /health".into(),
            timeout_seconds: READY_TIMEOUT_SECONDS,
            capture: None,
        })
        .done("pipelock answers /health"),
    ];
    let plan = PipelockPlan {
        container: name.clone(),
        address: format!("{name}:{}", c.port),
        config,
        config_path: c.config_path.clone(),
    };
    let lane = Lane {
        name: "pipelock".into(),
        steps,
    };
    (plan, lane)
}

/// What mitmproxy needs from the bottle.
pub(crate) struct MitmproxyInput<'a> {
    pub egress: &'a Egress,
    pub credentials: &'a [Credential],
    /// The agent's forwarded secrets, by name.
    pub guarded: &'a [String],
    pub engine: Option<EngineCapacity>,
    /// The bottle's `git.push`.
    pub git_push: Option<&'a PushPolicy>,
}

pub(crate) fn mitmproxy(
    names: &BottleNames,
    image: &ImageRef,
    input: MitmproxyInput,
) -> (MitmproxyPlan, Lane) {
    let c = &ImageContract::get().mitmproxy;
    let pipelock_port = ImageContract::get().pipelock.port;
    let name = &names.of(Role::Mitmproxy);
    let addon = AddonConfig::new(
        format!("{}:{pipelock_port}", names.of(Role::Pipelock)),
        input.egress.max_request_bytes(),
        vec![names.of(Role::Pipelock), names.of(Role::Mitmproxy)],
        input.credentials,
        input.guarded,
    );
    // The addon buffers request bodies up to four times the body limit in all.
    let memory_mb = 256 + 8 * input.egress.max_request_mb;
    let mut run = run(
        names,
        name,
        Role::Mitmproxy,
        &names.of(Role::AgentNetwork),
        c.uid,
        c.gid,
    )
    .args(hardening::read_only(&c.writable, c.uid, c.gid, TMPFS_MB))
    .args(hardening::sidecar_limits(memory_mb, input.engine));
    for cred in input.credentials {
        let var = cred.value_env();
        run = run.pass_env(var);
    }
    for secret in input.guarded {
        let var = guarded_env(secret);
        run = run.pass_env(var);
    }
    let addon = AddonConfig {
        policy: AddonPolicy::new(&input.egress.rules, input.git_push),
        bottle_id: Some(names.bottle_id.clone()),
        ..addon
    };
    let run = run
        .arg("--env")
        .content(
            format!("{ADDON_CONFIG_ENV}=the addon config, below"),
            format!("{ADDON_CONFIG_ENV}={}", addon.render()),
        )
        .arg(image.arg())
        .args(c.command.iter().cloned())
        .args([
            "--set".to_string(),
            format!("{}=env:{ADDON_CONFIG_ENV}", c.config_option),
        ]);
    let net = &names.of(Role::AgentNetwork);
    let steps = vec![
        Step::create_container(run, name).undo(undo(names, Role::Mitmproxy)),
        Step::run(DockerCommand::new([
            "network",
            "connect",
            &names.of(Role::ProxyNetwork),
            name,
        ])),
        Step::new(Action::Query {
            query: DockerCommand::new([
                "inspect".to_string(),
                "--format".into(),
                format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
                name.clone(),
            ]),
            capture: Capture::HostEntry { name: name.clone() },
        }),
        // Only the certificate is ever read out, never the key beside it.
        Step::new(Action::WaitFor {
            probe: DockerCommand::new(["exec", name, "cat", &c.ca_cert]),
            container: name.clone(),
            what: "mitmproxy's CA certificate".into(),
            timeout_seconds: READY_TIMEOUT_SECONDS,
            capture: Some(Capture::CaCertificate),
        })
        .done("mitmproxy generated its CA"),
    ];
    let plan = MitmproxyPlan {
        container: name.clone(),
        proxy_url: format!("http://{name}:{}", c.port),
        addon,
    };
    let lane = Lane {
        name: "mitmproxy".into(),
        steps,
    };
    (plan, lane)
}
