//! The sidecars, each a lane of steps. The two pipelocks (the web lane's and the model
//! lane's, one image, each its own config): started on the proxy network with the config
//! written by a tiny shell wrapper into a private tmpfs (its root filesystem is read-only,
//! so nothing can be copied in), joined to egress, waited for on `/health`.
//! mitmproxy: started on the agent network with the addon's config in its environment and
//! the bottle's CA (key and certificate, made by bottle) passed by name, which a tiny
//! wrapper writes into its tmpfs confdir at every start; joined to the proxy network; its
//! address on the agent network is read (the agent reaches it by a hosts entry, not by
//! DNS), and it is waited for until the addon says it listens. All confined (see
//! `hardening`). Pure.

use crate::config::credential::Credential;
use crate::config::egress::Egress;
use crate::config::git_push::PushPolicy;
use crate::config::model_policy::ModelPolicy;
use crate::config::resources::EngineCapacity;
use crate::image::contract::ImageContract;
use crate::image::image_ref::ImageRef;
use crate::naming::{BottleNames, Role};
use crate::plan::addon_config::{ADDON_CONFIG_ENV, AddonConfig, ModelLane, guarded_env};
use crate::plan::addon_policy::AddonPolicy;
use crate::plan::bottle_plan::{MitmproxyPlan, PipelockPlan};
use crate::plan::docker_command::DockerCommand;
use crate::plan::phase::Lane;
use crate::plan::pipelock_config::PipelockConfig;
use crate::plan::planner::hardening;
use crate::plan::step::{Action, Capture, Step};
use crate::plan::undo::Undo;

/// The variable that carries the bottle's CA, key and certificate (PEM), to mitmproxy: by
/// name only, its value is in no plan, argument or log.
pub const MITM_CA_ENV: &str = "BOT_BOTTLE_MITM_CA";

/// How long pipelock's `/health` and mitmproxy's readiness may take to appear.
pub(crate) const READY_TIMEOUT_SECONDS: u64 = 60;
/// How often Docker's restart policy restarts a sidecar that fails on its own.
pub(crate) const DOCKER_RESTARTS: u32 = 5;
/// The private tmpfs directories' size.
const TMPFS_MB: u64 = 64;

/// `docker run --detach` of a sidecar, confined, on one network (`docker run` joins only
/// one; the second is connected right after). DNS is left to the caller: pipelock resolves
/// the names it fetches, mitmproxy resolves nothing outside.
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
        // A crash or an OOM kill: Docker restarts it at once, with the same config (the
        // wrappers rewrite their tmpfs files), networks and name; supervision does the rest.
        .args(restart_policy())
}

/// Docker's restart policy of every sidecar (the port relays' too).
pub(crate) fn restart_policy() -> [String; 2] {
    [
        "--restart".to_string(),
        format!("on-failure:{DOCKER_RESTARTS}"),
    ]
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

/// The web lane's pipelock (`Role::Pipelock`, the bottle's allowlist, full DLP) or the model
/// lane's (`Role::ModelPipelock`, the providers' API hosts, no body scan).
pub(crate) fn pipelock(
    names: &BottleNames,
    image: &ImageRef,
    role: Role,
    input: PipelockInput,
) -> (PipelockPlan, Lane) {
    let c = &ImageContract::get().pipelock;
    let name = &names.of(role);
    let config = match role {
        Role::ModelPipelock => PipelockConfig::for_model(input.egress),
        _ => PipelockConfig::for_bottle(input.egress, input.ignore_headers),
    };
    // It buffers non-streamed responses and whole request bodies while it scans them.
    let memory_mb = 256 + 4 * (input.egress.max_response_mb + input.egress.max_request_mb);
    let mut run = run(
        names,
        name,
        role,
        &names.of(Role::ProxyNetwork),
        c.uid,
        c.gid,
    )
    .args(hardening::read_only(&c.writable, c.uid, c.gid, TMPFS_MB))
    .args(hardening::sidecar_limits(memory_mb, input.engine));
    // No `--dns`: pipelock is the one container that resolves outside names (it fetches
    // every allowed URL itself), through the engine's resolver on the egress network. The
    // names it is handed were judged by the addon first (bot_bottle_addon/host_labels.py).
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
        Step::create_container(run, name).undo(undo(names, role)),
        Step::run(DockerCommand::new([
            "network",
            "connect",
            &names.of(Role::EgressNetwork),
            name,
        ])),
        Step::new(Action::WaitFor {
            probe: pipelock_ready(name),
            container: name.clone(),
            what: format!("{} /health", lane_name(role)),
            timeout_seconds: READY_TIMEOUT_SECONDS,
            capture: None,
        })
        .done(format!("{} answers /health", lane_name(role))),
    ];
    let plan = PipelockPlan {
        container: name.clone(),
        address: format!("{name}:{}", c.port),
        config,
        config_path: c.config_path.clone(),
    };
    let lane = Lane {
        name: lane_name(role).into(),
        steps,
    };
    (plan, lane)
}

/// mitmproxy's address on the agent network (stdout).
pub(crate) fn mitmproxy_address(names: &BottleNames) -> DockerCommand {
    let net = names.of(Role::AgentNetwork);
    DockerCommand::new([
        "inspect".to_string(),
        "--format".into(),
        format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
        names.of(Role::Mitmproxy),
    ])
}

/// Succeeds once pipelock answers `/health`.
pub(crate) fn pipelock_ready(name: &str) -> DockerCommand {
    let c = &ImageContract::get().pipelock;
    DockerCommand::new([
        "exec",
        name,
        "pipelock",
        "healthcheck",
        "--addr",
        &format!("127.0.0.1:{}", c.port),
    ])
}

/// Succeeds once mitmproxy listens: the addon's `running` hook writes the contract's
/// ready file, which a restart wipes with the tmpfs.
pub(crate) fn mitmproxy_ready(name: &str) -> DockerCommand {
    let c = &ImageContract::get().mitmproxy;
    DockerCommand::new(["exec", name, "test", "-e", &c.ready_file])
}

/// `pipelock` or `model pipelock`: the lane's name and how messages call it.
fn lane_name(role: Role) -> &'static str {
    match role {
        Role::ModelPipelock => "model pipelock",
        _ => "pipelock",
    }
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
    /// The bottle's `model`.
    pub model: &'a ModelPolicy,
}

/// What the addon is told: both pipelocks' addresses, the sidecars, the credentials and
/// guarded secrets, the rules and push policy, the allowlist and the model lane.
fn addon_config(names: &BottleNames, input: &MitmproxyInput) -> AddonConfig {
    let pipelock_port = ImageContract::get().pipelock.port;
    let addon = AddonConfig::new(
        format!("{}:{pipelock_port}", names.of(Role::Pipelock)),
        input.egress,
        vec![
            names.of(Role::Pipelock),
            names.of(Role::ModelPipelock),
            names.of(Role::Mitmproxy),
        ],
        input.credentials,
        input.guarded,
        ModelLane::new(
            format!("{}:{pipelock_port}", names.of(Role::ModelPipelock)),
            input.model,
        ),
    );
    AddonConfig {
        policy: AddonPolicy::new(&input.egress.rules, input.git_push),
        bottle_id: Some(names.bottle_id.clone()),
        ..addon
    }
}

pub(crate) fn mitmproxy(
    names: &BottleNames,
    image: &ImageRef,
    input: MitmproxyInput,
) -> (MitmproxyPlan, Lane) {
    let c = &ImageContract::get().mitmproxy;
    let name = &names.of(Role::Mitmproxy);
    let addon = addon_config(names, &input);
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
    .args(hardening::sidecar_limits(memory_mb, input.engine))
    // mitmproxy reaches pipelock by the name Docker's resolver answers itself.
    .args(hardening::no_outside_dns());
    for cred in input.credentials {
        let var = cred.value_env();
        run = run.pass_env(var);
    }
    for secret in input.guarded {
        let var = guarded_env(secret);
        run = run.pass_env(var);
    }
    // The CA is written at every start (a restart begins with an empty tmpfs), 0600, and
    // the variable is gone from mitmdump's environment.
    let wrapper = format!(
        "umask 077 && printf '%s' \"${MITM_CA_ENV}\" > {} && unset {MITM_CA_ENV} && exec \"$@\"",
        c.ca_file
    );
    let run = run
        .pass_env(MITM_CA_ENV)
        .arg("--env")
        .content(
            format!("{ADDON_CONFIG_ENV}=the addon config, below"),
            format!("{ADDON_CONFIG_ENV}={}", addon.render()),
        )
        .arg(image.arg())
        .args(["sh", "-c", &wrapper, "bot-bottle-mitmproxy"])
        .args(c.command.iter().cloned())
        .args([
            "--set".to_string(),
            format!("{}=env:{ADDON_CONFIG_ENV}", c.config_option),
        ]);
    let steps = vec![
        Step::create_container(run, name).undo(undo(names, Role::Mitmproxy)),
        Step::run(DockerCommand::new([
            "network",
            "connect",
            &names.of(Role::ProxyNetwork),
            name,
        ])),
        Step::new(Action::Query {
            query: mitmproxy_address(names),
            capture: Capture::HostEntry { name: name.clone() },
        }),
        Step::new(Action::WaitFor {
            probe: mitmproxy_ready(name),
            container: name.clone(),
            what: "mitmproxy to listen".into(),
            timeout_seconds: READY_TIMEOUT_SECONDS,
            capture: None,
        })
        .done("mitmproxy listens"),
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
