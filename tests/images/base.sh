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
rm -rf "$work"
mkdir -p "$work"
cleanup() {
  for m in proc dev/pts dev sys; do
    if mountpoint -q "$rootfs/$m" 2>/dev/null; then umount -l "$rootfs/$m" || true; fi
  done
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
umount -l "$rootfs/proc"

# Slim down: apt lists, docs, caches.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/tmp/* "$rootfs"/root/.cache

echo "[base] docker import $tag"
tar --numeric-owner -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  - "$tag" >/dev/null
cleanup
rm -rf "$work"
echo "[base] done: $tag"
