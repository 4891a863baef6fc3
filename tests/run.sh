#!/usr/bin/env bash
# The whole test suite, as README.md gives it: formatting, clippy, the Nix parse and
# stub-evaluation checks, the local test images, the mitmproxy addon tests (real mitmdump
# 12 in a container), and the Rust tests (snapshots included: a changed snapshot fails;
# the launch tests run `bottle run` on the Docker engine).
# Without a Docker engine the Docker-backed parts say SKIP and the rest still runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export INSTA_UPDATE=no   # never write snapshots here: an unreviewed change fails
step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings
step "nix: parse and stub-evaluate (tests/nix/check.sh)"
bash tests/nix/check.sh
if docker version --format '{{.Server.Version}}' >/dev/null 2>&1 && [ "${BOT_BOTTLE_SKIP_DOCKER_TESTS:-}" != 1 ]; then
  step "test images (tests/images/build.sh; cached by content)"
  bash tests/images/build.sh
  step "mitmproxy addon and pipelock double tests (tests/addon/run.sh)"
  bash tests/addon/run.sh
else
  step "SKIP: no Docker engine answers (or BOT_BOTTLE_SKIP_DOCKER_TESTS=1): no test images, no addon tests; the Rust launch and image tests will print SKIP lines"
fi
step "cargo test"
cargo test --locked
