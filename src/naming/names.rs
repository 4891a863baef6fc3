//! The names of one launch's resources, all from the table in [`role`](super::role): built
//! for the planner ([`BottleNames`]), tried again after a conflict ([`agent_name_attempt`]),
//! and recognised on a listed resource ([`is_schemed`]), by the same code. Pure.

use crate::naming::labels::Labels;
use crate::naming::role::Role;

/// Agent container names tried after a conflict: `name`, `name-2`, … `name-10`.
pub const AGENT_NAME_ATTEMPTS: u32 = 10;

/// `<agent, lowercased>-<first 8 hex digits of the launch id>`: what makes one launch's
/// names unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    /// `None` when the id is shorter than 8 characters.
    pub fn new(agent: &str, bottle_id: &str) -> Option<Slug> {
        let short = bottle_id.get(..8)?;
        Some(Slug(format!("{}-{short}", agent.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name the scheme gives `role`'s resource in this launch (the agent container's
    /// first try).
    pub fn name(&self, role: Role) -> String {
        role.spec().name.replace("{slug}", &self.0)
    }
}

/// The agent container's name at try `attempt` (1-based): `base`, then `base-2`, ….
pub fn agent_name_attempt(base: &str, attempt: u32) -> String {
    match attempt {
        1 => base.to_string(),
        n => format!("{base}-{n}"),
    }
}

/// Whether `name` is a name the scheme gives a resource of `role` in the launch of
/// `agent` with `bottle_id` (for a retried role, any of its [`AGENT_NAME_ATTEMPTS`]).
/// A pinned `--name` is not: only the launch, or its record, knows it.
pub fn is_schemed(role: Role, agent: &str, bottle_id: &str, name: &str) -> bool {
    let Some(slug) = Slug::new(agent, bottle_id) else {
        return false;
    };
    let base = slug.name(role);
    if role.spec().retried {
        (1..=AGENT_NAME_ATTEMPTS).any(|n| agent_name_attempt(&base, n) == name)
    } else {
        name == base
    }
}

/// The names and labels of one launch's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BottleNames {
    pub bottle_id: String,
    pub slug: Slug,
    /// The agent container's planned name: `--name`, else the scheme's.
    pub agent: String,
    pub agent_pinned: bool,
    pub labels: Labels,
}

impl BottleNames {
    /// `launch_id` has at least 8 characters (the planner checks it first).
    pub fn new(agent: &str, launch_id: &str, pinned: Option<&str>, uid: u32) -> BottleNames {
        let slug = Slug::new(agent, launch_id).expect("a launch id of 8 or more characters");
        BottleNames {
            bottle_id: launch_id.to_string(),
            agent: pinned
                .map(str::to_string)
                .unwrap_or_else(|| slug.name(Role::Agent)),
            agent_pinned: pinned.is_some(),
            labels: Labels {
                bottle_id: launch_id.to_string(),
                agent: agent.to_string(),
                uid,
            },
            slug,
        }
    }

    /// The planned name of `role`'s resource (the agent's may be pinned).
    pub fn of(&self, role: Role) -> String {
        match role {
            Role::Agent => self.agent.clone(),
            _ => self.slug.name(role),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef";

    #[test]
    fn the_names_built_are_the_names_recognised_retries_included() {
        let names = BottleNames::new("Dev", ID, None, 1000);
        assert_eq!(names.slug.as_str(), "dev-01234567");
        let built: Vec<(Role, String)> = Role::ALL.iter().map(|r| (*r, names.of(*r))).collect();
        assert_eq!(
            built.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>(),
            [
                "bot-bottle-dev-01234567",
                "bot-bottle-pipelock-dev-01234567",
                "bot-bottle-model-pl-dev-01234567",
                "bot-bottle-mitm-dev-01234567",
                "bot-bottle-net-dev-01234567",
                "bot-bottle-proxy-dev-01234567",
                "bot-bottle-egress-dev-01234567",
                "bot-bottle-fwd-dev-01234567",
                "bot-bottle-relay-dev-01234567",
                "bot-bottle-ports-dev-01234567",
                "bot-bottle-cwd-dev-01234567:latest",
            ]
        );
        for (role, name) in &built {
            assert!(is_schemed(*role, "Dev", ID, name), "{name}");
            for other in Role::ALL.iter().filter(|r| *r != role) {
                assert!(!is_schemed(*other, "dev", ID, name), "{other:?} {name}");
            }
        }
        // Every name the launch may try after a conflict, and no other.
        let base = names.of(Role::Agent);
        for n in 1..=AGENT_NAME_ATTEMPTS {
            assert!(is_schemed(
                Role::Agent,
                "dev",
                ID,
                &agent_name_attempt(&base, n)
            ));
        }
        for other in [
            "bot-bottle-dev-01234567-1",
            "bot-bottle-dev-01234567-02",
            "bot-bottle-dev-01234567-11",
            "bot-bottle-dev-01234567-x",
            "bot-bottle-dev-01234567-2-3",
            "my-saved-agent",
            "bot-bottle-dev-89abcdef",
        ] {
            assert!(!is_schemed(Role::Agent, "dev", ID, other), "{other}");
        }
        // Another launch, another agent, a short id: not this launch's names.
        assert!(!is_schemed(
            Role::Mitmproxy,
            "dev",
            "89abcdef01",
            &names.of(Role::Mitmproxy)
        ));
        assert!(!is_schemed(
            Role::Mitmproxy,
            "web",
            ID,
            &names.of(Role::Mitmproxy)
        ));
        assert!(!is_schemed(
            Role::Agent,
            "dev",
            "0123",
            "bot-bottle-dev-0123"
        ));
    }

    #[test]
    fn a_pinned_agent_name_is_planned_but_not_the_schemes() {
        let names = BottleNames::new("dev", ID, Some("my-claude"), 1000);
        assert_eq!(names.of(Role::Agent), "my-claude");
        assert!(names.agent_pinned);
        assert!(!is_schemed(Role::Agent, "dev", ID, "my-claude"));
        assert_eq!(names.of(Role::Pipelock), "bot-bottle-pipelock-dev-01234567");
    }
}
