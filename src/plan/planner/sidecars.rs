//! The two sidecars, each a lane of steps: pipelock (created on the proxy network, its
//! config copied in as a tar, joined to egress, started, waited for on `/health`) and
//! mitmproxy (agent and proxy networks, started, waited for until its CA can be copied
//! out). Pure.

use crate::image::contract::ImageContract;
use crate::image::image_ref::ImageRef;
use crate::plan::bottle_plan::{MitmproxyPlan, PipelockPlan};
use crate::plan::docker_command::{DockerCommand, Stdin};
use crate::plan::phase::Lane;
use crate::plan::pipelock_config::PipelockConfig;
use crate::plan::planner::names::Names;
use crate::plan::role::Role;
use crate::plan::step::{Action, Capture, Step};
use crate::plan::tar_file::TarFile;
use crate::plan::undo::Undo;

/// How long pipelock's `/health` and mitmproxy's CA may take to appear.
pub(crate) const READY_TIMEOUT_SECONDS: u64 = 60;

/// `docker create` of a sidecar on one network (`docker run` joins only one; the second
/// is connected before it starts), and the step with its undo.
fn create(
    names: &Names,
    name: &str,
    role: Role,
    network: &str,
    uid: u32,
    gid: u32,
) -> DockerCommand {
    DockerCommand::new(["create", "--name", name])
        .args(names.labels.args(role))
        .args(["--network", network, "--user", &format!("{uid}:{gid}")])
}

fn undo(names: &Names, role: Role) -> Undo {
    Undo::Containers {
        bottle_id: names.bottle_id.clone(),
        role,
    }
}

pub(crate) fn pipelock(
    names: &Names,
    image: &ImageRef,
    allowlist: &[String],
    scanned_env: &[String],
) -> (PipelockPlan, Lane) {
    let c = &ImageContract::get().pipelock;
    let name = &names.pipelock;
    let config = PipelockConfig::for_allowlist(allowlist);
    let mut create = create(names, name, Role::Pipelock, &names.net_proxy, c.uid, c.gid);
    for var in scanned_env {
        create = create.args(["--env", var]).pass_env(var);
    }
    let create = create.arg(image.arg()).args(c.command.iter().cloned());
    let config_file = TarFile {
        name: c.config_file_name().to_string(),
        mode: 0o644,
        uid: c.uid,
        gid: c.gid,
        shows: "the pipelock config".into(),
        text: config.render(),
    };
    let steps = vec![
        Step::run(create).undo(undo(names, Role::Pipelock)),
        Step::run(
            DockerCommand::new(["cp", "-", &format!("{name}:{}", c.config_dir())])
                .stdin(Stdin::Tar { file: config_file }),
        ),
        Step::run(DockerCommand::new([
            "network",
            "connect",
            &names.net_egress,
            name,
        ])),
        Step::run(DockerCommand::new(["start", name])),
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

pub(crate) fn mitmproxy(names: &Names, image: &ImageRef) -> (MitmproxyPlan, Lane) {
    let c = &ImageContract::get().mitmproxy;
    let pipelock_port = ImageContract::get().pipelock.port;
    let name = &names.mitmproxy;
    let create = create(names, name, Role::Mitmproxy, &names.net_agent, c.uid, c.gid)
        .arg(image.arg())
        .args(c.command.iter().cloned())
        .args([
            "--set".to_string(),
            format!("{}={}:{pipelock_port}", c.pipelock_option, names.pipelock),
        ]);
    let steps = vec![
        Step::run(create).undo(undo(names, Role::Mitmproxy)),
        Step::run(DockerCommand::new([
            "network",
            "connect",
            &names.net_proxy,
            name,
        ])),
        Step::run(DockerCommand::new(["start", name])),
        // Only the certificate is ever copied out, never the key beside it.
        Step::new(Action::WaitFor {
            probe: DockerCommand::new(["cp", &format!("{name}:{}", c.ca_cert), "-"]),
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
    };
    let lane = Lane {
        name: "mitmproxy".into(),
        steps,
    };
    (plan, lane)
}
