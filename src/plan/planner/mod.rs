//! The planner: (catalog, agent, options, host snapshot) → `BottlePlan`. Pure and
//! deterministic: the same inputs give the same plan, byte for byte.

use crate::config::catalog::{AUTH_ENV, Catalog};
use crate::config::env_value::EnvValue;
use crate::config::manifest::Runtime;
use crate::exit_code::UserError;
use crate::host_snapshot::HostSnapshot;
use crate::image::contract::ImageContract;
use crate::image::image_ref::{ImageRef, ImageRole};
use crate::plan::bottle_plan::*;
use crate::plan::docker_command::{DockerCommand, Slot, Stdin};
use crate::plan::pipelock_config::PipelockConfig;
use crate::plan::undo::Undo;

pub const LABEL_ID: &str = "bot-bottle.id";
pub const LABEL_AGENT: &str = "bot-bottle.agent";
pub const LABEL_ROLE: &str = "bot-bottle.role";
pub const LABEL_UID: &str = "bot-bottle.uid";

/// What the command line adds to the manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    pub agent: String,
    /// `--name`: the agent container's exact name.
    pub name: Option<String>,
    /// `--cwd`: copy the working directory into a derived agent image.
    pub cwd: bool,
    pub agent_image: Option<String>,
    pub pipelock_image: Option<String>,
    pub mitmproxy_image: Option<String>,
    /// The command after `--`, replacing the agent's.
    pub command: Vec<String>,
}

pub fn plan(
    catalog: &Catalog,
    options: &PlanOptions,
    host: &HostSnapshot,
) -> Result<BottlePlan, UserError> {
    let c = ImageContract::get();
    let agent = catalog.agent(&options.agent)?;
    let bottle = catalog.bottles.get(&agent.bottle).ok_or_else(|| {
        UserError::new(format!(
            "agent `{}` names a missing bottle `{}`",
            agent.name, agent.bottle
        ))
    })?;
    if host.launch_id.len() < 8 || !host.launch_id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(UserError::new("launch id must be at least 8 hex digits"));
    }
    if let Some(name) = &options.name {
        check_container_name(name)?;
    }

    let id = host.launch_id.clone();
    let slug = format!("{}-{}", agent.name.to_ascii_lowercase(), &id[..8]);
    let labels = |role: &str| -> Vec<String> {
        [
            format!("{LABEL_ID}={id}"),
            format!("{LABEL_AGENT}={}", agent.name),
            format!("{LABEL_ROLE}={role}"),
            format!("{LABEL_UID}={}", host.uid),
        ]
        .into_iter()
        .flat_map(|l| ["--label".to_string(), l])
        .collect()
    };

    let containers = |role: &str| Undo::Containers {
        bottle_id: id.clone(),
        role: role.to_string(),
    };

    // Environment: literals to the env-file, everything else by name.
    let mut literals = Vec::new();
    let mut forwarded = Vec::new();
    for (name, value) in &bottle.env {
        match value {
            EnvValue::Literal(_) => literals.push(name.clone()),
            EnvValue::Prompt { prompt } => forwarded.push(ForwardedEnv {
                name: name.clone(),
                source: ForwardSource::Prompt {
                    prompt: prompt.clone(),
                },
            }),
            EnvValue::Host { var } => {
                if host.var(var).is_none() {
                    return Err(UserError::new(format!(
                        "{}: bottles.{}.env.{name}: the host variable {var} is not set; export it, or change the value",
                        bottle.source, bottle.name
                    )));
                }
                forwarded.push(ForwardedEnv {
                    name: name.clone(),
                    source: ForwardSource::Host { var: var.clone() },
                });
            }
        }
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
    let scanned_by_pipelock: Vec<String> = forwarded
        .iter()
        .filter(|f| !AUTH_ENV.contains(&f.name.as_str()))
        .map(|f| f.name.clone())
        .collect();

    // Images.
    let env = &host.env;
    let images = PlanImages {
        agent: ImageRef::resolve(ImageRole::Agent, options.agent_image.as_deref(), env),
        pipelock: ImageRef::resolve(ImageRole::Pipelock, options.pipelock_image.as_deref(), env),
        mitmproxy: ImageRef::resolve(
            ImageRole::Mitmproxy,
            options.mitmproxy_image.as_deref(),
            env,
        ),
    };
    for image in images.all() {
        let bad = image
            .reference
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
        if bad || image.reference.starts_with('-') {
            return Err(UserError::new(format!(
                "the {} image reference `{}` is not valid: no spaces, control characters or leading `-`",
                image.role.name(),
                image.reference.escape_debug()
            )));
        }
    }
    let derived_image = options.cwd.then(|| {
        let tag = format!("bot-bottle-cwd-{slug}:latest");
        let dockerfile = format!(
            "FROM {}\nCOPY --chown={} . {}\n",
            images.agent.arg(),
            c.agent.user_spec(),
            c.agent.workdir
        );
        DerivedImage {
            tag: tag.clone(),
            context: host.cwd.display().to_string(),
            build: DockerCommand::new(["build", "--quiet", "--tag", &tag])
                .args(labels("cwd-image"))
                .args(["--file", "-", &host.cwd.display().to_string()])
                .stdin(Stdin::Text { text: dockerfile }),
            undo: Undo::Image { tag: tag.clone() },
        }
    });
    let agent_image = derived_image
        .as_ref()
        .map(|d| d.tag.clone())
        .unwrap_or_else(|| images.agent.arg());

    // Networks: the agent can reach only mitmproxy; only pipelock reaches the internet.
    let net_agent = format!("bot-bottle-net-{slug}");
    let net_proxy = format!("bot-bottle-proxy-{slug}");
    let net_egress = format!("bot-bottle-egress-{slug}");
    let network = |name: &str, role: &str, internal: bool| NetworkPlan {
        name: name.to_string(),
        role: role.to_string(),
        internal,
        // An internal bridge still gives the host an address on it, through which the
        // containers could reach host services; inhibit_ipv4 leaves the host without one.
        create: DockerCommand::new(["network", "create"])
            .args(
                internal
                    .then_some([
                        "--internal",
                        "--opt",
                        "com.docker.network.bridge.inhibit_ipv4=true",
                    ])
                    .into_iter()
                    .flatten(),
            )
            .args(labels(&format!("{role}-network")))
            .arg(name),
        undo: Undo::Network {
            name: name.to_string(),
        },
    };
    let networks = vec![
        network(&net_agent, "agent", true),
        network(&net_proxy, "proxy", true),
        network(&net_egress, "egress", false),
    ];

    // pipelock: created on the proxy network, config copied in, then egress, then start.
    let pl_name = format!("bot-bottle-pipelock-{slug}");
    let pl_address = format!("{pl_name}:{}", c.pipelock.port);
    let config = PipelockConfig::for_allowlist(&bottle.allowlist);
    // Sidecars are created on one network, then connected to the second before they start
    // (`docker run` joins only one network).
    let sidecar_create = |name: &str, role: &str, network: &str, uid: u32, gid: u32| {
        DockerCommand::new(["create", "--name", name])
            .args(labels(role))
            .args(["--network", network, "--user", &format!("{uid}:{gid}")])
    };
    let mut pl_create = sidecar_create(
        &pl_name,
        "pipelock",
        &net_proxy,
        c.pipelock.uid,
        c.pipelock.gid,
    );
    for name in &scanned_by_pipelock {
        pl_create = pl_create.args(["--env", name]).pass_env(name);
    }
    let pl_create = pl_create
        .arg(images.pipelock.arg())
        .args(c.pipelock.command.iter().cloned());
    let pipelock = PipelockPlan {
        container: pl_name.clone(),
        address: pl_address.clone(),
        config,
        config_path: c.pipelock.config_path.clone(),
        create: pl_create,
        copy_config: DockerCommand::new([
            "cp",
            "-",
            &format!("{pl_name}:{}", c.pipelock.config_dir()),
        ])
        .stdin(Stdin::PipelockConfig),
        connect_egress: DockerCommand::new(["network", "connect", &net_egress, &pl_name]),
        start: DockerCommand::new(["start", &pl_name]),
        health: DockerCommand::new([
            "exec",
            &pl_name,
            "pipelock",
            "healthcheck",
            "--addr",
            &format!("127.0.0.1:{}", c.pipelock.port),
        ]),
        undo: containers("pipelock"),
    };

    // mitmproxy: agent network + proxy network, both internal.
    let mitm_name = format!("bot-bottle-mitm-{slug}");
    let proxy_url = format!("http://{mitm_name}:{}", c.mitmproxy.port);
    let mitmproxy = MitmproxyPlan {
        container: mitm_name.clone(),
        proxy_url: proxy_url.clone(),
        create: sidecar_create(
            &mitm_name,
            "mitmproxy",
            &net_agent,
            c.mitmproxy.uid,
            c.mitmproxy.gid,
        )
        .arg(images.mitmproxy.arg())
        .args(c.mitmproxy.command.iter().cloned())
        .args([
            "--set".to_string(),
            format!("{}={pl_address}", c.mitmproxy.pipelock_option),
        ]),
        connect_proxy: DockerCommand::new(["network", "connect", &net_proxy, &mitm_name]),
        start: DockerCommand::new(["start", &mitm_name]),
        fetch_ca: DockerCommand::new(["cp", &format!("{mitm_name}:{}", c.mitmproxy.ca_cert), "-"]),
        undo: containers("mitmproxy"),
    };

    // The agent: internal network only, proxy and trust by environment.
    let agent_name = options
        .name
        .clone()
        .unwrap_or_else(|| format!("bot-bottle-{slug}"));
    let mut run = DockerCommand::new(["run", "--detach", "--name", &agent_name])
        .args(labels("agent"))
        .args([
            "--network",
            &net_agent,
            "--user",
            &c.agent.user_spec(),
            "--workdir",
            &c.agent.workdir,
        ]);
    if bottle.runtime == Runtime::Runsc {
        run = run
            .args(["--runtime", "runsc", "--add-host"])
            .slot(Slot::MitmHostEntry)
            // Claude Code's runtime (Bun) crashes under gVisor with its JIT on.
            .args(["--env", "BUN_JSC_useJIT=0"]);
    }
    let bundle = c.agent.ca_bundle_path();
    let fixed_env = [
        ("HTTPS_PROXY", proxy_url.as_str()),
        ("HTTP_PROXY", &proxy_url),
        ("https_proxy", &proxy_url),
        ("http_proxy", &proxy_url),
        ("NO_PROXY", "localhost,127.0.0.1"),
        ("no_proxy", "localhost,127.0.0.1"),
        // Node's built-in fetch ignores the proxy variables unless asked (Node >= 22.21).
        ("NODE_USE_ENV_PROXY", "1"),
        ("NODE_EXTRA_CA_CERTS", &c.agent.mitm_ca_path()),
        ("SSL_CERT_FILE", &bundle),
        ("REQUESTS_CA_BUNDLE", &bundle),
        ("CURL_CA_BUNDLE", &bundle),
        ("GIT_SSL_CAINFO", &bundle),
    ];
    for (k, v) in fixed_env {
        run = run.args(["--env".to_string(), format!("{k}={v}")]);
    }
    if !literals.is_empty() {
        run = run.arg("--env-file").slot(Slot::EnvFile);
    }
    for f in &forwarded {
        run = run.args(["--env", &f.name]).pass_env(&f.name);
    }
    let run = run.arg(&agent_image).args(c.agent.command.iter().cloned());
    let agent_container = AgentContainerPlan {
        name: agent_name.clone(),
        name_pinned: options.name.is_some(),
        run,
        undo: containers("agent"),
    };

    // Provisioning, in order: ca, prompt, skills.
    let root_exec = |script: String| {
        DockerCommand::new([
            "exec",
            "--interactive",
            "--user",
            "0",
            &agent_name,
            "sh",
            "-c",
        ])
        .arg(script)
    };
    let mut provision = vec![ProvisionStep {
        name: "ca".into(),
        commands: vec![
            root_exec(format!(
                "mkdir -p {dir} && cat > {ca} && cat {system} {ca} > {bundle} && chmod 0644 {ca} {bundle}",
                dir = c.agent.trust_dir,
                ca = c.agent.mitm_ca_path(),
                system = c.agent.system_ca_bundle,
            ))
            .stdin(Stdin::CaCert),
        ],
    }];
    if let Some(prompt) = &agent.prompt {
        let path = c.agent.prompt_path();
        let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("/");
        provision.push(ProvisionStep {
            name: "prompt".into(),
            commands: vec![
                DockerCommand::new([
                    "exec",
                    "--interactive",
                    "--user",
                    &c.agent.user_spec(),
                    &agent_name,
                    "sh",
                    "-c",
                ])
                .arg(format!("mkdir -p {dir} && cat > {path}"))
                .stdin(Stdin::Text {
                    text: prompt.clone(),
                }),
            ],
        });
    }
    for skill in &agent.skills {
        let dest = format!("{}/{skill}", c.agent.skills_dir);
        provision.push(ProvisionStep {
            name: format!("skill:{skill}"),
            commands: vec![
                DockerCommand::new([
                    "exec",
                    "--user",
                    "0",
                    &agent_name,
                    "mkdir",
                    "-p",
                    &c.agent.skills_dir,
                ]),
                DockerCommand::new([
                    "cp".to_string(),
                    format!("{}/.", host.skill_dir(skill).display()),
                    format!("{agent_name}:{dest}"),
                ]),
                DockerCommand::new([
                    "exec",
                    "--user",
                    "0",
                    &agent_name,
                    "chown",
                    "-R",
                    &c.agent.user_spec(),
                    &format!("{}/.claude", c.agent.home),
                ]),
            ],
        });
    }

    // Attach: the command after `--`, else the agent's (with its prompt as last argument).
    let mut attach = DockerCommand::new(["exec", "--interactive"])
        .slot(Slot::Tty)
        .args([
            "--user",
            &c.agent.user_spec(),
            "--workdir",
            &c.agent.workdir,
            &agent_name,
        ]);
    if !options.command.is_empty() {
        attach = attach.args(options.command.iter().cloned());
    } else if agent.prompt.is_some() {
        attach = attach
            .args([
                "sh",
                "-c",
                "exec \"$@\" \"$(cat \"$0\")\"",
                &c.agent.prompt_path(),
            ])
            .args(agent.command.iter().cloned());
    } else {
        attach = attach.args(agent.command.iter().cloned());
    }
    let attach = attach.stdin(Stdin::Terminal);

    Ok(BottlePlan {
        bottle_id: id,
        agent: agent.name.clone(),
        bottle: bottle.name.clone(),
        slug,
        runtime: bottle.runtime,
        images,
        allowlist: bottle.allowlist.clone(),
        env: PlanEnv {
            literals,
            forwarded,
            scanned_by_pipelock,
        },
        derived_image,
        networks,
        pipelock,
        mitmproxy,
        agent_container,
        provision,
        attach,
    })
}

/// Docker's rule for container names.
fn check_container_name(name: &str) -> Result<(), UserError> {
    if crate::config::catalog::is_docker_name(name, 2, 128) {
        Ok(())
    } else {
        Err(UserError::new(format!(
            "--name `{name}` is not a valid container name: use 2 to 128 letters, digits, `_`, `.` and `-`, starting with a letter or digit"
        )))
    }
}
