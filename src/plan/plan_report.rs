//! The human form of a `BottlePlan` (`bottle plan`): the images, allowlist and env names,
//! then the launch phase by phase, numbered as the progress lines number them, each docker
//! command shell-quoted, and teardown. Pure.

use crate::config::credential::Scheme;
use crate::image::image_ref::ImageSource;
use crate::plan::addon_config::ADDON_CONFIG_ENV;
use crate::plan::bottle_plan::BottlePlan;
use crate::plan::docker_command::{DockerCommand, Stdin};
use crate::plan::slot::{Slot, SlotValues};
use crate::plan::step::{Action, Step};
use std::fmt::Write;

pub fn render(plan: &BottlePlan) -> String {
    let mut out = String::new();
    let w = &mut out;
    images(w, plan);
    egress(w, plan);
    env_and_credentials(w, plan);
    ports(w, plan);
    launch(w, plan);
    configs(w, plan);
    out
}

/// The title, the images and the `--cwd` copy.
fn images(w: &mut String, plan: &BottlePlan) {
    let _ = writeln!(
        w,
        "Plan for agent `{}` in bottle `{}` (runtime {:?}, bottle id {})",
        plan.agent, plan.bottle, plan.runtime, plan.bottle_id
    );
    let _ = writeln!(w, "\nImages:");
    for image in plan.images.all() {
        let from = match &image.source {
            ImageSource::Flag { flag } => format!("from {flag}"),
            ImageSource::Env { var } => format!("from ${var}"),
            ImageSource::Nix { var, .. } => format!("pinned by the Nix app (${var})"),
            ImageSource::Unset => format!("UNSET: {}", image.advice()),
        };
        let _ = writeln!(w, "  {:<10} {}  ({from})", image.role.name(), image.arg());
    }
    if let Some(dir) = &plan.cwd {
        let _ = writeln!(
            w,
            "  --cwd      {dir} copied into the agent's work directory"
        );
    }
}

/// `-p`: where each port opens (only with ports).
fn ports(w: &mut String, plan: &BottlePlan) {
    let Some(ports) = &plan.ports else { return };
    let also = if ports.loopback_v6 { " and ::1" } else { "" };
    let _ = writeln!(
        w,
        "\nPublished ports (on the host's loopback only: 127.0.0.1{also}; forwarder -> port relay in the agent -> the agent's 127.0.0.1, then ::1):"
    );
    for p in &ports.published {
        let _ = writeln!(w, "  {} -> agent port {}", p.url, p.agent_port);
    }
}

/// The allowlist, private hosts and limits.
fn egress(w: &mut String, plan: &BottlePlan) {
    let e = &plan.egress;
    let _ = writeln!(w, "\nEgress allowlist (enforced by pipelock):");
    for host in &e.allowlist {
        let private = if e.private_hosts.contains(host) {
            "  (private address allowed)"
        } else {
            ""
        };
        let _ = writeln!(w, "  {host}{private}");
    }
    for host in e.private_hosts.iter().filter(|h| !e.allowlist.contains(h)) {
        let _ = writeln!(w, "  (private address allowed: {host})");
    }
    let m = &plan.model;
    let _ = writeln!(
        w,
        "Model lane (the model pipelock's allowlist): {}; the provider's servers may search the web: {}; may reach beyond the allowlist: {}",
        plan.model_pipelock.config.api_allowlist.join(", "),
        if m.web_search { "yes" } else { "no" },
        if m.server_hosts.is_empty() {
            "nothing".to_string()
        } else {
            m.server_hosts.join(", ")
        }
    );
    let _ = writeln!(
        w,
        "Limits: {} requests/minute per domain, request bodies up to {} MiB, responses up to {} MiB, {} s per request",
        e.requests_per_minute, e.max_request_mb, e.max_response_mb, e.request_timeout_seconds
    );
    let r = &plan.resources;
    let _ = writeln!(
        w,
        "Agent limits: {} MiB memory (no swap), {} CPUs, {} processes",
        r.memory_mb,
        crate::config::number::thousandths_text(r.cpu_millis),
        r.pids
    );
}

/// Environment names, credentials and the git identity.
fn env_and_credentials(w: &mut String, plan: &BottlePlan) {
    let _ = writeln!(
        w,
        "\nEnvironment (names only; values never appear in plans):"
    );
    if plan.env.literals.is_empty() && plan.env.forwarded.is_empty() {
        let _ = writeln!(w, "  (none)");
    }
    for name in &plan.env.literals {
        let _ = writeln!(
            w,
            "  {name:<24} literal, via a 0600 env-file deleted once the agent starts"
        );
    }
    for f in &plan.env.forwarded {
        let how = f.source.describe();
        let scanned = if plan.env.scanned_by_pipelock.contains(&f.name) {
            "; pipelock blocks its value from leaving"
        } else {
            ""
        };
        let _ = writeln!(w, "  {:<24} {how}{scanned}", f.name);
    }
    let _ = writeln!(
        w,
        "\nCredentials (the agent holds a placeholder; mitmproxy puts the value in, for these hosts only):"
    );
    if plan.credentials.is_empty() {
        let _ = writeln!(w, "  (none)");
    }
    for c in &plan.credentials {
        let from = c.source.describe();
        let how = match &c.scheme {
            Scheme::Plain => c.header.clone(),
            Scheme::Bearer => format!("{}: Bearer", c.header),
            Scheme::Basic { username } => format!("{}: Basic ({username})", c.header),
        };
        let _ = writeln!(
            w,
            "  {:<24} {from}; {how} to {}",
            c.name,
            c.hosts.join(", ")
        );
    }
    if plan.git.name.is_some() || plan.git.email.is_some() {
        let _ = writeln!(
            w,
            "\nGit identity: {} <{}>",
            plan.git.name.as_deref().unwrap_or("(unset)"),
            plan.git.email.as_deref().unwrap_or("(unset)")
        );
    }
}

/// The phases, numbered as the progress lines number them, then teardown.
fn launch(w: &mut String, plan: &BottlePlan) {
    let total = plan.numbered_steps();
    let known = plan.planned_slots();
    let _ = writeln!(
        w,
        "\nLaunch (numbered as `bottle run` reports progress; the lanes of one step run at the same time):"
    );
    for (i, phase) in plan.launch.iter().enumerate() {
        let _ = writeln!(w, "  [{}/{total}] {}", i + 1, known.fill_text(&phase.title));
        let lanes = phase.lanes.len() > 1;
        for lane in &phase.lanes {
            let indent = if lanes { "       " } else { "     " };
            if lanes {
                let _ = writeln!(w, "     {}:", lane.name);
            }
            for step in &lane.steps {
                for line in step_lines(step, &known) {
                    let _ = writeln!(w, "{indent}{line}");
                }
            }
        }
    }
    supervision(w, plan, &known);
    let _ = writeln!(
        w,
        "  [{total}/{total}] teardown (on every exit path, in this order; what a cut-short launch did not create is skipped)"
    );
    for undo in plan.teardown() {
        let _ = writeln!(w, "     {}", undo.describe());
    }
}

/// What runs beside the attached session.
fn supervision(w: &mut String, plan: &BottlePlan, known: &SlotValues) {
    let s = &plan.supervision;
    let _ = writeln!(
        w,
        "     while attached, the sidecars are supervised (more than {} restarts within {}s end the session, exit 4):",
        s.max_restarts, s.window_seconds
    );
    let mut lines = Vec::new();
    command_lines(&s.events, known, &mut lines);
    for line in lines {
        let _ = writeln!(w, "       {line}");
    }
    for sidecar in &s.sidecars {
        let mut ready = Vec::new();
        command_lines(&sidecar.ready, known, &mut ready);
        let _ = writeln!(
            w,
            "       {} died: docker inspect (why), docker start {} unless Docker restarts it, then until ready: {}{}",
            sidecar.role.label(),
            sidecar.container,
            ready.join(" "),
            if sidecar.then.is_empty() {
                ""
            } else {
                "; then its address into the agent's hosts file again"
            }
        );
    }
}

/// The pipelock and addon configs.
fn configs(w: &mut String, plan: &BottlePlan) {
    let _ = writeln!(w, "\npipelock config ({}):", plan.pipelock.config_path);
    for line in plan.pipelock.config.render().lines() {
        let _ = writeln!(w, "  {line}");
    }
    let _ = writeln!(
        w,
        "\nmodel pipelock config ({}):",
        plan.model_pipelock.config_path
    );
    for line in plan.model_pipelock.config.render().lines() {
        let _ = writeln!(w, "  {line}");
    }
    let _ = writeln!(w, "\nThe addon config (mitmproxy's {ADDON_CONFIG_ENV}):");
    let pretty = serde_json::to_string_pretty(&plan.mitmproxy.addon).expect("plain data");
    for line in pretty.lines() {
        let _ = writeln!(w, "  {line}");
    }
}

/// A step as lines: comments (`# …`) for what is not a docker command.
fn step_lines(step: &Step, known: &SlotValues) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(announce) = &step.announce {
        lines.push(format!("# {}", known.fill_text(announce)));
    }
    match &step.action {
        Action::EnsureImage { image } => {
            lines.push(DockerCommand::new(image.inspect_args()).display(known));
            if let ImageSource::Nix {
                stream: Some(stream),
                ..
            } = &image.source
            {
                lines.push(format!("# when missing: {stream} | docker load"));
            }
        }
        Action::Run { command, .. } | Action::Attach { command } => {
            command_lines(command, known, &mut lines)
        }
        Action::WaitFor {
            probe,
            timeout_seconds,
            ..
        } => {
            command_lines(probe, known, &mut lines);
            lines.push(format!(
                "# repeated until it succeeds, at most {timeout_seconds}s"
            ));
        }
        Action::Query { query, capture } => {
            command_lines(query, known, &mut lines);
            lines.push(format!(
                "# its output fills {}",
                capture.slot().placeholder()
            ));
        }
        Action::WriteEnvFile { names } => lines.push(format!(
            "# write {} (0600): {}",
            Slot::EnvFile.placeholder(),
            names.join(", ")
        )),
        Action::RemoveEnvFile => lines.push(format!(
            "# delete {} (docker run has read it)",
            Slot::EnvFile.placeholder()
        )),
        Action::MergeJson {
            file,
            read,
            patch,
            write,
        } => {
            command_lines(read, known, &mut lines);
            lines.push(format!(
                "# merged with this (objects key by key, arrays extended, other keys of {file} kept):"
            ));
            let pretty = serde_json::to_string_pretty(patch).expect("plain data");
            for line in pretty.lines() {
                lines.push(format!("  | {line}"));
            }
            command_lines(write, known, &mut lines);
        }
        Action::RunAgent {
            run,
            name,
            pinned,
            attempts,
        } => {
            command_lines(run, known, &mut lines);
            lines.push(if *pinned {
                "# the name is pinned by --name: in use is an error".to_string()
            } else {
                format!(
                    "# a name in use is retried as {name}-2 … {name}-{attempts}; the commands below follow"
                )
            });
        }
    }
    lines
}

fn command_lines(cmd: &DockerCommand, known: &SlotValues, lines: &mut Vec<String>) {
    if !cmd.env.is_empty() {
        lines.push(format!(
            "# values passed by name through the docker child's environment: {}",
            cmd.env.join(", ")
        ));
    }
    lines.push(cmd.display(known));
    if let Some(Stdin::Text { text }) = &cmd.stdin {
        for line in text.lines() {
            lines.push(format!("  | {line}"));
        }
    }
}
