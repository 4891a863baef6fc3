//! Provisioning the running agent container, in order: the bottle's CA (installed alone
//! and in a bundle with the system roots), the prompt, and each skill. Every command names
//! the container by [`Slot::AgentName`]. Pure.

use crate::config::catalog::Agent;
use crate::host_snapshot::HostSnapshot;
use crate::image::contract::ImageContract;
use crate::plan::docker_command::{DockerCommand, Stdin};
use crate::plan::slot::Slot;
use crate::plan::step::Step;

/// `docker exec [--interactive] --user USER <agent> ARGS…`.
fn exec(interactive: bool, user: &str) -> DockerCommand {
    DockerCommand::new(["exec"])
        .args(interactive.then_some("--interactive"))
        .args(["--user", user])
        .slot(Slot::AgentName)
}

pub(crate) fn provision(agent: &Agent, host: &HostSnapshot) -> Vec<Step> {
    let c = &ImageContract::get().agent;
    let mut steps = vec![
        Step::run(
            exec(true, "0")
                .args([
                    "sh".to_string(),
                    "-c".into(),
                    format!(
                        "mkdir -p {dir} && cat > {ca} && cat {system} {ca} > {bundle} && chmod 0644 {ca} {bundle}",
                        dir = c.trust_dir,
                        ca = c.mitm_ca_path(),
                        system = c.system_ca_bundle,
                        bundle = c.ca_bundle_path(),
                    ),
                ])
                .stdin(Stdin::Slot {
                    slot: Slot::CaCertificate,
                }),
        )
        .announce("provision ca"),
    ];
    if let Some(prompt) = &agent.prompt {
        let path = c.prompt_path();
        let dir = path.rsplit_once('/').map(|(d, _)| d).unwrap_or("/");
        steps.push(
            Step::run(
                exec(true, &c.user_spec())
                    .args(["sh", "-c", &format!("mkdir -p {dir} && cat > {path}")])
                    .stdin(Stdin::Text {
                        text: prompt.clone(),
                    }),
            )
            .announce("provision prompt"),
        );
    }
    for skill in &agent.skills {
        let dest = format!("{}/{skill}", c.skills_dir);
        steps.push(
            Step::run(exec(false, "0").args(["mkdir", "-p", &c.skills_dir]))
                .announce(format!("provision skill:{skill}")),
        );
        steps.push(Step::run(
            DockerCommand::new([
                "cp".to_string(),
                format!("{}/.", host.skill_dir(skill).display()),
            ])
            .slot_then(Slot::AgentName, format!(":{dest}")),
        ));
        steps.push(Step::run(exec(false, "0").args([
            "chown",
            "-R",
            &c.user_spec(),
            &format!("{}/.claude", c.home),
        ])));
    }
    steps
}
