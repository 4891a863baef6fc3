//! One docker invocation as plain data: its arguments, the names of the environment
//! variables it passes through, and what it reads on stdin. Pure; `docker` (the process
//! module) turns these into processes.

use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DockerCommand {
    /// Everything after `docker`.
    pub args: Vec<Arg>,
    /// Variables copied from bottle's environment into the docker child's, by name. Their
    /// values never appear in `args`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<Stdin>,
}

/// An argument, or a slot filled at launch with something only the launch knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Arg {
    Lit(String),
    Slot { slot: Slot },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    /// The path of the 0600 env-file holding the bottle's literal values.
    EnvFile,
    /// `--add-host` value mapping the mitmproxy name to its address (runsc cannot use Docker's DNS).
    MitmHostEntry,
    /// `--tty`, present only when bottle's stdin is a terminal.
    Tty,
}

/// What a command reads on stdin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stdin {
    /// Non-secret text known at planning time (a prompt, a Dockerfile).
    Text { text: String },
    /// A tar archive holding the rendered pipelock config, owned by the pipelock user.
    PipelockConfig,
    /// The bottle's CA certificate, as copied out of mitmproxy.
    CaCert,
    /// The user's terminal.
    Terminal,
}

/// The values of the slots for one launch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotValues {
    pub env_file: Option<PathBuf>,
    pub mitm_host_entry: Option<String>,
    pub tty: bool,
}

impl DockerCommand {
    pub fn new<I, S>(args: I) -> DockerCommand
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        DockerCommand {
            args: args.into_iter().map(|a| Arg::Lit(a.into())).collect(),
            env: Vec::new(),
            stdin: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(Arg::Lit(arg.into()));
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args
            .extend(args.into_iter().map(|a| Arg::Lit(a.into())));
        self
    }

    pub fn slot(mut self, slot: Slot) -> Self {
        self.args.push(Arg::Slot { slot });
        self
    }

    /// Passes `name` through the child environment (`-e NAME` must be in `args` for `run`).
    pub fn pass_env(mut self, name: impl Into<String>) -> Self {
        self.env.push(name.into());
        self
    }

    pub fn stdin(mut self, stdin: Stdin) -> Self {
        self.stdin = Some(stdin);
        self
    }

    /// The argv after `docker`, slots filled. A slot without a value is dropped with its
    /// flag (`--env-file`, `--add-host`) so the result is always a valid command.
    pub fn argv(&self, slots: &SlotValues) -> Vec<String> {
        let mut out: Vec<String> = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            match arg {
                Arg::Lit(s) => out.push(s.clone()),
                Arg::Slot { slot } => {
                    let value = match slot {
                        Slot::EnvFile => slots.env_file.as_ref().map(|p| p.display().to_string()),
                        Slot::MitmHostEntry => slots.mitm_host_entry.clone(),
                        Slot::Tty => slots.tty.then(|| "--tty".to_string()),
                    };
                    match (slot, value) {
                        (_, Some(v)) => out.push(v),
                        (Slot::Tty, None) => {}
                        // Drop the flag that would have taken the value.
                        (_, None) => {
                            out.pop();
                        }
                    }
                }
            }
        }
        out
    }

    /// The command as a user would type it, shell-quoted; slots show as `<env-file>` etc.
    pub fn display(&self) -> String {
        let mut parts = vec!["docker".to_string()];
        for arg in &self.args {
            parts.push(match arg {
                Arg::Lit(s) => shlex::try_quote(s)
                    .map(|q| q.into_owned())
                    .unwrap_or_else(|_| format!("{s:?}")),
                Arg::Slot { slot } => match slot {
                    Slot::EnvFile => "<env-file>".to_string(),
                    Slot::MitmHostEntry => "<mitmproxy-name:address>".to_string(),
                    Slot::Tty => "[--tty]".to_string(),
                },
            });
        }
        let mut line = parts.join(" ");
        match &self.stdin {
            Some(Stdin::Text { .. }) => line.push_str(" <<< (text below)"),
            Some(Stdin::PipelockConfig) => line.push_str(" < (tar of the pipelock config)"),
            Some(Stdin::CaCert) => line.push_str(" < (the CA certificate)"),
            Some(Stdin::Terminal) | None => {}
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_fill_or_vanish_with_their_flag() {
        let cmd = DockerCommand::new(["run", "--env-file"])
            .slot(Slot::EnvFile)
            .arg("--add-host")
            .slot(Slot::MitmHostEntry)
            .slot(Slot::Tty)
            .arg("img");
        assert_eq!(cmd.argv(&SlotValues::default()), ["run", "img"]);
        let full = SlotValues {
            env_file: Some("/tmp/e".into()),
            mitm_host_entry: Some("m:10.0.0.2".into()),
            tty: true,
        };
        assert_eq!(
            cmd.argv(&full),
            [
                "run",
                "--env-file",
                "/tmp/e",
                "--add-host",
                "m:10.0.0.2",
                "--tty",
                "img"
            ]
        );
    }

    #[test]
    fn display_quotes_for_the_shell() {
        let cmd = DockerCommand::new(["exec", "c", "sh", "-c", "echo 'hi' $X \"q\""]);
        let words = shlex::split(&cmd.display()).unwrap();
        assert_eq!(words[0], "docker");
        assert_eq!(words[1..], cmd.argv(&SlotValues::default()));
    }
}
