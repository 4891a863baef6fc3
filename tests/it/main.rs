//! The integration tests, one binary: the CLI as a user meets it (the real `bottle` in a
//! hermetic temp HOME), the bad-manifest corpus, the plan snapshots and the exit report
//! without an engine; and, under `docker`, everything that needs a Docker engine
//! (`#[ignore]`d: `tests/run.sh` runs them with `--ignored` when one answers).

mod bad_manifests;
mod cli;
mod docker;
mod plan_snapshots;
mod report;
mod source;
mod support;
