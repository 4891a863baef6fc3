//! `bottle run`: executes a `BottlePlan` against the Docker engine, step by step, each step
//! registering its undo before it starts; attaches the user; tears everything down on every
//! exit path (normal end, failed step, signal, panic). I/O.

use crate::config::manifest::Runtime;
use crate::engine::docker_cli::{Docker, Mode};
use crate::exit_code::{FAILURE, Interrupted};
use crate::image::contract::ImageContract;
use crate::launch::ca_cert::CaCert;
use crate::launch::launch_values::LaunchValues;
use crate::launch::undo_stack::UndoStack;
use crate::plan::bottle_plan::BottlePlan;
use crate::plan::docker_command::{DockerCommand, SlotValues, Stdin};
use crate::plan::undo::Undo;
use crate::progress::Progress;
use anyhow::{Context, Result, anyhow, bail};
use std::io::{IsTerminal, Write};
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

/// How long pipelock's `/health` and mitmproxy's CA may take to appear.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Agent names tried after a conflict: `name`, `name-2`, … `name-10`.
pub const MAX_NAME_ATTEMPTS: u32 = 10;
const POLL: Duration = Duration::from_millis(100);

struct Ctx<'a> {
    docker: &'a Docker,
    progress: &'a Progress,
    undo: &'a UndoStack,
    values: &'a LaunchValues,
}

/// Runs the plan and returns the exit code of the agent's command. Teardown always runs;
/// its failures are reported, and turn a successful exit into [`FAILURE`].
pub fn run(
    plan: &BottlePlan,
    values: &LaunchValues,
    docker: &Docker,
    progress: &Progress,
) -> Result<i32> {
    let undo = UndoStack::default();
    let ctx = Ctx {
        docker,
        progress,
        undo: &undo,
        values,
    };
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| launch_and_attach(plan, &ctx)));
    let started = Instant::now();
    progress.step("[7/7] teardown");
    let resources = undo.len();
    let failures = undo.run_all(docker);
    for failure in &failures {
        progress.warn(&format!("teardown: {failure}"));
    }
    progress.step(&format!(
        "[7/7] teardown: {} of {} undo step(s) done in {:.2}s{}",
        resources - failures.len().min(resources),
        resources,
        started.elapsed().as_secs_f64(),
        if failures.is_empty() {
            String::new()
        } else {
            format!(
                "; {} failed (see above; `bottle cleanup` retries)",
                failures.len()
            )
        }
    ));
    let signal = docker.in_flight.signal();
    match outcome {
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(anyhow!(
                "internal error (bottle panicked: {what}); the bottle was torn down"
            ))
        }
        Ok(Err(err)) => match signal {
            Some(signal) => Err(anyhow::Error::new(Interrupted { signal })),
            None => Err(err),
        },
        Ok(Ok(code)) => match signal {
            Some(signal) if code != 0 => Err(anyhow::Error::new(Interrupted { signal })),
            _ if !failures.is_empty() && code == 0 => Ok(FAILURE),
            _ => Ok(code),
        },
    }
}

fn interrupted(ctx: &Ctx) -> Result<()> {
    match ctx.docker.in_flight.signal() {
        Some(signal) => Err(anyhow::Error::new(Interrupted { signal })),
        None => Ok(()),
    }
}

fn launch_and_attach(plan: &BottlePlan, ctx: &Ctx) -> Result<i32> {
    let (docker, progress, undo) = (ctx.docker, ctx.progress, ctx.undo);
    let mut slots = SlotValues::default();

    progress.step("[1/7] images");
    for image in plan.images.all() {
        crate::image::loader::ensure_loaded(docker, image, &mut |m: &str| progress.step(m))?;
        interrupted(ctx)?;
    }
    if let Some(derived) = &plan.derived_image {
        progress.step(&format!(
            "[1/7] images: building {} from {}",
            derived.tag, derived.context
        ));
        undo.push(derived.undo.clone());
        docker.check(&derived.build, &slots, None)?;
    }
    interrupted(ctx)?;

    progress.step("[2/7] networks");
    for network in &plan.networks {
        undo.push(network.undo.clone());
        docker.check(&network.create, &slots, None)?;
        interrupted(ctx)?;
    }

    progress.step("[3/7] pipelock and mitmproxy (started together)");
    let (pipelock, ca_tar) = std::thread::scope(|scope| {
        let mitm = scope.spawn(|| start_mitmproxy(plan, ctx));
        let pipelock = start_pipelock(plan, ctx);
        let mitm = mitm
            .join()
            .unwrap_or_else(|_| Err(anyhow!("the mitmproxy step panicked")));
        (pipelock, mitm)
    });
    pipelock?;
    let ca_tar = ca_tar?;
    interrupted(ctx)?;

    progress.step("[4/7] agent");
    let mut env_file = None;
    if !plan.env.literals.is_empty() {
        // 0600 by construction; deleted right after `docker run` read it, and by teardown.
        let file = tempfile::Builder::new()
            .prefix("bot-bottle-env-")
            .tempfile()
            .context("cannot create the env-file")?;
        undo.push(Undo::File(file.path().to_path_buf()));
        file.as_file()
            .write_all(ctx.values.env_file_text().as_bytes())
            .context("cannot write the env-file")?;
        slots.env_file = Some(file.path().to_path_buf());
        env_file = Some(file);
    }
    if plan.runtime == Runtime::Runsc {
        slots.mitm_host_entry = Some(mitm_host_entry(plan, ctx)?);
    }
    let plan = start_agent(plan, ctx, &slots)?;
    drop(env_file);
    slots.env_file = None;
    interrupted(ctx)?;

    progress.step("[5/7] provision ca");
    let ca = CaCert::from_tar(&ca_tar).context("the bottle's CA certificate")?;
    progress.step(&format!(
        "[5/7] bottle CA {} SHA-256 {}",
        ca.subject, ca.fingerprint
    ));
    for (i, step) in plan.provision.iter().enumerate() {
        if i > 0 {
            progress.step(&format!("[5/7] provision {}", step.name));
        }
        for cmd in &step.commands {
            let stdin = matches!(cmd.stdin, Some(Stdin::CaCert)).then_some(ca.pem.as_bytes());
            docker.check(cmd, &slots, stdin)?;
        }
        interrupted(ctx)?;
    }

    slots.tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    progress.step(&format!("[6/7] attach to {}", plan.agent_container.name));
    let code = docker.attach(&plan.attach, &slots)?;
    Ok(code)
}

fn start_pipelock(plan: &BottlePlan, ctx: &Ctx) -> Result<()> {
    let (docker, slots) = (ctx.docker, SlotValues::default());
    let p = &plan.pipelock;
    let c = &ImageContract::get().pipelock;
    ctx.undo.push(p.undo.clone());
    docker.check(&p.create, &slots, None)?;
    let tar = p.config.tar(c.config_file_name(), c.uid, c.gid)?;
    docker.check(&p.copy_config, &slots, Some(&tar))?;
    docker.check(&p.connect_egress, &slots, None)?;
    docker.check(&p.start, &slots, None)?;
    wait_ready(ctx, &p.container, "pipelock /health", || {
        Ok(docker
            .run(&p.health, &slots, None, Mode::Step)?
            .ok()
            .then_some(()))
    })?;
    ctx.progress.step("[3/7] pipelock answers /health");
    Ok(())
}

/// Starts mitmproxy and returns the tar `docker cp` made of its CA certificate.
fn start_mitmproxy(plan: &BottlePlan, ctx: &Ctx) -> Result<Vec<u8>> {
    let (docker, slots) = (ctx.docker, SlotValues::default());
    let m = &plan.mitmproxy;
    ctx.undo.push(m.undo.clone());
    docker.check(&m.create, &slots, None)?;
    docker.check(&m.connect_proxy, &slots, None)?;
    docker.check(&m.start, &slots, None)?;
    let tar = wait_ready(ctx, &m.container, "mitmproxy's CA certificate", || {
        let got = docker.run(&m.fetch_ca, &slots, None, Mode::Step)?;
        Ok(got.ok().then_some(got.stdout))
    })?;
    ctx.progress.step("[3/7] mitmproxy generated its CA");
    Ok(tar)
}

/// Polls `probe` until it yields, the container dies, the timeout passes, or a signal.
fn wait_ready<T>(
    ctx: &Ctx,
    container: &str,
    what: &str,
    mut probe: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        interrupted(ctx)?;
        if let Some(v) = probe()? {
            return Ok(v);
        }
        let state = ctx
            .docker
            .query(["inspect", "--format", "{{.State.Status}}", container])?;
        let running = state.stdout_text() == "running";
        if !running || Instant::now() >= deadline {
            let logs = ctx.docker.query(["logs", "--tail", "20", container])?;
            let why = if running {
                format!("timed out after {}s", READY_TIMEOUT.as_secs())
            } else {
                format!("container {container} is {}", state.stdout_text())
            };
            bail!(
                "waiting for {what}: {why}; last log lines:\n{}{}",
                String::from_utf8_lossy(&logs.stdout),
                logs.stderr
            );
        }
        std::thread::sleep(POLL);
    }
}

/// `name:address` of mitmproxy on the agent network, for runsc agents (gVisor cannot use
/// Docker's embedded DNS).
fn mitm_host_entry(plan: &BottlePlan, ctx: &Ctx) -> Result<String> {
    let net = &plan.networks[0].name;
    let got = ctx.docker.query([
        "inspect".to_string(),
        "--format".into(),
        format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"),
        plan.mitmproxy.container.clone(),
    ])?;
    let ip = got.stdout_text();
    if !got.ok() || ip.is_empty() {
        bail!(
            "cannot find mitmproxy's address on {net}: {}",
            got.stderr.trim()
        );
    }
    Ok(format!("{}:{ip}", plan.mitmproxy.container))
}

/// Runs the agent container; on a name conflict tries `-2`, `-3`, … unless the name was pinned.
fn start_agent(plan: &BottlePlan, ctx: &Ctx, slots: &SlotValues) -> Result<BottlePlan> {
    ctx.undo.push(plan.agent_container.undo.clone());
    let base = plan.agent_container.name.clone();
    let mut current = plan.clone();
    for attempt in 1..=MAX_NAME_ATTEMPTS {
        if attempt > 1 {
            current = plan.with_agent_name(&format!("{base}-{attempt}"));
        }
        let run: &DockerCommand = &current.agent_container.run;
        let done = ctx.docker.run(run, slots, None, Mode::Step)?;
        if done.ok() {
            return Ok(current);
        }
        if !done.stderr.contains("is already in use") {
            bail!(
                "`{}` failed (exit {}): {}",
                run.display(),
                done.code,
                done.stderr.trim()
            );
        }
        if plan.agent_container.name_pinned {
            bail!(
                "the container name `{base}` (from --name) is already in use; pick another name, or remove that container (docker rm -f {base})"
            );
        }
        ctx.progress.step(&format!(
            "[4/7] the name {} is taken; trying another",
            current.agent_container.name
        ));
        interrupted(ctx)?;
    }
    bail!(
        "no free agent container name after {MAX_NAME_ATTEMPTS} tries ({base} to {base}-{MAX_NAME_ATTEMPTS})"
    )
}
