#!/usr/bin/env bash
# Checks of the Nix files that need no Nix build and no nixpkgs (no binary cache here):
#   1. `nix-instantiate --parse` of every .nix file of the repository;
#   2. evaluation of nix/*.nix and flake.nix against tests/nix/stub-pkgs.nix
#      (tests/nix/eval.nix), asserted by tests/nix/assertions.py against
#      nix/image-contract.json, the facts' pins and flake.lock.
# Needs nix-instantiate (Debian's nix-bin is enough) and python3; installs nothing.
# Runs in a throw-away HOME and Nix state directory, with a dummy store: nothing is
# written outside a temporary directory. Last line: `nix checks: N passed, M failed`.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
passed=0
failed=0

summary() {
  echo "nix checks: ${passed} passed, ${failed} failed"
}

for tool in nix-instantiate python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "FAIL $tool not found (CI installs nix-bin with apt)" >&2
    failed=$((failed + 1))
  fi
done
if [ "$failed" -ne 0 ]; then
  summary
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/home" "$tmp/state" "$tmp/log" "$tmp/conf" "$tmp/cache"
export HOME="$tmp/home"
export NIX_STATE_DIR="$tmp/state"
export NIX_LOG_DIR="$tmp/log"
export NIX_CONF_DIR="$tmp/conf" # ignore the machine's nix.conf
export XDG_CACHE_HOME="$tmp/cache"
export XDG_CONFIG_HOME="$tmp/conf"
unset NIX_PATH NIX_CONFIG NIX_REMOTE
# No store: paths are hashed, never written.
nixi=(nix-instantiate --store dummy://)

echo "== nix-instantiate: $(nix-instantiate --version)"
echo "== parse"
while IFS= read -r -d '' file; do
  rel="${file#"$root"/}"
  if out="$("${nixi[@]}" --parse "$file" 2>&1 >/dev/null)"; then
    echo "ok   parse $rel"
    passed=$((passed + 1))
  else
    echo "FAIL parse $rel: $out"
    failed=$((failed + 1))
  fi
done < <(find "$root" \( -name .git -o -name target -o -name result -o -name 'result-*' \) -prune \
  -o -name '*.nix' -type f -print0 | sort -z)

echo "== stub evaluation"
report="$tmp/report.json"
export BOT_BOTTLE_CHECK_ROOT="$root"
if "${nixi[@]}" --eval --strict --json -E '
  let root = /. + builtins.getEnv "BOT_BOTTLE_CHECK_ROOT";
  in import (root + "/tests/nix/eval.nix") { inherit root; }' >"$report" 2>"$tmp/eval.err"; then
  echo "ok   evaluate nix/*.nix and flake.nix against the stub pkgs"
  passed=$((passed + 1))
  if python3 "$root/tests/nix/assertions.py" "$report" "$root" >"$tmp/assert.out" 2>&1; then :; fi
  grep -v '^RESULT ' "$tmp/assert.out"
  if result="$(grep '^RESULT ' "$tmp/assert.out")"; then
    read -r _ p f <<<"$result"
    passed=$((passed + p))
    failed=$((failed + f))
  else
    echo "FAIL assertions.py did not finish"
    failed=$((failed + 1))
  fi
else
  echo "FAIL evaluate nix/*.nix and flake.nix against the stub pkgs:"
  sed 's/^/     /' "$tmp/eval.err"
  failed=$((failed + 1))
fi

summary
[ "$failed" -eq 0 ]
