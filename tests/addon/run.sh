#!/usr/bin/env bash
# Runs the mitmproxy addon tests inside the bot-bottle-test/mitmproxy image (real
# mitmdump 12.x, Python 3.13), with --network none: no route anywhere, everything on
# loopback. Also runs the pipelock test double's own tests. Extra arguments go to
# pytest (e.g. -k stream -x).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
flock /tmp/bot-bottle-image-build.lock bash "$repo/tests/images/build.sh"
# shellcheck disable=SC1091
. "$repo/target/test-images/images.env"
# BOT_BOTTLE_ADDON_TEST_PIPELOCK=/path/to/pipelock: run against that real pipelock binary
# (static, e.g. the hand-built v2.3.0) instead of the test double.
real=()
if [ -n "${BOT_BOTTLE_ADDON_TEST_PIPELOCK:-}" ]; then
  real=(-v "$BOT_BOTTLE_ADDON_TEST_PIPELOCK":/opt/real-pipelock:ro -e BOT_BOTTLE_ADDON_TEST_PIPELOCK=/opt/real-pipelock)
  echo "[addon-tests] pipelock: real binary $BOT_BOTTLE_ADDON_TEST_PIPELOCK"
fi
echo "[addon-tests] running pytest in $BOT_BOTTLE_MITMPROXY_IMAGE (--network none)"
exec docker run --rm --network none --user 0 \
  --add-host allowed.test:127.0.0.1 --add-host denied.test:127.0.0.1 \
  --add-host other.allowed.test:127.0.0.1 --add-host bot-bottle-pipelock-addontest:127.0.0.1 \
  --add-host api.anthropic.com:127.0.0.1 --add-host bot-bottle-model-pl-addontest:127.0.0.1 \
  "${real[@]}" -v "$repo":/src:ro -e BOT_BOTTLE_REPO=/src -e PYTHONDONTWRITEBYTECODE=1 \
  -w /src/tests/addon \
  "$BOT_BOTTLE_MITMPROXY_IMAGE" \
  /opt/mitmproxy/bin/pytest /src/tests/addon /src/tests/pipelock_double -p no:cacheprovider -q -rfE "$@"
