#!/usr/bin/env bash
# Builds the Debian trixie base rootfs for the local test images and imports it into
# Docker as "$1" (e.g. bot-bottle-test/base:<hash>). Called by build.sh only when that
# tag does not exist yet; the tag's hash covers this file, so editing it rebuilds.
#
# Needs (host): debootstrap, docker, network access to deb.debian.org and PyPI.
set -euo pipefail

tag="$1"
work="$2"          # scratch dir, removed afterwards
mirror="${BOT_BOTTLE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

# Debian packages every test image may need. python3-requests is for the agent image.
packages=(
  python3 python3-venv python3-requests
  curl openssl ca-certificates git nodejs
  iproute2 procps bind9-dnsutils netcat-openbsd
  passwd
)
# Python packages, installed in a venv at /opt/mitmproxy (Python 3.13 from trixie).
# mitmproxy: the newest 12.x that PyPI serves.
pip_reqs=(
  'mitmproxy>=12,<13'
  'pytest>=8,<9'
  'httpx[http2]>=0.27,<1'
  'h2>=4,<5'
  'websockets>=13,<16'
)

rootfs="$work/rootfs"
die() { echo "[base] ERROR: $*" >&2; exit 1; }

# Mount points at or under $1, from /proc/self/mountinfo (field 5, octal-escaped).
mounts_under() {
  local root
  root=$(realpath -m "$1")
  awk -v r="$root" '{ mp = $5; gsub(/\\040/, " ", mp); if (mp == r || index(mp, r "/") == 1) print mp }' \
    /proc/self/mountinfo
}
# Unmounts everything under $1, deepest first, for real. Never lazily: `umount -l`
# reports success while the mount is still busy (and while copies of it propagated to
# other mount namespaces stay), so nothing proves the tree is free. Retries a busy mount
# a few times; returns 1 and names what is still mounted if it cannot.
unmount_all() {
  local attempt mp left
  for attempt in 1 2 3 4 5; do
    left=$(mounts_under "$1" | sort -r)
    [ -z "$left" ] && return 0
    while IFS= read -r mp; do umount "$mp" 2>/dev/null || true; done <<< "$left"
    [ -z "$(mounts_under "$1")" ] && return 0
    sleep "$attempt"
  done
  echo "[base] ERROR: still mounted under $1 (not removed, not archived):" >&2
  mounts_under "$1" | sed 's/^/[base]   /' >&2
  return 1
}
# rm -rf only when nothing is mounted below (rm -rf through a mounted /dev or /proc
# would delete or walk the host's).
remove_tree() {
  [ -e "$1" ] || return 0
  unmount_all "$1" || die "refusing to remove $1 while something is mounted in it"
  rm -rf --one-file-system "$1"
}

case "$work" in /*) ;; *) die "work dir must be absolute: $work" ;; esac
case "$work" in *[[:space:]]*) die "work dir must not contain whitespace: $work" ;; esac
remove_tree "$work"
mkdir -p "$work"
# On failure: unmount for real, then drop the rootfs (keep the logs in $work).
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    if unmount_all "$rootfs"; then rm -rf --one-file-system "$rootfs"; fi
  fi
}
trap cleanup EXIT

echo "[base] debootstrap trixie (minbase) into $rootfs"
inc=$(IFS=,; echo "${packages[*]}")
debootstrap --variant=minbase --include="$inc" trixie "$rootfs" "$mirror" \
  > "$work/debootstrap.log" 2>&1 || { tail -40 "$work/debootstrap.log"; echo "[base] debootstrap FAILED" >&2; exit 1; }

echo "[base] python venv + pip install into /opt/mitmproxy"
mount -t proc proc "$rootfs/proc"
# Temporary network plumbing for pip inside the chroot; removed below.
rm -f "$rootfs/etc/resolv.conf"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/tmp/host-ca.crt"
chroot "$rootfs" /usr/bin/python3 -m venv /opt/mitmproxy
# Clean environment: the host's PIP_*/SSL_* variables point at host paths.
chroot "$rootfs" env -i PATH=/usr/bin:/bin HOME=/root \
  SSL_CERT_FILE=/tmp/host-ca.crt PIP_CERT=/tmp/host-ca.crt \
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_DEFAULT_TIMEOUT=120 \
  ${PIP_INDEX_URL:+PIP_INDEX_URL="$PIP_INDEX_URL"} \
  /opt/mitmproxy/bin/pip install -q "${pip_reqs[@]}"
chroot "$rootfs" /opt/mitmproxy/bin/pip freeze > "$work/freeze.txt"
grep -i '^mitmproxy==' "$work/freeze.txt"
# No host residue: Docker provides resolv.conf, hostname and hosts at run time.
rm -f "$rootfs/tmp/host-ca.crt" "$rootfs/etc/resolv.conf"
: > "$rootfs/etc/resolv.conf"
echo localhost > "$rootfs/etc/hostname"
cp "$work/freeze.txt" "$rootfs/opt/mitmproxy/freeze.txt"
umount "$rootfs/proc" || die "could not unmount $rootfs/proc"

# Slim down: apt lists, docs, caches.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/tmp/* "$rootfs"/root/.cache

# Never archive a mounted /proc (or anything else mounted in the rootfs).
unmount_all "$rootfs" || die "something is still mounted in $rootfs"
left=$(mounts_under "$rootfs")
[ -z "$left" ] || die "refusing to archive $rootfs: mount points inside: $left"

echo "[base] docker import $tag"
tar --one-file-system --numeric-owner -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  - "$tag" >/dev/null
remove_tree "$work"
echo "[base] done: $tag"
