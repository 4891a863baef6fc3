//! The labels every resource of a launch carries (`bot-bottle.id`, `.agent`, `.role`,
//! `.uid`): putting them on ([`Labels`]), filtering a listing by them ([`LabelFilter`]),
//! and what a listed resource's labels say ([`Labelled`]). Pure.

use crate::naming::role::Role;
use std::fmt;

pub const LABEL_ID: &str = "bot-bottle.id";
pub const LABEL_AGENT: &str = "bot-bottle.agent";
pub const LABEL_ROLE: &str = "bot-bottle.role";
pub const LABEL_UID: &str = "bot-bottle.uid";
/// On the forwarder: its published ports, `127.0.0.1:HOST->AGENT,…` (`bottle ls`).
pub const LABEL_PORTS: &str = "bot-bottle.ports";

/// The labels of one launch's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    pub bottle_id: String,
    pub agent: String,
    pub uid: u32,
}

impl Labels {
    /// `--label k=v` pairs for a resource with `role`.
    pub fn args(&self, role: Role) -> Vec<String> {
        [
            format!("{LABEL_ID}={}", self.bottle_id),
            format!("{LABEL_AGENT}={}", self.agent),
            format!("{LABEL_ROLE}={}", role.label()),
            format!("{LABEL_UID}={}", self.uid),
        ]
        .into_iter()
        .flat_map(|l| ["--label".to_string(), l])
        .collect()
    }
}

/// One `--filter label=…` of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelFilter(String);

impl LabelFilter {
    /// Carries bottle's labels at all.
    pub fn any_bottle() -> LabelFilter {
        LabelFilter(format!("label={LABEL_ID}"))
    }

    /// Launched by `uid`.
    pub fn uid(uid: u32) -> LabelFilter {
        LabelFilter(format!("label={LABEL_UID}={uid}"))
    }

    /// Of the launch `bottle_id`.
    pub fn bottle(bottle_id: &str) -> LabelFilter {
        LabelFilter(format!("label={LABEL_ID}={bottle_id}"))
    }

    /// With `role`.
    pub fn role(role: Role) -> LabelFilter {
        LabelFilter(format!("label={LABEL_ROLE}={}", role.label()))
    }

    /// The value after `--filter`.
    pub fn arg(&self) -> &str {
        &self.0
    }
}

/// What a listed resource's labels say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labelled {
    pub bottle_id: String,
    pub agent: String,
    pub role: RoleLabel,
}

/// A `bot-bottle.role` label: a role bottle sets, or a value it does not (left alone and
/// reported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleLabel {
    Known(Role),
    Other(String),
}

impl RoleLabel {
    pub fn read(label: &str) -> RoleLabel {
        match Role::from_label(label) {
            Some(role) => RoleLabel::Known(role),
            None => RoleLabel::Other(label.to_string()),
        }
    }

    pub fn role(&self) -> Option<Role> {
        match self {
            RoleLabel::Known(role) => Some(*role),
            RoleLabel::Other(_) => None,
        }
    }
}

/// The label's value, as Docker shows it.
impl fmt::Display for RoleLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoleLabel::Known(role) => f.write_str(role.label()),
            RoleLabel::Other(label) => f.write_str(label),
        }
    }
}
