#!/usr/bin/env bash
# Runs the host tests of the addon's pure package (tests/addon_unit/): plain pytest on the
# host's Python (3.11 or newer), no mitmproxy, no Docker, well under a second. tests/run.sh
# runs it right after `cargo test`. Extra arguments go to pytest (e.g. -k dlp -x).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The first python3 that has pytest and is 3.11+: the one on PATH, else the system's
# (Debian's python3-pytest installs there; a python3 earlier on PATH, e.g. pyenv's, may lack it).
py=
for cand in python3 /usr/bin/python3; do
  if "$cand" -c 'import sys, pytest; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
    py=$cand
    break
  fi
done
if [ -z "$py" ]; then
  echo "tests/addon_unit: no python3 (3.11 or newer) with pytest; on Debian: apt-get install python3-pytest" >&2
  exit 1
fi
cd "$repo"
PYTHONDONTWRITEBYTECODE=1 exec "$py" -m pytest tests/addon_unit -p no:cacheprovider -q -rfE "$@"
