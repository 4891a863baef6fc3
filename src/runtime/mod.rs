//! What a launch keeps on the host while it runs: the per-user runtime directory, and in
//! it, per launch, the env-file and the record of what the launch created (so `bottle
//! cleanup` can finish what a SIGKILLed launch left). I/O (files).

pub mod launch_record;
pub mod runtime_dir;
