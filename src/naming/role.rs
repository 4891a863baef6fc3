//! `Role`: what a resource is for in a bottle, and everything that follows from it: whether
//! it is a container, a network or an image, its `bot-bottle.role` label, and the pattern
//! of the name bottle gives it. One table ([`roles!`] below): a new role (another sidecar,
//! its network) is one entry there, and the planner, teardown, `ls`, `cleanup` and `logs`
//! all know it. Pure.

use serde::{Serialize, Serializer};

/// What kind of Docker object a role is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Container,
    Network,
    Image,
}

impl Kind {
    /// `container`, `network`, `image`: as messages say it.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Container => "container",
            Kind::Network => "network",
            Kind::Image => "image",
        }
    }
}

/// Everything the table says about one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleSpec {
    pub kind: Kind,
    /// The `bot-bottle.role` label value (also the role's name in the plan's JSON).
    pub label: &'static str,
    /// The name bottle gives it; `{slug}` is the launch's [`Slug`](super::Slug).
    pub name: &'static str,
    /// A name in use is retried as `name-2` … (only the agent container, whose name a
    /// user may also pick with `--name`).
    pub retried: bool,
}

/// Defines [`Role`] and its table from one list: `Variant => RoleSpec { … };`.
macro_rules! roles {
    ($($(#[$doc:meta])* $role:ident => $spec:expr;)+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Role {
            $($(#[$doc])* $role,)+
        }

        impl Role {
            /// Every role, in the table's order.
            pub const ALL: &'static [Role] = &[$(Role::$role),+];

            /// The role's row of the table.
            pub fn spec(self) -> &'static RoleSpec {
                match self {
                    $(Role::$role => &$spec,)+
                }
            }
        }
    };
}

roles! {
    /// The agent container (its name may instead be pinned with `--name`).
    Agent => RoleSpec { kind: Kind::Container, label: "agent", name: "bot-bottle-{slug}", retried: true };
    /// pipelock (the web lane's), with the model pipelock the only containers with a route out.
    Pipelock => RoleSpec { kind: Kind::Container, label: "pipelock", name: "bot-bottle-pipelock-{slug}", retried: false };
    /// The model lane's pipelock: the model providers' API hosts only, no body scan.
    ModelPipelock => RoleSpec { kind: Kind::Container, label: "model-pipelock", name: "bot-bottle-model-pl-{slug}", retried: false };
    /// mitmproxy, the agent's one peer.
    Mitmproxy => RoleSpec { kind: Kind::Container, label: "mitmproxy", name: "bot-bottle-mitm-{slug}", retried: false };
    /// agent + mitmproxy, internal.
    AgentNetwork => RoleSpec { kind: Kind::Network, label: "agent-network", name: "bot-bottle-net-{slug}", retried: false };
    /// mitmproxy + pipelock, internal.
    ProxyNetwork => RoleSpec { kind: Kind::Network, label: "proxy-network", name: "bot-bottle-proxy-{slug}", retried: false };
    /// pipelock alone, with a route out.
    EgressNetwork => RoleSpec { kind: Kind::Network, label: "egress-network", name: "bot-bottle-egress-{slug}", retried: false };
    /// `bottle run -p`: the forwarder, on the ports network (published on the host's
    /// loopback) and the agent network; it connects only to the port relay.
    Forwarder => RoleSpec { kind: Kind::Container, label: "forwarder", name: "bot-bottle-fwd-{slug}", retried: false };
    /// `bottle run -p`: the port relay, in the agent's network namespace; it connects
    /// only to the agent's own loopback.
    PortRelay => RoleSpec { kind: Kind::Container, label: "port-relay", name: "bot-bottle-relay-{slug}", retried: false };
    /// `bottle run -p`: the forwarder alone, not internal (Docker publishes only from such
    /// a network) but without masquerade: nothing leaves through it.
    PortsNetwork => RoleSpec { kind: Kind::Network, label: "ports-network", name: "bot-bottle-ports-{slug}", retried: false };
    /// The `--cwd` agent image earlier versions built (only `cleanup` still meets it).
    CwdImage => RoleSpec { kind: Kind::Image, label: "cwd-image", name: "bot-bottle-cwd-{slug}:latest", retried: false };
}

impl Role {
    /// The role a `bot-bottle.role` label names.
    pub fn from_label(label: &str) -> Option<Role> {
        Role::ALL.iter().copied().find(|r| r.label() == label)
    }

    /// The `bot-bottle.role` label value.
    pub fn label(self) -> &'static str {
        self.spec().label
    }

    pub fn kind(self) -> Kind {
        self.spec().kind
    }
}

/// As its label: `"agent"`, `"egress-network"`, ….
impl Serialize for Role {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_has_its_own_label_and_name_and_reads_back_from_its_label() {
        for (i, a) in Role::ALL.iter().enumerate() {
            assert_eq!(Role::from_label(a.label()), Some(*a));
            assert!(a.spec().name.contains("{slug}"), "{a:?}");
            for b in &Role::ALL[i + 1..] {
                assert_ne!(a.label(), b.label());
                assert_ne!(a.spec().name, b.spec().name);
            }
        }
        assert_eq!(Role::from_label("sidecar"), None);
        assert_eq!(
            serde_json::to_string(&Role::EgressNetwork).unwrap(),
            "\"egress-network\""
        );
    }
}
