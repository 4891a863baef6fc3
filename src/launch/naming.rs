//! Whether a resource that carries a launch's labels also has a name bottle gave it:
//! the planner's scheme `bot-bottle-<kind>-<agent>-<first 8 hex of the id>` (the agent
//! container `bot-bottle-<agent>-<8 hex>`, or `-2` … after a name conflict). A container
//! made from a `docker commit` of an agent container inherits the labels, not the name:
//! teardown and cleanup leave it alone. Pure. (A unit test holds this against the plan.)

use crate::plan::role::Role;

/// `<agent>-<first 8 hex digits of the id>`, as the planner makes it.
pub fn slug(agent: &str, bottle_id: &str) -> Option<String> {
    let short = bottle_id.get(..8)?;
    Some(format!("{}-{short}", agent.to_ascii_lowercase()))
}

/// Whether `name` is the name the scheme gives a resource of `role` in the launch of
/// `agent` with `bottle_id`.
pub fn is_schemed(role: Role, agent: &str, bottle_id: &str, name: &str) -> bool {
    let Some(slug) = slug(agent, bottle_id) else {
        return false;
    };
    let kind = match role {
        Role::Agent => {
            let base = format!("bot-bottle-{slug}");
            return match name.strip_prefix(&base) {
                Some("") => true,
                Some(rest) => rest
                    .strip_prefix('-')
                    .and_then(|n| n.parse::<u32>().ok())
                    .is_some_and(|n| (2..=99).contains(&n) && !rest.starts_with("-0")),
                None => false,
            };
        }
        Role::Pipelock => "pipelock",
        Role::Mitmproxy => "mitm",
        Role::AgentNetwork => "net",
        Role::ProxyNetwork => "proxy",
        Role::EgressNetwork => "egress",
        Role::CwdImage => return name == format!("bot-bottle-cwd-{slug}:latest"),
    };
    name == format!("bot-bottle-{kind}-{slug}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_may_carry_a_retry_suffix_and_nothing_else_matches() {
        let id = "0123456789abcdef";
        assert!(is_schemed(
            Role::Agent,
            "Dev",
            id,
            "bot-bottle-dev-01234567"
        ));
        assert!(is_schemed(
            Role::Agent,
            "dev",
            id,
            "bot-bottle-dev-01234567-2"
        ));
        assert!(is_schemed(
            Role::Agent,
            "dev",
            id,
            "bot-bottle-dev-01234567-10"
        ));
        for other in [
            "bot-bottle-dev-01234567-1",
            "bot-bottle-dev-01234567-02",
            "bot-bottle-dev-01234567-x",
            "bot-bottle-dev-01234567-2-3",
            "my-saved-agent",
            "bot-bottle-dev-89abcdef",
            "bot-bottle-pipelock-dev-01234567",
        ] {
            assert!(!is_schemed(Role::Agent, "dev", id, other), "{other}");
        }
        assert!(is_schemed(
            Role::Mitmproxy,
            "dev",
            id,
            "bot-bottle-mitm-dev-01234567"
        ));
        assert!(!is_schemed(
            Role::Mitmproxy,
            "dev",
            id,
            "bot-bottle-pipelock-dev-01234567"
        ));
        assert!(!is_schemed(
            Role::Agent,
            "dev",
            "0123",
            "bot-bottle-dev-0123"
        ));
    }
}
