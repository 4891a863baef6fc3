#!/usr/bin/env bash
# The whole test suite, as README.md gives it: formatting, clippy, the Nix parse and
# stub-evaluation checks, then `cargo test` (everything that needs no Docker: unit tests,
# the executor against a scripted engine, CLI tests, the bad-manifest corpus, the plan
# snapshots; a changed snapshot fails), the addon's host tests (its pure package with plain
# pytest, and the addon config of every plan snapshot read by the addon's parser), then,
# when a Docker engine answers, the test
# images, the mitmproxy addon tests, the fake internet's tests, the pipelock conformance
# suite (run against the double here; the same assertions pass against a real pipelock,
# docs/pipelock.md) and the Docker-backed Rust tests (`cargo test -- --ignored`: `bottle
# run` on the engine with the real Claude Code CLI, the walls, credentials, cleanup, the
# exit report, `bottle images`).
# The last line says whether the Docker-backed tests ran. Without an engine (or with
# BOT_BOTTLE_SKIP_DOCKER_TESTS=1) they are reported as NOT RUN, never as passed, and with
# BOT_BOTTLE_REQUIRE_DOCKER_TESTS=1 (CI) that is a failure.
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
step "cargo test (no Docker needed; the Docker-backed tests show as ignored)"
cargo test --locked
step "addon: the pure package's host tests and the Rust-Python contract (tests/addon_unit/run.sh; no Docker)"
bash tests/addon_unit/run.sh

docker_tests="NOT RUN"
if [ "${BOT_BOTTLE_SKIP_DOCKER_TESTS:-}" = 1 ]; then
  why="BOT_BOTTLE_SKIP_DOCKER_TESTS=1"
elif ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  why="no Docker engine answers (\`docker version\` failed)"
else
  step "test images (tests/images/build.sh; cached by content)"
  bash tests/images/build.sh
  step "mitmproxy addon and pipelock double tests (tests/addon/run.sh)"
  bash tests/addon/run.sh
  step "the fake internet's own tests (tests/fake_internet/run.sh)"
  bash tests/fake_internet/run.sh
  step "pipelock conformance: the test double against the assertions real pipelock passes (tests/pipelock_conformance/run.sh)"
  bash tests/pipelock_conformance/run.sh
  step "cargo test -- --ignored (the Docker-backed tests, on the engine)"
  cargo test --locked -- --ignored
  docker_tests="RAN"
fi

echo
if [ "$docker_tests" = RAN ]; then
  echo "== all passed; Docker-backed tests (test images, addon, launch and image tests): RAN and passed"
else
  echo "== NOT RUN: the Docker-backed tests (test images, addon, launch and image tests): $why"
  if [ "${BOT_BOTTLE_REQUIRE_DOCKER_TESTS:-}" = 1 ]; then
    echo "== FAIL: BOT_BOTTLE_REQUIRE_DOCKER_TESTS=1 and the Docker-backed tests did not run" >&2
    exit 1
  fi
  echo "== everything else passed; the Docker-backed tests are NOT counted as passed"
fi
