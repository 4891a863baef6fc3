//! `DockerCommand`: one docker invocation as plain data: its arguments (some of them
//! slots the launch fills), the names of the environment variables it passes through,
//! and what it reads on stdin. Pure; the launch turns it into an engine call.

use crate::plan::slot::{Slot, SlotValues};
use serde::Serialize;

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

/// An argument: fixed text, or a slot's value (between fixed texts, as in
/// `<agent-name>:/path` for `docker cp` or `container:<agent-name>`), or a long fixed text (a rendered config) that
/// plans show by what it is rather than in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Arg {
    Lit(String),
    Slot {
        #[serde(skip_serializing_if = "String::is_empty")]
        prefix: String,
        slot: Slot,
        #[serde(skip_serializing_if = "String::is_empty")]
        suffix: String,
    },
    Content {
        /// What the text is, shown in its place (`<the pipelock config>`).
        shows: String,
        /// Not in the JSON plan: the plan carries the config it renders.
        #[serde(skip)]
        text: String,
    },
}

/// What a command reads on stdin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stdin {
    /// Non-secret text known at planning time (a prompt, a Dockerfile).
    Text { text: String },
    /// A tar archive of a host directory, read at launch, every entry owned by
    /// `uid:gid` and placed under `prefix` (`""` for the archive's top).
    Tree {
        path: String,
        prefix: String,
        uid: u32,
        gid: u32,
        /// What it is, for plans (`the working directory`).
        shows: String,
    },
    /// A slot's value (the CA certificate).
    Slot { slot: Slot },
    /// Text its step makes at launch (a file merged with what the container has).
    Made {
        /// What it is, for plans (`the merged JSON`).
        shows: String,
    },
    /// The user's terminal.
    Terminal,
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

    pub fn slot(self, slot: Slot) -> Self {
        self.slot_then(slot, "")
    }

    /// The slot's value followed by `suffix` (`<agent-name>:/home/agent/…`).
    pub fn slot_then(self, slot: Slot, suffix: impl Into<String>) -> Self {
        self.slot_within("", slot, suffix)
    }

    /// `prefix`, the slot's value, `suffix` (`container:<agent-name>`).
    pub fn slot_within(
        mut self,
        prefix: impl Into<String>,
        slot: Slot,
        suffix: impl Into<String>,
    ) -> Self {
        self.args.push(Arg::Slot {
            prefix: prefix.into(),
            slot,
            suffix: suffix.into(),
        });
        self
    }

    /// A long fixed argument shown as `<shows>` in plans.
    pub fn content(mut self, shows: impl Into<String>, text: impl Into<String>) -> Self {
        self.args.push(Arg::Content {
            shows: shows.into(),
            text: text.into(),
        });
        self
    }

    /// `--env NAME`: the container gets the variable's value from the docker child's
    /// environment, never from argv.
    pub fn pass_env(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.args.push(Arg::Lit("--env".into()));
        self.args.push(Arg::Lit(name.clone()));
        self.env.push(name);
        self
    }

    pub fn stdin(mut self, stdin: Stdin) -> Self {
        self.stdin = Some(stdin);
        self
    }

    /// The slots the command needs filled before it can run, arguments and stdin.
    pub fn slots(&self) -> Vec<Slot> {
        let mut out: Vec<Slot> = self
            .args
            .iter()
            .filter_map(|a| match a {
                Arg::Slot { slot, .. } => Some(*slot),
                Arg::Lit(_) | Arg::Content { .. } => None,
            })
            .collect();
        if let Some(Stdin::Slot { slot }) = &self.stdin {
            out.push(*slot);
        }
        out.sort();
        out.dedup();
        out
    }

    /// The argv after `docker`, slots filled. A slot filled with nothing and no suffix
    /// (`--tty` without a terminal) is left out. `Err` names a slot not filled yet.
    pub fn argv(&self, slots: &SlotValues) -> Result<Vec<String>, Slot> {
        let mut out = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            match arg {
                Arg::Lit(s) | Arg::Content { text: s, .. } => out.push(s.clone()),
                Arg::Slot {
                    prefix,
                    slot,
                    suffix,
                } => {
                    let value = slots.get(*slot).ok_or(*slot)?;
                    if !(value.is_empty() && suffix.is_empty() && prefix.is_empty()) {
                        out.push(format!("{prefix}{value}{suffix}"));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The command as a user would type it, shell-quoted; a slot shows its value when
    /// `slots` has one, else its placeholder (`<env-file>`).
    pub fn display(&self, slots: &SlotValues) -> String {
        let mut parts = vec!["docker".to_string()];
        for arg in &self.args {
            match arg {
                Arg::Lit(s) => parts.push(crate::engine::call::quote(s)),
                Arg::Content { shows, .. } => parts.push(format!("<{shows}>")),
                Arg::Slot {
                    prefix,
                    slot,
                    suffix,
                } => match slots.get(*slot) {
                    Some("") if suffix.is_empty() && prefix.is_empty() => {}
                    Some(v) => {
                        parts.push(crate::engine::call::quote(&format!("{prefix}{v}{suffix}")))
                    }
                    None => parts.push(format!("{prefix}{}{suffix}", slot.placeholder())),
                },
            }
        }
        let mut line = parts.join(" ");
        match &self.stdin {
            Some(Stdin::Text { .. }) => line.push_str(" <<< (text below)"),
            Some(Stdin::Tree { path, shows, .. }) => {
                line.push_str(&format!(" < (tar of {shows} {path})"))
            }
            Some(Stdin::Slot { slot }) => line.push_str(&format!(" < {}", slot.placeholder())),
            Some(Stdin::Made { shows }) => line.push_str(&format!(" < ({shows})")),
            Some(Stdin::Terminal) | None => {}
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_fill_with_their_suffix_and_an_empty_one_is_left_out() {
        let cmd = DockerCommand::new(["exec"])
            .slot(Slot::Tty)
            .slot(Slot::AgentName)
            .arg("true")
            .slot_then(Slot::AgentName, ":/x");
        assert_eq!(cmd.slots(), [Slot::AgentName, Slot::Tty]);
        assert_eq!(cmd.argv(&SlotValues::default()), Err(Slot::Tty));
        let no_tty = SlotValues::default()
            .with(Slot::Tty, "")
            .with(Slot::AgentName, "a-2");
        assert_eq!(
            cmd.argv(&no_tty).unwrap(),
            ["exec", "a-2", "true", "a-2:/x"]
        );
        let tty = no_tty.clone().with(Slot::Tty, "--tty");
        assert_eq!(
            cmd.argv(&tty).unwrap(),
            ["exec", "--tty", "a-2", "true", "a-2:/x"]
        );
        assert_eq!(
            cmd.display(&SlotValues::default()),
            "docker exec [--tty] <agent-name> true <agent-name>:/x"
        );
        assert_eq!(cmd.display(&no_tty), "docker exec a-2 true a-2:/x");
    }

    #[test]
    fn display_quotes_for_the_shell() {
        let cmd = DockerCommand::new(["exec", "c", "sh", "-c", "echo 'hi' $X \"q\""]);
        let words = shlex::split(&cmd.display(&SlotValues::default())).unwrap();
        assert_eq!(words[0], "docker");
        assert_eq!(words[1..], cmd.argv(&SlotValues::default()).unwrap());
    }
}
