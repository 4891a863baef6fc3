//! What a launch keeps on the host while it runs: the per-user runtime directory, and in
//! it, per launch, the env-file, the record of what the launch created (so `bottle
//! cleanup` can finish what a SIGKILLed launch left) and the journal of its live policy
//! changes. I/O (files).

pub mod launch_record;
pub mod policy_journal;
pub mod runtime_dir;
