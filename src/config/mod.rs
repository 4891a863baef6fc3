//! Bottles and agents: the manifest format, reading the files, validation and merging.

pub mod catalog;
pub mod catalog_report;
pub mod env_value;
pub mod host_pattern;
pub mod manifest;
pub mod manifest_files;
