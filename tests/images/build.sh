#!/usr/bin/env bash
# Builds bot-bottle's local test images without any container registry:
#   bot-bottle-test/base:<h>             debootstrapped Debian trixie (tests/images/base.sh)
#   bot-bottle-test/mitmproxy:<h>        contract "mitmproxy" + the addon (nix/mitmproxy/: bottle_verdict.py,
#                                        mitm_patches.py, bot_bottle_addon/)
#   bot-bottle-test/pipelock-double:<h>  contract "pipelock" with the pipelock test double
#   bot-bottle-test/agent:<h>            contract "agent"
#   bot-bottle-test/origin:<h>           the fake internet (tests/images/origin/)
#   bot-bottle-test/claude-agent:<h>     agent + the real Claude Code CLI (pinned wheel)
# Each <h> is a content hash of everything that goes into the image (this script, the
# base, the Dockerfile, the contract, the copied files); an image whose tag exists is not
# rebuilt, so a rerun takes seconds. Writes target/test-images/images.env and the test CA
# (target/test-images/test-ca.pem). Needs: bash, docker, debootstrap, openssl, python3,
# sha256sum, flock, and network access to deb.debian.org and PyPI for the first (base)
# build and the first Claude wheel download (python3 -m pip; cached in target/).
#
# One build at a time per machine: the script takes an exclusive flock on
# $BOT_BOTTLE_IMAGE_BUILD_LOCK (default /tmp/bot-bottle-image-build.lock) before it looks
# at any image, so a second caller waits and then finds the images cached. Called as
# `flock /tmp/bot-bottle-image-build.lock bash build.sh` it reuses the descriptor flock(1)
# hands down (same lock, no self-deadlock; do not use flock -o/--close for that).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$repo/tests/images"
out="$repo/target/test-images"
contract="$repo/nix/image-contract.json"
mkdir -p "$out"

say() { echo "[test-images] $*"; }
die() { echo "[test-images] ERROR: $*" >&2; exit 1; }
for tool in docker openssl python3 sha256sum flock; do
  command -v "$tool" >/dev/null || die "missing tool: $tool"
done
docker info >/dev/null 2>&1 || die "docker daemon not reachable"

# ---- 0. the machine-wide image-build lock ------------------------------------------
lock="${BOT_BOTTLE_IMAGE_BUILD_LOCK:-/tmp/bot-bottle-image-build.lock}"
lock_real=$(realpath -m "$lock")
lockfd=
for fd in /proc/$$/fd/*; do  # inherited from `flock LOCK build.sh`?
  if [ "$(readlink "$fd" 2>/dev/null)" = "$lock_real" ]; then lockfd=${fd##*/}; break; fi
done
if [ -z "$lockfd" ]; then
  exec {lockfd}>>"$lock" 2>/dev/null || exec {lockfd}<"$lock" || die "cannot open lock file $lock"
fi
if ! flock -n "$lockfd"; then
  say "waiting for the image-build lock $lock (another build is running)"
  t0=$(date +%s)
  flock "$lockfd"
  say "got the lock after $(( $(date +%s) - t0 ))s"
fi

# Hash of files (names relative to their dir + contents).
hash_files() {
  local f
  for f in "$@"; do printf '%s\0' "$(basename "$f")"; cat "$f"; printf '\0'; done | sha256sum | cut -c1-16
}
# Hash of every file under a directory (paths relative to it + contents).
hash_tree() {
  local f
  (cd "$1" && find . -type f -print0 | sort -z | while IFS= read -r -d '' f; do
    printf '%s\0' "$f"; cat "$f"; printf '\0'; done) | sha256sum | cut -c1-16
}
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# ---- 1. base ---------------------------------------------------------------------------
base_hash=$(hash_files "$here/base.sh")
base_tag="bot-bottle-test/base:$base_hash"
if image_exists "$base_tag"; then
  say "base: cached $base_tag"
else
  command -v debootstrap >/dev/null || die "missing tool: debootstrap (apt-get install debootstrap)"
  say "base: building $base_tag (debootstrap + pip; a few minutes)"
  t0=$(date +%s)
  bash "$here/base.sh" "$base_tag" "$out/base-work" || die "base image build failed"
  say "base: built in $(( $(date +%s) - t0 ))s"
fi

# ---- 2. test CA and origin certificate (kept in target/) ----------------------------
# The CA is generated once and kept unless one of its files is missing (the pipelock
# images trust it). The origin's leaf is regenerated whenever the SAN list below changes
# or the leaf is not signed by the current CA.
ca_dir="$out/ca"
origin_sans=(
  allowed.test denied.test other.allowed.test plain.test
  api.anthropic.com statsig.anthropic.com git.allowed.test localhost
)
san_ext="subjectAltName=$(printf 'DNS:%s,' "${origin_sans[@]}")IP:127.0.0.1"
mkdir -p "$ca_dir"
if [ ! -s "$ca_dir/test-ca.pem" ] || [ ! -s "$ca_dir/test-ca.key" ]; then
  say "test CA: generating in $ca_dir"
  rm -f "$ca_dir"/*
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$ca_dir/test-ca.key" -out "$ca_dir/test-ca.pem" \
    -days 3650 -subj "/CN=bot-bottle test fake-internet CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>/dev/null || die "test CA generation failed"
fi
if [ ! -s "$ca_dir/origin.pem" ] || [ ! -s "$ca_dir/origin.key" ] \
   || [ "$(cat "$ca_dir/origin.san" 2>/dev/null)" != "$san_ext" ] \
   || ! openssl verify -CAfile "$ca_dir/test-ca.pem" "$ca_dir/origin.pem" >/dev/null 2>&1; then
  say "origin certificate: generating ($san_ext)"
  (
    cd "$ca_dir"
    rm -f origin.pem origin.key origin.san
    openssl req -newkey rsa:2048 -nodes -keyout origin.key -out origin.csr \
      -subj "/CN=allowed.test" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" "$san_ext" > ext.cnf
    openssl x509 -req -in origin.csr -CA test-ca.pem -CAkey test-ca.key -CAcreateserial \
      -out origin.pem -days 3650 -extfile ext.cnf 2>/dev/null
    rm -f origin.csr ext.cnf test-ca.srl
    printf '%s\n' "$san_ext" > origin.san
  ) || die "origin certificate generation failed"
fi
chmod 644 "$ca_dir"/*.key
cp "$ca_dir/test-ca.pem" "$out/test-ca.pem"

# ---- 3. derived images ---------------------------------------------------------------
contract_cmd() {  # $1 = section; prints the command as a JSON array
  python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[sys.argv[2]]["command"]))' "$contract" "$1"
}

build_image() {  # name cmd_json files-or-python-package-dirs...
  local name="$1" cmd="$2"; shift 2
  local ctx="$out/ctx/$name"
  rm -rf "$ctx"; mkdir -p "$ctx"
  local f
  for f in "$@"; do
    if [ -d "$f" ]; then  # a Python package: its .py files only (no __pycache__)
      (cd "$(dirname "$f")" && find "$(basename "$f")" -name '*.py' -print0 | xargs -0 cp --parents -t "$ctx")
    else
      cp "$f" "$ctx/"
    fi
  done
  if [ -n "$cmd" ]; then
    sed "s|@CMD@|$cmd|" "$here/$name/Dockerfile" > "$ctx/Dockerfile"
  else
    cp "$here/$name/Dockerfile" "$ctx/Dockerfile"
  fi
  local h
  h=$( { echo "$base_tag"; hash_files "${BASH_SOURCE[0]}"; hash_tree "$ctx"; } | sha256sum | cut -c1-16)
  local tag="bot-bottle-test/$name:$h"
  if image_exists "$tag"; then
    say "$name: cached $tag"
  else
    say "$name: building $tag"
    docker build -q --build-arg BASE="$base_tag" -t "$tag" "$ctx" >"$out/build-$name.log" 2>&1 \
      || { cat "$out/build-$name.log" >&2; die "docker build of $name failed"; }
  fi
  eval "tag_$(echo "$name" | tr - _)=\$tag"
}

build_image mitmproxy "$(contract_cmd mitmproxy)" "$repo/nix/mitmproxy/bottle_verdict.py" \
  "$repo/nix/mitmproxy/mitm_patches.py" "$repo/nix/mitmproxy/bot_bottle_addon"
build_image pipelock-double "$(contract_cmd pipelock)" "$repo/tests/pipelock_double/pipelock_double.py" "$ca_dir/test-ca.pem"
build_image agent "$(contract_cmd agent)"
build_image origin "" "$here/origin/origin.py" "$here/origin/fake_anthropic.py" \
  "$here/origin/git_server.py" "$ca_dir/origin.pem" "$ca_dir/origin.key"

# ---- 4. the agent with the real Claude Code CLI -----------------------------------------
# PyPI's claude-agent-sdk manylinux x86_64 wheel carries the CLI as one executable,
# claude_agent_sdk/_bundled/claude. Pinned by version AND sha256 (pip checks the hash;
# so does this script, before and after). The wheel is cached in target/test-images/cache
# and reused; the image tag hashes the pin, not the 400 MB binary.
claude_sdk_version=0.2.189           # carries Claude Code 2.1.332
claude_wheel=claude_agent_sdk-0.2.189-py3-none-manylinux_2_17_x86_64.whl
claude_wheel_sha256=b26a6a30a4e2cb025a6f5c95e1ce4469b38fcc51015c392f627bea7c948d67ad
claude_member=claude_agent_sdk/_bundled/claude
wheel_ok() { [ -s "$1" ] && echo "$claude_wheel_sha256  $1" | sha256sum -c --quiet >/dev/null 2>&1; }
claude_h=$( { echo "$tag_agent"; hash_files "${BASH_SOURCE[0]}" "$here/claude-agent/Dockerfile"
             echo "$claude_wheel $claude_wheel_sha256 $claude_member"; } | sha256sum | cut -c1-16)
tag_claude_agent="bot-bottle-test/claude-agent:$claude_h"
if image_exists "$tag_claude_agent"; then
  say "claude-agent: cached $tag_claude_agent"
else
  cache="$out/cache"
  wheel="$cache/$claude_wheel"
  mkdir -p "$cache"
  if ! wheel_ok "$wheel"; then
    say "claude-agent: downloading $claude_wheel (~178 MB, pinned sha256)"
    rm -rf "$cache/dl"; mkdir -p "$cache/dl"
    printf 'claude-agent-sdk==%s --hash=sha256:%s\n' "$claude_sdk_version" "$claude_wheel_sha256" \
      > "$cache/dl/requirements.txt"
    python3 -m pip download -q --no-deps --require-hashes --only-binary=:all: \
      --platform manylinux_2_17_x86_64 --python-version 3.13 \
      -r "$cache/dl/requirements.txt" -d "$cache/dl" \
      || die "pip download of claude-agent-sdk==$claude_sdk_version failed (needs python3 -m pip and PyPI; or put $claude_wheel into $cache)"
    wheel_ok "$cache/dl/$claude_wheel" || die "downloaded wheel does not match the pinned sha256"
    mv "$cache/dl/$claude_wheel" "$wheel"
    rm -rf "$cache/dl"
  fi
  wheel_ok "$wheel" || die "cached wheel $wheel does not match the pinned sha256"
  say "claude-agent: building $tag_claude_agent"
  t0=$(date +%s)
  ctx="$out/ctx/claude-agent"
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp "$here/claude-agent/Dockerfile" "$ctx/Dockerfile"
  python3 - "$wheel" "$claude_member" "$ctx/claude" <<'PY' || die "extracting $claude_member failed"
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
  chmod 755 "$ctx/claude"   # COPY keeps the mode: no second 400 MB layer for a chmod
  docker build -q --build-arg AGENT="$tag_agent" -t "$tag_claude_agent" "$ctx" \
    >"$out/build-claude-agent.log" 2>&1 \
    || { rm -rf "$ctx"; cat "$out/build-claude-agent.log" >&2; die "docker build of claude-agent failed"; }
  rm -rf "$ctx"
  say "claude-agent: built in $(( $(date +%s) - t0 ))s"
fi

# ---- 5. images.env --------------------------------------------------------------------
cat > "$out/images.env.tmp" <<ENV
BOT_BOTTLE_AGENT_IMAGE=$tag_agent
BOT_BOTTLE_PIPELOCK_IMAGE=$tag_pipelock_double
BOT_BOTTLE_MITMPROXY_IMAGE=$tag_mitmproxy
BOT_BOTTLE_TEST_ORIGIN_IMAGE=$tag_origin
BOT_BOTTLE_TEST_BASE_IMAGE=$base_tag
BOT_BOTTLE_TEST_CLAUDE_AGENT_IMAGE=$tag_claude_agent
BOT_BOTTLE_TEST_CA=$out/test-ca.pem
ENV
mv "$out/images.env.tmp" "$out/images.env"
say "wrote $out/images.env"
cat "$out/images.env"
