//! A running bottle's policy, changed live: `bottle allow-host` / `deny-host` re-render
//! the web pipelock's config from the launch's config and the journal of live changes
//! (`runtime::policy_journal`) and have pipelock reload it in place; `--persist` also
//! writes the user's own manifest. The folding and rendering are pure (`live_policy`),
//! the reload and the manifest write do I/O.

pub mod live_policy;
pub mod manifest_edit;
pub mod reapply;
pub mod sidecar_reload;
