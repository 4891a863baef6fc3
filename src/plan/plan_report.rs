//! The human form of a `BottlePlan` (`bottle plan`): each docker command shell-quoted, one
//! step after another, plus the allowlist and env names. Pure.

use crate::image::image_ref::ImageSource;
use crate::plan::bottle_plan::{BottlePlan, ForwardSource};
use crate::plan::docker_command::Stdin;
use std::fmt::Write;

pub fn render(plan: &BottlePlan) -> String {
    let mut out = String::new();
    let w = &mut out;
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
    if let Some(d) = &plan.derived_image {
        let _ = writeln!(w, "  --cwd      {} (agent image + {})", d.tag, d.context);
    }
    let _ = writeln!(w, "\nEgress allowlist (enforced by pipelock):");
    for host in &plan.allowlist {
        let _ = writeln!(w, "  {host}");
    }
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
        let how = match &f.source {
            ForwardSource::Prompt { prompt: Some(p) } => format!("asked at launch: {p:?}"),
            ForwardSource::Prompt { prompt: None } => "asked at launch".to_string(),
            ForwardSource::Host { var } => format!("from host ${var}"),
            ForwardSource::Credential => "model credential from the host".to_string(),
        };
        let scanned = if plan.env.scanned_by_pipelock.contains(&f.name) {
            "; pipelock blocks its value from leaving"
        } else {
            ""
        };
        let _ = writeln!(w, "  {:<24} {how}{scanned}", f.name);
    }
    let _ = writeln!(w, "\nLaunch:");
    for (i, (step, commands)) in plan.launch_steps().iter().enumerate() {
        let _ = writeln!(w, "  {}. {step}", i + 1);
        for cmd in commands {
            if !cmd.env.is_empty() {
                let _ = writeln!(
                    w,
                    "     # values passed by name through the docker child's environment: {}",
                    cmd.env.join(", ")
                );
            }
            let _ = writeln!(w, "     {}", cmd.display());
            if let Some(Stdin::Text { text }) = &cmd.stdin {
                for line in text.lines() {
                    let _ = writeln!(w, "       | {line}");
                }
            }
        }
    }
    let _ = writeln!(w, "\nTeardown (on every exit path, in this order):");
    for undo in plan.teardown() {
        let _ = writeln!(w, "  {}", undo.describe());
    }
    if !plan.env.literals.is_empty() {
        let _ = writeln!(
            w,
            "  rm <env-file>  (already deleted once the agent container started)"
        );
    }
    let _ = writeln!(w, "\npipelock config ({}):", plan.pipelock.config_path);
    for line in plan.pipelock.config.render().lines() {
        let _ = writeln!(w, "  {line}");
    }
    out
}
