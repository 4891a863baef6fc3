#!/usr/bin/env bash
# Benchmark of the addon chain vs direct requests (tests/addon/bench.py), inside the
# bot-bottle-test/mitmproxy image with --network none. Extra arguments go to bench.py
# (e.g. --seconds 5 --concurrency 8 --rounds 5 --rss). Compares the old addon
# (git show 34cddb8:nix/mitmproxy/bottle_verdict.py) with this tree's in the same run.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
flock /tmp/bot-bottle-image-build.lock bash "$repo/tests/images/build.sh" >/dev/null
# shellcheck disable=SC1091
. "$repo/target/test-images/images.env"
# The old addon (before issues 8-13) for the side-by-side rows; --no-old skips it.
old=()
if [ "${1:-}" = "--no-old" ]; then shift; else
  mkdir -p "$repo/target/addon-bench"
  git -C "$repo" show 34cddb8:nix/mitmproxy/bottle_verdict.py > "$repo/target/addon-bench/old_bottle_verdict.py"
  old=(--old /src/target/addon-bench/old_bottle_verdict.py)
fi
exec docker run --rm --network none --user 0 \
  --add-host allowed.test:127.0.0.1 --add-host denied.test:127.0.0.1 \
  --add-host other.allowed.test:127.0.0.1 --add-host bot-bottle-pipelock-addontest:127.0.0.1 \
  -v "$repo":/src:ro -e BOT_BOTTLE_REPO=/src -e PYTHONDONTWRITEBYTECODE=1 \
  "$BOT_BOTTLE_MITMPROXY_IMAGE" \
  /opt/mitmproxy/bin/python /src/tests/addon/bench.py "${old[@]}" "$@"
