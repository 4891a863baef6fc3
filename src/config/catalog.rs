//! The validated, merged set of bottles and agents: the embedded default, the user's file,
//! and the working directory's file (agents only). Pure: files arrive as text, the skills
//! on disk as a list.

pub use crate::config::bottle::Bottle;
use crate::config::claude_code::ClaudeCode;
use crate::config::manifest::{AgentSpec, Manifest};
use crate::config::published_port::{PublishedPort, check_list};
use crate::error::{Error, ManifestError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

pub const DEFAULT_BOTTLE: &str = "default";
pub const DEFAULT_AGENT: &str = "agent";
pub const DEFAULT_COMMAND: &[&str] = &["claude", "--dangerously-skip-permissions"];
pub const EMBEDDED: &str = "<embedded default>";

/// Where a manifest came from; it decides what the file may declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestOrigin {
    /// The user's own file: may declare bottles and agents.
    User(String),
    /// `./bot-bottle.json`: arrives with whatever repository the user is in, so agents only.
    WorkingDir(String),
}

impl ManifestOrigin {
    pub fn label(&self) -> &str {
        match self {
            ManifestOrigin::User(p) | ManifestOrigin::WorkingDir(p) => p,
        }
    }
}

/// A manifest's text and where it was found.
#[derive(Debug, Clone)]
pub struct ManifestText {
    pub origin: ManifestOrigin,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agent {
    pub name: String,
    pub source: String,
    /// Defined by the working directory's manifest (the repository the user is in).
    pub from_working_dir: bool,
    pub bottle: String,
    pub prompt: Option<String>,
    pub skills: Vec<String>,
    pub command: Vec<String>,
    /// Opened on the host's loopback when it runs (`bottle run -p` replaces them).
    pub ports: Vec<PublishedPort>,
    pub claude_code: ClaudeCode,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub bottles: BTreeMap<String, Bottle>,
    pub agents: BTreeMap<String, Agent>,
}

/// What validation needs to know about the host: which skills exist.
#[derive(Debug, Clone, Default)]
pub struct SkillIndex {
    /// Shown in errors, e.g. `~/.claude/skills`.
    pub dir: String,
    pub names: BTreeSet<String>,
}

impl Catalog {
    /// Parses, checks and merges the files (user first, then working directory). The
    /// first error found is returned; it names the file and the JSON path.
    pub fn load(files: &[ManifestText], skills: &SkillIndex) -> Result<Catalog, ManifestError> {
        let mut catalog = Catalog::embedded();
        for file in files {
            let label = file.origin.label();
            let manifest = Manifest::parse(label, &file.text)?;
            if let ManifestOrigin::WorkingDir(_) = file.origin
                && let Some(name) = manifest.bottles.keys().next()
            {
                return Err(err(
                    label,
                    format!("bottles.{name}"),
                    "bottles may only be declared in your user manifest ($XDG_CONFIG_HOME/bot-bottle/bot-bottle.json or $BOT_BOTTLE_CONFIG): a repository's bot-bottle.json could otherwise widen the egress allowlist or forward your secrets. Declare agents here, and bottles in your own file.",
                ));
            }
            for (name, spec) in &manifest.bottles {
                check_name(label, &format!("bottles.{name}"), name)?;
                let bottle = Bottle::from_spec(label, name, spec)?;
                catalog.bottles.insert(name.clone(), bottle);
            }
            let from_working_dir = matches!(file.origin, ManifestOrigin::WorkingDir(_));
            for (name, spec) in &manifest.agents {
                let mut agent = Agent::from_spec(label, name, spec, skills)?;
                agent.from_working_dir = from_working_dir;
                // A repository's file may add agents, never redefine one the user knows:
                // `bottle run agent` must not quietly become the repository's agent.
                if from_working_dir && let Some(known) = catalog.agents.get(name) {
                    return Err(err(
                        label,
                        format!("agents.{name}"),
                        format!(
                            "agent `{name}` is already defined by {}; a working directory's manifest may only add agents under new names: rename it in {label}",
                            known.source
                        ),
                    ));
                }
                catalog.agents.insert(name.clone(), agent);
            }
        }
        for agent in catalog.agents.values() {
            if !catalog.bottles.contains_key(&agent.bottle) {
                let known: Vec<&str> = catalog.bottles.keys().map(String::as_str).collect();
                return Err(err(
                    &agent.source,
                    format!("agents.{}.bottle", agent.name),
                    format!(
                        "no bottle named `{}`; known bottles: {}",
                        agent.bottle,
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(catalog)
    }

    /// The catalog a new user gets with no file at all.
    pub fn embedded() -> Catalog {
        let bottle = Bottle::embedded(DEFAULT_BOTTLE, EMBEDDED);
        let agent = Agent {
            name: DEFAULT_AGENT.into(),
            source: EMBEDDED.into(),
            from_working_dir: false,
            bottle: DEFAULT_BOTTLE.into(),
            prompt: None,
            skills: Vec::new(),
            command: DEFAULT_COMMAND.iter().map(|a| a.to_string()).collect(),
            ports: Vec::new(),
            claude_code: ClaudeCode::default(),
        };
        Catalog {
            bottles: BTreeMap::from([(bottle.name.clone(), bottle)]),
            agents: BTreeMap::from([(agent.name.clone(), agent)]),
        }
    }

    /// The names of the agents the working directory's manifest defines.
    /// The agents the working directory's manifest defines, by name.
    pub fn working_dir_agents(&self) -> Vec<&Agent> {
        self.agents
            .values()
            .filter(|a| a.from_working_dir)
            .collect()
    }

    /// The agent by name; an unknown name lists the known ones.
    pub fn agent(&self, name: &str) -> Result<&Agent, Error> {
        self.agents.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.agents.keys().map(String::as_str).collect();
            Error::usage(format!(
                "unknown agent `{name}`; known agents: {}",
                known.join(", ")
            ))
        })
    }
}

impl Agent {
    fn from_spec(
        file: &str,
        name: &str,
        spec: &AgentSpec,
        skills: &SkillIndex,
    ) -> Result<Agent, ManifestError> {
        let at = |field: &str| format!("agents.{name}{field}");
        check_name(file, &at(""), name)?;
        let command = match &spec.command {
            None => DEFAULT_COMMAND.iter().map(|a| a.to_string()).collect(),
            Some(c) if c.is_empty() => {
                return Err(err(
                    file,
                    at(".command"),
                    "the command is empty; give the program and its arguments, e.g. [\"claude\", \"--dangerously-skip-permissions\"], or leave `command` out for that default",
                ));
            }
            Some(c) => c.clone(),
        };
        if let Some(i) = command.iter().position(|a| a.contains('\0')) {
            return Err(err(
                file,
                at(&format!(".command[{i}]")),
                "arguments may not contain a NUL character",
            ));
        }
        if command[0].is_empty() {
            return Err(err(file, at(".command[0]"), "the program name is empty"));
        }
        if let Some(prompt) = &spec.prompt
            && prompt.contains('\0')
        {
            return Err(err(
                file,
                at(".prompt"),
                "the prompt may not contain a NUL character",
            ));
        }
        for (i, skill) in spec.skills.iter().enumerate() {
            let path = at(&format!(".skills[{i}]"));
            let plain = !skill.is_empty()
                && skill != "."
                && skill != ".."
                && !skill.contains('/')
                && !skill.contains('\0');
            if !plain {
                return Err(err(
                    file,
                    path,
                    format!(
                        "`{skill}` is not a skill name; give the name of a directory under {}",
                        skills.dir
                    ),
                ));
            }
            if !skills.names.contains(skill) {
                let known: Vec<&str> = skills.names.iter().map(String::as_str).collect();
                let known = if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                };
                return Err(err(
                    file,
                    path,
                    format!("no skill `{skill}` in {} (found: {known})", skills.dir),
                ));
            }
        }
        let ports =
            agent_ports(&spec.ports).map_err(|(i, m)| err(file, at(&format!(".ports[{i}]")), m))?;
        let claude_code = match &spec.claude_code {
            Some(cc) => ClaudeCode::from_spec(cc)
                .map_err(|(p, m)| err(file, at(&format!(".claude_code{p}")), m))?,
            None => ClaudeCode::default(),
        };
        Ok(Agent {
            name: name.to_string(),
            source: file.to_string(),
            from_working_dir: false,
            bottle: spec
                .bottle
                .clone()
                .unwrap_or_else(|| DEFAULT_BOTTLE.to_string()),
            prompt: spec.prompt.clone(),
            skills: spec.skills.clone(),
            command,
            ports,
            claude_code,
        })
    }
}

/// An agent's `ports`, each checked, then the list; `Err` names the entry.
fn agent_ports(values: &[serde_json::Value]) -> Result<Vec<PublishedPort>, (usize, String)> {
    let ports = values
        .iter()
        .enumerate()
        .map(|(i, v)| PublishedPort::from_json(v).map_err(|m| (i, m)))
        .collect::<Result<Vec<_>, _>>()?;
    check_list(&ports)?;
    Ok(ports)
}

/// Docker's rule for container names, within `min..=max` characters (a whole container
/// name needs two).
pub fn is_docker_name(name: &str, min: usize, max: usize) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && (min..=max).contains(&name.len())
}

/// Agent and bottle names become parts of container names that are also DNS names
/// (`bot-bottle-pipelock-<agent>-<8 hex>` must stay within a 63-byte DNS label).
pub const MAX_NAME_LEN: usize = 32;

fn check_name(file: &str, path: &str, name: &str) -> Result<(), ManifestError> {
    if is_docker_name(name, 1, MAX_NAME_LEN) {
        Ok(())
    } else {
        Err(err(
            file,
            path.to_string(),
            format!(
                "`{name}` is not a valid name: use up to {MAX_NAME_LEN} letters, digits, `-`, `_` or `.`, starting with a letter or digit (it becomes part of Docker container and DNS names)"
            ),
        ))
    }
}

fn err(file: &str, path: impl Into<String>, message: impl Into<String>) -> ManifestError {
    ManifestError {
        file: file.to_string(),
        path: path.into(),
        message: message.into(),
    }
}
