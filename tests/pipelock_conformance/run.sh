#!/usr/bin/env bash
# Runs the pipelock conformance suite (tests/pipelock_conformance/) against a pipelock image:
# by default the test double built from this checkout (BOT_BOTTLE_PIPELOCK_IMAGE in
# target/test-images/images.env, made by `flock /tmp/bot-bottle-image-build.lock bash
# tests/images/build.sh`); BOT_BOTTLE_PIPELOCK_CONFORMANCE_IMAGE=<image> points the same
# assertions at another image (a real pipelock built by hand: docs/pipelock.md).
#
# On one `bbconf-net-<run>` internal Docker network it starts the upstream server
# (upstream.py, a certificate signed now with the test CA key from target/test-images/ca/,
# network aliases for every test host) and the pytest client in a container of the test base
# image; the client starts one pipelock container per configuration through the Docker socket.
# Everything it creates is labelled bot-bottle-test=bbconf and bbconf.run=<run> and removed on
# exit. Extra arguments go to pytest (e.g. `-k ratelimit -x`).
# Knobs: BBCONF_STREAM_SECONDS (length of the long model stream, default 40),
#        BOT_BOTTLE_IMAGES_ENV (images.env to read), BBCONF_CA_DIR (dir with test-ca.{pem,key}).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
env_file=${BOT_BOTTLE_IMAGES_ENV:-$repo/target/test-images/images.env}
die() { echo "[pipelock-conformance] ERROR: $*" >&2; exit 2; }
[ -f "$env_file" ] || die "missing $env_file; build the test images first:
  flock /tmp/bot-bottle-image-build.lock bash tests/images/build.sh"
get() { sed -n "s/^$1=//p" "$env_file" | tail -n 1; }

image=${BOT_BOTTLE_PIPELOCK_CONFORMANCE_IMAGE:-$(get BOT_BOTTLE_PIPELOCK_IMAGE)}
base=$(get BOT_BOTTLE_TEST_BASE_IMAGE)
ca_pem=$(get BOT_BOTTLE_TEST_CA)
ca_dir=${BBCONF_CA_DIR:-$(dirname "$ca_pem")/ca}
[ -n "$image" ] && [ -n "$base" ] || die "images.env lacks BOT_BOTTLE_PIPELOCK_IMAGE or BOT_BOTTLE_TEST_BASE_IMAGE"
[ -s "$ca_dir/test-ca.pem" ] && [ -s "$ca_dir/test-ca.key" ] || die "no test CA in $ca_dir"
docker image inspect "$image" >/dev/null 2>&1 || die "image not found: $image"
docker image inspect "$base" >/dev/null 2>&1 || die "image not found: $base"

run_id="$(date +%s)-$$"
net="bbconf-net-$run_id"
up="bbconf-up-$run_id"
labels=(--label bot-bottle-test=bbconf --label "bbconf.run=$run_id")
work=$(mktemp -d "${TMPDIR:-/tmp}/bbconf.XXXXXX")

cleanup() {
  docker ps -aq --filter "label=bbconf.run=$run_id" | xargs -r docker rm -f >/dev/null 2>&1 || true
  docker network rm "$net" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

hosts=(allowed.test a.allowed.test b.a.allowed.test other.allowed.test denied.test
       notallowed.test internal.example api.anthropic.com statsig.anthropic.com)
sans=$(printf 'DNS:%s,' "${hosts[@]}")
openssl req -newkey rsa:2048 -nodes -keyout "$work/up.key" -out "$work/up.csr" \
  -subj /CN=allowed.test 2>/dev/null
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
  "extendedKeyUsage=serverAuth" "subjectAltName=${sans%,}" > "$work/ext.cnf"
openssl x509 -req -in "$work/up.csr" -CA "$ca_dir/test-ca.pem" -CAkey "$ca_dir/test-ca.key" \
  -CAcreateserial -CAserial "$work/ca.srl" -out "$work/up.pem" -days 2 \
  -extfile "$work/ext.cnf" 2>/dev/null
cp "$ca_dir/test-ca.pem" "$work/test-ca.pem"
chmod 755 "$work"; chmod 644 "$work"/*

echo "[pipelock-conformance] image under test: $image (run $run_id)"
docker network create --internal "${labels[@]}" "$net" >/dev/null
aliases=()
for h in "${hosts[@]}"; do aliases+=(--network-alias "$h"); done
docker run -d --name "$up" "${labels[@]}" --network "$net" "${aliases[@]}" \
  -v "$here:/conf:ro" -v "$work:/certs:ro" "$base" \
  python3 /conf/upstream.py --cert /certs/up.pem --key /certs/up.key >/dev/null

set +e
docker run --rm --name "bbconf-client-$run_id" "${labels[@]}" --network "$net" \
  -v /var/run/docker.sock:/var/run/docker.sock -v "$here:/conf:ro" -v "$work:/ca:ro" \
  -e BBCONF_IMAGE="$image" -e BBCONF_NETWORK="$net" -e BBCONF_RUN="$run_id" \
  -e BBCONF_CONTROL="http://$up:9000" -e BBCONF_CA=/ca/test-ca.pem \
  -e BBCONF_STREAM_SECONDS="${BBCONF_STREAM_SECONDS:-40}" -e PYTHONDONTWRITEBYTECODE=1 \
  -w /conf "$base" /opt/mitmproxy/bin/python -m pytest -p no:cacheprovider -q -rfE "$@"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  echo "[pipelock-conformance] upstream log:" >&2
  docker logs --tail 20 "$up" >&2 || true
fi
exit "$rc"
