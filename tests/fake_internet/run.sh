#!/usr/bin/env bash
# Tests of the fake internet itself (tests/images/origin/: the generic hosts, the fake
# Anthropic API, the git smart-HTTP host, the certificate). The origin runs from the
# built bot-bottle-test/origin image (its own certificate, CMD and git) in one container,
# pytest in another (the base image: Python 3.13 venv with pytest + httpx, git, curl,
# mitmdump), both on an internal Docker network of their own where the origin answers
# under every fake host name. Extra arguments go to pytest (e.g. -k git -x).
# Containers and network: bbimg-fi-<pid>-*, label bot-bottle-test=bbimg-; removed on exit.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bash "$repo/tests/images/build.sh" >/dev/null
# shellcheck disable=SC1091
. "$repo/target/test-images/images.env"

hosts=(allowed.test denied.test other.allowed.test plain.test
       api.anthropic.com statsig.anthropic.com git.allowed.test)
name="bbimg-fi-$$"
cleanup() {
  docker rm -f "$name-origin" "$name-client" >/dev/null 2>&1 || true
  docker network rm "$name" >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM
cleanup

docker network create --internal --label bot-bottle-test=bbimg- "$name" >/dev/null
aliases=()
for h in "${hosts[@]}"; do aliases+=(--network-alias "$h"); done
# A starting config, so the tests can see ORIGIN_CONFIG applied and DELETE /__config
# return to it.
docker run -d --name "$name-origin" --label bot-bottle-test=bbimg- --network "$name" \
  "${aliases[@]}" -e ORIGIN_CONFIG='{"git": {"username": "x-access-token"}}' \
  "$BOT_BOTTLE_TEST_ORIGIN_IMAGE" >/dev/null
for _ in $(seq 1 100); do
  docker logs "$name-origin" 2>&1 | grep -q '"listening"' && break
  sleep 0.1
done

echo "[fake-internet-tests] origin $BOT_BOTTLE_TEST_ORIGIN_IMAGE, pytest in $BOT_BOTTLE_TEST_BASE_IMAGE"
set +e
docker run --rm --name "$name-client" --label bot-bottle-test=bbimg- --network "$name" \
  -v "$repo":/src:ro -v "$BOT_BOTTLE_TEST_CA":/ca/test-ca.pem:ro \
  -e BOT_BOTTLE_REPO=/src -e BOT_BOTTLE_TEST_CA=/ca/test-ca.pem -e PYTHONDONTWRITEBYTECODE=1 \
  -e FAKE_INTERNET_HOSTS="${hosts[*]}" \
  -w /src/tests/fake_internet \
  "$BOT_BOTTLE_TEST_BASE_IMAGE" \
  /opt/mitmproxy/bin/pytest /src/tests/fake_internet -p no:cacheprovider -q -rfE "$@"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  echo "[fake-internet-tests] origin log:" >&2
  docker logs --tail 50 "$name-origin" >&2 || true
fi
exit "$rc"
