//! The command line as clap types, and its conversion into typed requests. Pure.

use crate::plan::planner::plan_options::PlanOptions;
use clap::{Args, Parser, Subcommand};

const ABOUT: &str =
    "Run an AI coding agent in a Docker bottle whose only way out is mitmproxy -> pipelock.";

const LONG_ABOUT: &str = "\
Run an AI coding agent (Claude Code by default) in a Docker \"bottle\".

The agent container sits on an internal network. Its only way out is mitmproxy, which
terminates TLS with a per-bottle CA and hands every decrypted request to pipelock, which
checks it against the bottle's host allowlist and for leaked secrets before it leaves.

Bottles and agents come from your manifest ($XDG_CONFIG_HOME/bot-bottle/bot-bottle.json,
or $BOT_BOTTLE_CONFIG) and ./bot-bottle.json (agents only). With no file at all you get
agent `agent` in bottle `default`, running `claude --dangerously-skip-permissions`.";

const AFTER_HELP: &str = "\
Examples:
  bottle run agent                  start the default agent (Claude Code) in a bottle
  bottle run agent -- bash          a shell in the bottle instead of the agent
  bottle run -p 5173 agent          open the agent's dev server at http://127.0.0.1:5173
  bottle agents                     list the agents you can run
  bottle info agent                 explain one agent and its bottle
  bottle plan agent                 show every docker command a launch would run
  bottle ls                         list running bottles
  bottle logs -f agent              follow the requests of agent's running bottle
  bottle allow-host agent pypi.org  let agent's running bottle reach pypi.org, live
  bottle run --report r.json agent  also write the exit report as JSON
  bottle allow                      trust ./bot-bottle.json (agents from this directory)
  bottle cleanup -y                 remove every bot-bottle container and network
  bottle cleanup -y reviewer        only those of agent `reviewer`

Exit codes: 0 success; 1 a step failed at run time; 2 bad input (usage, manifest,
unknown agent), nothing was started; 128+N a signal N ended the launch (130 for
SIGINT), after teardown. `bottle run` otherwise exits with the command's own code.
`bottle logs`, `allow-host`, `deny-host`: 3 when the bottle is not running.";

#[derive(Debug, Parser)]
#[command(name = "bottle", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    /// No progress lines (errors and warnings still print).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Show each docker command as it runs (names of secrets only, never values).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Launch an agent in a bottle, attach to it, and tear everything down when it ends.
    ///
    /// Four phases, numbered in the progress lines on stderr: [1/4] images and networks;
    /// [2/4] pipelock, mitmproxy and the agent, started together (the agent is provisioned
    /// with its CA, prompt, skills and --cwd copy while the sidecars come up); [3/4] attach;
    /// [4/4] teardown (with -p, a fifth before attach: the published ports). Whatever ends the session (the command exits, a step fails,
    /// SIGINT/SIGTERM/SIGHUP), every container, network and temp file the launch created
    /// is removed. Exits with the command's exit code.
    ///
    /// A ./bot-bottle.json in the current directory is read only once you have allowed it
    /// (`bottle allow`, or the prompt on a terminal); `bottle plan` shows what it does.
    ///
    /// Before teardown, on every exit path, a short summary of the bottle's traffic
    /// (requests, allowed and blocked per host, bytes, blocks by reason) goes to stderr
    /// (not with -q); --report FILE also writes it as JSON (docs/report.md).
    Run(RunArgs),
    /// Show a running bottle's requests, one line each, as they happen.
    ///
    /// Reads its mitmproxy's request log. Exit codes: 0; 1 no Docker engine or docker
    /// failed; 2 unknown agent or bottle id, or an agent with several running bottles;
    /// 3 the bottle is not running.
    Logs {
        /// The agent (when it has one running bottle) or the bottle id (`bottle ls`).
        #[arg(value_name = "AGENT|BOTTLE-ID")]
        target: String,
        /// Keep following until the bottle ends.
        #[arg(short, long)]
        follow: bool,
        /// The request log's JSON lines as written (schema in docs/addon.md).
        #[arg(long)]
        json: bool,
        /// Only the requests pipelock blocked or bot-bottle refused.
        #[arg(long)]
        blocked: bool,
    },
    /// Allow more hosts in a running bottle, without restarting anything.
    ///
    /// The bottle's pipelock config is rendered again (the launch's, plus every live
    /// change) and pipelock reloads it in place: requests and streams in flight go on, no
    /// container restarts. The command waits for pipelock's own log to confirm the reload
    /// (`config_reload`), or fails, says why, and changes nothing. Hosts are checked like
    /// the manifest's egress.allowlist (`host.example.com` or `*.example.com`; an IP
    /// address, a scheme, a path or a port is exit 2). `bottle ls` and `bottle info` list
    /// the live approvals; the exit report records every change.
    ///
    /// Exit codes: 0; 1 docker failed or pipelock did not confirm the reload (nothing
    /// changed); 2 bad input (a host, an unknown agent or bottle id); 3 the bottle is not
    /// running (or ended meanwhile).
    AllowHost {
        /// The agent (when it has one running bottle) or the bottle id (`bottle ls`).
        #[arg(value_name = "AGENT|BOTTLE-ID")]
        target: String,
        /// Hosts to allow: `host.example.com` or `*.example.com`.
        #[arg(value_name = "HOST", required = true)]
        hosts: Vec<String>,
        /// Also add them to the bottle's egress.allowlist in your own manifest, for the
        /// next launch (never a repository's ./bot-bottle.json).
        #[arg(long)]
        persist: bool,
    },
    /// Take back hosts `bottle allow-host` allowed in a running bottle.
    ///
    /// Only live approvals: the allowlist the bottle started with is changed in the
    /// manifest. pipelock reloads in place, as for allow-host; exit codes as allow-host's.
    DenyHost {
        /// The agent (when it has one running bottle) or the bottle id (`bottle ls`).
        #[arg(value_name = "AGENT|BOTTLE-ID")]
        target: String,
        /// Live approvals to take back.
        #[arg(value_name = "HOST", required = true)]
        hosts: Vec<String>,
    },
    /// List running bottles: agent, bottle id, age, containers and live approvals.
    Ls,
    /// Remove the bot-bottle containers and networks you launched on this engine (running
    /// ones too, and what a killed `bottle run` left behind), and say what was removed.
    ///
    /// Only what a launch created: it must carry bot-bottle's labels and its naming
    /// scheme, or be named in a launch record. The only images it removes are the
    /// `bot-bottle-cwd-<agent>-<id>:latest` images earlier versions built for --cwd; an
    /// image you made (a `docker commit` of an agent included) stays.
    ///
    /// With AGENT or BOTTLE-ID, only that agent's bottles, or that one bottle (the ID
    /// column of `bottle ls`); without, all of them.
    Cleanup {
        /// Only this agent's bottles, or only the bottle with this id.
        #[arg(value_name = "AGENT|BOTTLE-ID")]
        target: Option<String>,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(short, long)]
        yes: bool,
        /// Also remove other users' bottles (default: only those your uid launched).
        #[arg(long)]
        all_users: bool,
    },
    /// The three images: what is pinned and loaded, loading them, and their digests.
    ///
    /// `verify` and `lock` compare images (streamed by the Nix stream scripts) with the
    /// recorded nix/images.lock.json, by config digest and layer diff_ids.
    Images {
        #[command(subcommand)]
        command: crate::image::images_command::ImagesCommand,
    },
    /// Print what launching an agent would do, without touching Docker.
    ///
    /// Lists the images, the egress allowlist, the environment variable names (never
    /// values), every docker command shell-quoted in launch order, the teardown, and the
    /// rendered pipelock config.
    Plan(PlanArgs),
    /// List the agents you can run and their bottles.
    Agents,
    /// Explain one agent: its command, prompt, skills, and its bottle's allowlist and env.
    Info {
        /// The agent's name (see `bottle agents`).
        agent: String,
    },
    /// Allow a repository's ./bot-bottle.json, so `bottle run` will start its agents.
    ///
    /// A working directory's manifest comes with whatever repository you are in and picks
    /// its agents' commands and prompts, so bottle runs an agent from it only once you
    /// have allowed the file, by path and content (SHA-256): any later change asks again.
    /// On a terminal `bottle run` offers to allow it; elsewhere it stops and names this
    /// command. Prints what the file's agents run first.
    Allow {
        /// The manifest (default: ./bot-bottle.json).
        #[arg(value_name = "FILE")]
        file: Option<std::path::PathBuf>,
        /// Forget the file instead: its agents will not run until allowed again.
        #[arg(long)]
        revoke: bool,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub launch: LaunchArgs,
    /// Also write the exit report as JSON to FILE (docs/report.md).
    #[arg(long, value_name = "FILE")]
    pub report: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub launch: LaunchArgs,
    /// Print the plan as JSON (stable, machine-readable) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// What a launch (and its plan) takes from the command line.
#[derive(Debug, Clone, Args)]
pub struct LaunchArgs {
    /// The agent to launch (see `bottle agents`).
    pub agent: String,
    /// Name the agent container exactly this (default: bot-bottle-<agent>-<id>). A name
    /// already in use is then an error rather than a retry with -2, -3, ….
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Copy the current directory (.git included) into the agent's work directory, owned
    /// by the agent's user. It is a copy: nothing flows back to the host; push from the
    /// bottle through a credential to share work.
    #[arg(long)]
    pub cwd: bool,
    /// Agent image (default: $BOT_BOTTLE_AGENT_IMAGE, then the Nix app's pinned image).
    #[arg(long, value_name = "IMAGE")]
    pub agent_image: Option<String>,
    /// pipelock image (default: $BOT_BOTTLE_PIPELOCK_IMAGE, then the Nix app's pinned image).
    #[arg(long, value_name = "IMAGE")]
    pub pipelock_image: Option<String>,
    /// mitmproxy image (default: $BOT_BOTTLE_MITMPROXY_IMAGE, then the Nix app's pinned image).
    #[arg(long, value_name = "IMAGE")]
    pub mitmproxy_image: Option<String>,
    /// Open AGENT_PORT, a port a server in the agent listens on (on 0.0.0.0, :: or
    /// 127.0.0.1), at HOST_PORT (default: the same) on the host's loopback only
    /// (127.0.0.1, and ::1 where the host has it). Repeatable; replaces the agent's
    /// `ports`. Nothing the agent sends can leave through it (docs/ports.md).
    #[arg(short = 'p', long = "publish", value_name = "[HOST_PORT:]AGENT_PORT")]
    pub publish: Vec<String>,
    /// Run this instead of the agent's command (after `--`).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

impl LaunchArgs {
    pub fn to_options(&self) -> PlanOptions {
        PlanOptions {
            agent: self.agent.clone(),
            name: self.name.clone(),
            cwd: self.cwd,
            agent_image: self.agent_image.clone(),
            pipelock_image: self.pipelock_image.clone(),
            mitmproxy_image: self.mitmproxy_image.clone(),
            command: self.command.clone(),
            ports: self.publish.clone(),
        }
    }
}
