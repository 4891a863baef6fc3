#!/usr/bin/env bash
# The whole test suite, as README.md gives it: formatting, clippy, the Rust tests
# (snapshots included; a changed snapshot fails), and the Nix parse/stub-evaluation checks.
# Tests that need a Docker engine skip with a visible message where none answers.
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
step "cargo test"
cargo test --locked
