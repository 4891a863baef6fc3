//! The three images: which one each role uses, loading them (through the engine), reading
//! docker-archives and their digests, the lock file, the image contract, and `bottle
//! images`. `loader` and `images_command` do I/O; the rest is pure.

pub mod archive;
pub(crate) mod contract;
pub mod image_ref;
pub mod images_command;
pub mod loader;
pub mod lock;
