//! Bottles and agents: the manifest format, reading the files (`manifest_files`, the only
//! I/O here), validation and merging into the catalog, and its reports.

pub mod bottle;
pub mod catalog;
pub(crate) mod catalog_report;
pub mod claude_code;
pub mod credential;
pub mod egress;
pub mod egress_rules;
pub mod env_value;
pub mod git_identity;
pub mod git_push;
pub(crate) mod host_pattern;
pub mod manifest;
pub(crate) mod manifest_files;
pub mod model_policy;
pub(crate) mod number;
pub mod provider;
pub mod published_port;
pub mod resources;
pub mod trust;
