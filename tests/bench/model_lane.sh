#!/usr/bin/env bash
# Benchmark of the model lane (issue 18), addon level: a Claude-Code-shaped /v1/messages
# conversation of 1 KB, 300 KB and 1 MB growing turn by turn, through mitmdump + the addon +
# pipelock to the fake Anthropic API, on the model lane (verdict cache on, and off) beside
# today's web lane (the web pipelock's body scan), all in the same run
# (tests/addon/model_lane_bench.py; inside the bot-bottle-test/mitmproxy image, --network none).
# Prints turn 1, the median of the later turns, and what each size adds over 1 KB per chain.
# Usage: bash tests/bench/model_lane.sh [--turns 5] [--rounds 3] [--check]
#        BOT_BOTTLE_ADDON_TEST_PIPELOCK=/path/to/pipelock bash tests/bench/model_lane.sh   (a real pipelock binary)
# Needs the Docker engine (run it under flock /tmp/bb-docker.lock on a shared machine).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
flock /tmp/bot-bottle-image-build.lock bash "$repo/tests/images/build.sh" >/dev/null
# shellcheck disable=SC1091
. "$repo/target/test-images/images.env"
real=()
if [ -n "${BOT_BOTTLE_ADDON_TEST_PIPELOCK:-}" ]; then
  real=(-v "$BOT_BOTTLE_ADDON_TEST_PIPELOCK":/opt/real-pipelock:ro -e BOT_BOTTLE_ADDON_TEST_PIPELOCK=/opt/real-pipelock)
fi
exec docker run --rm --network none --user 0 \
  --add-host api.anthropic.com:127.0.0.1 --add-host bot-bottle-pipelock-addontest:127.0.0.1 \
  --add-host bot-bottle-model-pl-addontest:127.0.0.1 \
  "${real[@]}" -v "$repo":/src:ro -e BOT_BOTTLE_REPO=/src -e PYTHONDONTWRITEBYTECODE=1 \
  "$BOT_BOTTLE_MITMPROXY_IMAGE" \
  /opt/mitmproxy/bin/python /src/tests/addon/model_lane_bench.py "$@"
