//! Images.

pub mod archive;
pub mod contract;
pub mod image_ref;
pub mod images_command;
pub mod loader;
pub mod lock;
