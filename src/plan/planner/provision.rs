//! Provisioning the running agent container, in order: the working directory (`--cwd`:
//! the user's directory, `.git` included, copied in as the agent's own), each skill, the
//! prompt, the git config, Claude Code's per-user state (when the command is Claude Code:
//! `claude_code`), the bottle's CA (installed alone and in a bundle with the system roots;
//! bottle made it before the launch), and last mitmproxy's hosts entry, the one step that
//! waits for mitmproxy (for its address). Copies are tars owned by the agent user
//! (`docker cp -` keeps a piped tar's owners), so no step needs a capability. Every
//! command names the container by [`Slot::AgentName`]. Pure.

use crate::config::catalog::Agent;
use crate::config::credential::Credential;
use crate::config::git_identity::GitIdentity;
use crate::host_snapshot::HostSnapshot;
use crate::image::contract::ImageContract;
use crate::plan::docker_command::{DockerCommand, Stdin};
use crate::plan::planner::agent_exec::exec;
use crate::plan::planner::claude_code::claude_code;
use crate::plan::planner::git_config::git_config;
use crate::plan::slot::Slot;
use crate::plan::step::Step;

/// What provisioning puts into the agent.
pub(crate) struct ProvisionInput<'a> {
    pub agent: &'a Agent,
    pub host: &'a HostSnapshot,
    /// `--cwd`: copy the working directory in.
    pub cwd: bool,
    pub git: &'a GitIdentity,
    pub credentials: &'a [Credential],
    /// What runs at attach: the command after `--`, else the agent's.
    pub command: &'a [String],
}

/// `docker exec [--interactive] --user USER <agent> ARGS…`.
/// `docker cp - <agent>:DIR` of a host directory's tar, owned by the agent user.
fn copy_tree(from: String, prefix: &str, into: &str, shows: &str) -> DockerCommand {
    let c = &ImageContract::get().agent;
    DockerCommand::new(["cp", "-"])
        .slot_then(Slot::AgentName, format!(":{into}"))
        .stdin(Stdin::Tree {
            path: from,
            prefix: prefix.to_string(),
            uid: c.uid,
            gid: c.gid,
            shows: shows.to_string(),
        })
}

pub(crate) fn provision(input: ProvisionInput) -> Vec<Step> {
    let c = &ImageContract::get().agent;
    let mut steps = Vec::new();
    if input.cwd {
        steps.push(
            Step::run(copy_tree(
                input.host.cwd.display().to_string(),
                "",
                &c.workdir,
                "the working directory",
            ))
            .announce(format!(
                "provision --cwd: copying {}",
                input.host.cwd.display()
            )),
        );
    }
    for skill in &input.agent.skills {
        let under_home = c
            .skills_dir
            .strip_prefix(&format!("{}/", c.home))
            .expect("the contract checks skills_dir is under home");
        steps.push(
            Step::run(copy_tree(
                input.host.skill_dir(skill).display().to_string(),
                &format!("{under_home}/{skill}"),
                &c.home,
                &format!("the skill {skill}"),
            ))
            .announce(format!("provision skill:{skill}")),
        );
    }
    if let Some(prompt) = &input.agent.prompt {
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
    if let Some(config) = git_config(input.git, input.credentials) {
        steps.push(
            Step::run(
                exec(true, &c.user_spec())
                    .args(["sh", "-c", &format!("cat > {}/.gitconfig", c.home)])
                    .stdin(Stdin::Text { text: config }),
            )
            .announce("provision git"),
        );
    }
    steps.extend(claude_code(input.agent, input.command, input.credentials));
    steps.push(
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
    );
    steps.push(Step::run(hosts_entry()).announce("provision hosts: mitmproxy's address"));
    steps
}

/// Root in the agent puts `<address> <mitmproxy>` into /etc/hosts, replacing an older
/// line for the name: the agent resolves nothing else, and the address may change when
/// mitmproxy restarts (supervision runs this again then). /etc/hosts is a file Docker
/// bind-mounts, so it is rewritten in place, never replaced.
pub(crate) fn hosts_entry() -> DockerCommand {
    let script = "e=$1; name=${e%%:*}; address=${e#*:}; \
        kept=$(grep -v \"[[:space:]]$name\\$\" /etc/hosts); \
        printf '%s\\n%s %s\\n' \"$kept\" \"$address\" \"$name\" > /etc/hosts";
    exec(false, "0")
        .args(["sh", "-c", script, "bot-bottle-hosts"])
        .slot(Slot::MitmHostEntry)
}
