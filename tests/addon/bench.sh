#!/usr/bin/env bash
# Benchmark of the addon chain vs direct requests (tests/addon/bench.py), inside the
# bot-bottle-test/mitmproxy image with --network none. Extra arguments go to bench.py
# (e.g. --seconds 5 --concurrency 8).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
flock /tmp/bot-bottle-image-build.lock bash "$repo/tests/images/build.sh" >/dev/null
# shellcheck disable=SC1091
. "$repo/target/test-images/images.env"
exec docker run --rm --network none --user 0 \
  --add-host allowed.test:127.0.0.1 --add-host denied.test:127.0.0.1 \
  --add-host other.allowed.test:127.0.0.1 --add-host bot-bottle-pipelock-addontest:127.0.0.1 \
  -v "$repo":/src:ro -e BOT_BOTTLE_REPO=/src -e PYTHONDONTWRITEBYTECODE=1 \
  "$BOT_BOTTLE_MITMPROXY_IMAGE" \
  /opt/mitmproxy/bin/python /src/tests/addon/bench.py "$@"
