//! The resource model: every Docker resource a bottle makes, how it is named and labelled,
//! and how a listed one is recognised as bottle's. One table of [`Role`]s (a role per
//! container, network or image, with its label and its name's pattern) both builds the
//! names the planner uses ([`BottleNames`]) and recognises them again ([`is_schemed`]);
//! [`Known::owns`] is the one ownership check teardown, `cleanup` and `logs` use. Pure.

mod labels;
mod names;
mod ownership;
mod role;

pub use labels::{
    LABEL_AGENT, LABEL_ID, LABEL_PORTS, LABEL_ROLE, LABEL_UID, LabelFilter, Labelled, Labels,
    RoleLabel,
};
pub use names::{AGENT_NAME_ATTEMPTS, BottleNames, Slug, agent_name_attempt, is_schemed};
pub use ownership::{Known, Listed, look_alike, same_id};
pub use role::{Kind, Role, RoleSpec};
