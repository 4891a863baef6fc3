# Sourced by the benchmarks that run `bottle` (launch.sh, model_lane_bottle.sh), after
# their `set -euo pipefail`: the test images' variables (tests/images/build.sh), with the
# pipelock image BOT_BOTTLE_BENCH_PIPELOCK_IMAGE names (a real pipelock built by hand,
# docs/pipelock.md) in place of the test double when set; a release build; a hermetic user.
# Sets `repo`, `bottle` (the release binary) and `work` (a new temp directory, which the
# benchmark removes: HOME=$work/home and XDG_RUNTIME_DIR=$work/run, both made).
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bash "$repo/tests/images/build.sh" >/dev/null
set -a; . "$repo/target/test-images/images.env"; set +a
export BOT_BOTTLE_PIPELOCK_IMAGE=${BOT_BOTTLE_BENCH_PIPELOCK_IMAGE:-$BOT_BOTTLE_PIPELOCK_IMAGE}
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
bottle="$repo/target/release/bottle"
work=$(mktemp -d)
export HOME="$work/home" XDG_RUNTIME_DIR="$work/run"; mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
