//! The one ownership check: whether a resource a listing found is one bottle created. Its
//! labels say which launch it claims; bottle's labels alone do not make it bottle's (a
//! `docker commit` of an agent container keeps them, and so does every container made
//! from that image), so it must also have a name bottle gave it: the scheme's for its
//! labels, or one the launch (or its record) [`Known`]s. Teardown, `cleanup` and `logs`
//! all ask [`Known::owns`]. Pure.

use crate::naming::labels::Labelled;
use crate::naming::names::is_schemed;
use crate::naming::role::Kind;

/// A resource as a listing shows it.
#[derive(Debug, Clone, Copy)]
pub struct Listed<'a> {
    pub kind: Kind,
    /// A container's or network's name, an image's `repository:tag`.
    pub name: &'a str,
    /// A container's id.
    pub id: Option<&'a str>,
    pub labels: &'a Labelled,
}

/// What bottle knows it created under a name outside the scheme: `(bottle id, name or
/// container id)` of a pinned `--name`, of what a launch record lists, of a container
/// whose create answered with its id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Known {
    names: Vec<(String, String)>,
}

impl Known {
    /// Bottle created (or is creating) a resource of `bottle_id` named, or with the id,
    /// `name_or_id`.
    pub fn add(&mut self, bottle_id: &str, name_or_id: &str) {
        let entry = (bottle_id.to_string(), name_or_id.to_string());
        if !self.names.contains(&entry) {
            self.names.push(entry);
        }
    }

    /// Whether bottle created `r`: a container or network whose name is the scheme's for
    /// its labels (kind included), or that is known by name or id; an image only when
    /// known (never by the scheme: a committed agent image keeps the labels).
    pub fn owns(&self, r: &Listed) -> bool {
        let bottle = &r.labels.bottle_id;
        let known = self
            .names
            .iter()
            .any(|(b, n)| b == bottle && (n == r.name || r.id.is_some_and(|id| same_id(n, id))));
        let schemed = || {
            r.kind != Kind::Image
                && r.labels.role.role().is_some_and(|role| {
                    role.kind() == r.kind && is_schemed(role, &r.labels.agent, bottle, r.name)
                })
        };
        known || schemed()
    }
}

/// Why `r`, which carries bottle's labels, is left alone.
pub fn look_alike(r: &Listed) -> String {
    let why = match r.kind {
        Kind::Container => " (made from a committed image?)",
        Kind::Network | Kind::Image => "",
    };
    format!(
        "left {} {}: it carries bot-bottle labels (bottle {}) but not a name bottle gave it{why}",
        r.kind.word(),
        r.name,
        r.labels.bottle_id
    )
}

/// Docker ids compare by prefix (short and full forms).
pub fn same_id(a: &str, b: &str) -> bool {
    a.len() >= 12 && b.len() >= 12 && (a.starts_with(b) || b.starts_with(a))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::naming::role::Role;
    use crate::naming::{BottleNames, RoleLabel};

    const ID: &str = "0123456789abcdef";

    fn labels(role: &str) -> Labelled {
        Labelled {
            bottle_id: ID.into(),
            agent: "dev".into(),
            role: RoleLabel::read(role),
        }
    }

    #[test]
    fn a_name_the_scheme_gave_or_a_known_one_is_ours_and_a_look_alike_is_not() {
        let names = BottleNames::new("dev", ID, None, 1000);
        let agent = labels("agent");
        let listed = |kind, name: &'static str, id, labels| Listed {
            kind,
            name,
            id,
            labels,
        };
        let known = Known::default();
        let mitm = names.of(Role::Mitmproxy);
        let mitm_labels = labels("mitmproxy");
        let ours = Listed {
            kind: Kind::Container,
            name: &mitm,
            id: Some("c0ffee0123456789"),
            labels: &mitm_labels,
        };
        assert!(known.owns(&ours));
        // Same labels, another name: made from a committed image.
        let saved = listed(
            Kind::Container,
            "my-saved-agent",
            Some("feed0123456789ab"),
            &agent,
        );
        assert!(!known.owns(&saved));
        assert_eq!(
            look_alike(&saved),
            format!(
                "left container my-saved-agent: it carries bot-bottle labels (bottle {ID}) but not a name bottle gave it (made from a committed image?)"
            )
        );
        // Known by name (a pinned --name) or by id (short or full), for its bottle only.
        let mut known = Known::default();
        known.add(ID, "my-saved-agent");
        assert!(known.owns(&saved));
        let mut by_id = Known::default();
        by_id.add(ID, "feed01234567");
        assert!(by_id.owns(&saved));
        let mut other_bottle = Known::default();
        other_bottle.add("89abcdef01234567", "my-saved-agent");
        assert!(!other_bottle.owns(&saved));
        // A network by the scheme; an image only when known; the kind must be the role's.
        let net_labels = labels("agent-network");
        let net = names.of(Role::AgentNetwork);
        let network = Listed {
            kind: Kind::Network,
            name: &net,
            id: None,
            labels: &net_labels,
        };
        assert!(Known::default().owns(&network));
        assert!(!Known::default().owns(&Listed {
            kind: Kind::Container,
            ..network
        }));
        let cwd_labels = labels("cwd-image");
        let tag = names.of(Role::CwdImage);
        let image = Listed {
            kind: Kind::Image,
            name: &tag,
            id: None,
            labels: &cwd_labels,
        };
        assert!(!Known::default().owns(&image));
        let mut record = Known::default();
        record.add(ID, &tag);
        assert!(record.owns(&image));
        // A role label bottle does not set is never the scheme's.
        let odd = labels("sidecar");
        assert!(!Known::default().owns(&Listed {
            labels: &odd,
            ..ours
        }));
    }
}
