#!/usr/bin/env bash
# Benchmark: warm `bottle run agent -- true`, split by phase, beside a plain shell script
# doing the same docker operations one after another (the floor), in the same run.
# Usage: bash tests/bench/launch.sh [RUNS]   (default 5; needs the Docker engine)
# Prints a table of medians in seconds. Uses the local test images (tests/images/build.sh).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runs=${1:-5}
bash "$repo/tests/images/build.sh" >/dev/null
set -a; . "$repo/target/test-images/images.env"; set +a
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
bottle="$repo/target/release/bottle"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
export HOME="$work/home"; mkdir -p "$HOME"
now() { date +%s.%N; }

# --- bottle: phases from its own progress lines (elapsed seconds since start) ---------
for i in $(seq "$runs"); do
  t0=$(now)
  "$bottle" run agent -- true 2>"$work/bottle-$i.err"
  t1=$(now)
  echo "total $(echo "$t1 - $t0" | bc)" >>"$work/bottle-$i.err"
done

# --- floor: the same docker operations in a plain script ------------------------------
"$bottle" plan agent --json | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["pipelock"]["config"]))' >"$work/pipelock.yaml"
chmod 644 "$work/pipelock.yaml"
floor() {
  local s=floor$RANDOM t0 t1 t2 t3 t4 t5 t6
  t0=$(now)
  docker network create --internal "n-$s" >/dev/null
  docker network create --internal "p-$s" >/dev/null
  docker network create "e-$s" >/dev/null
  t1=$(now)
  docker create --name "pl-$s" --network "p-$s" --user 1000:1000 "$BOT_BOTTLE_PIPELOCK_IMAGE" \
    pipelock run --config /etc/pipelock/pipelock.yaml --listen 0.0.0.0:8888 >/dev/null
  docker cp "$work/pipelock.yaml" "pl-$s:/etc/pipelock/pipelock.yaml"
  docker network connect "e-$s" "pl-$s"
  docker start "pl-$s" >/dev/null
  docker create --name "m-$s" --network "n-$s" --user 1000:1000 "$BOT_BOTTLE_MITMPROXY_IMAGE" \
    mitmdump --listen-host 0.0.0.0 --listen-port 8080 -s /opt/bot-bottle/bottle_verdict.py \
    --set confdir=/home/mitmproxy/.mitmproxy --set connection_strategy=lazy --set upstream_cert=false \
    --set "bottle_pipelock=pl-$s:8888" >/dev/null
  docker network connect "p-$s" "m-$s"
  docker start "m-$s" >/dev/null
  until docker exec "pl-$s" pipelock healthcheck --addr 127.0.0.1:8888 >/dev/null 2>&1; do sleep 0.1; done
  until docker cp "m-$s:/home/mitmproxy/.mitmproxy/mitmproxy-ca-cert.pem" "$work/ca-$s.pem" 2>/dev/null; do sleep 0.1; done
  t2=$(now)
  docker run -d --name "a-$s" --network "n-$s" --user 1000:1000 -e "HTTPS_PROXY=http://m-$s:8080" \
    "$BOT_BOTTLE_AGENT_IMAGE" sleep infinity >/dev/null
  t3=$(now)
  docker exec -i --user 0 "a-$s" sh -c 'mkdir -p /etc/bot-bottle && cat > /etc/bot-bottle/mitm-ca.pem' <"$work/ca-$s.pem"
  t4=$(now)
  docker exec -i "a-$s" true
  t5=$(now)
  docker rm -f "a-$s" "m-$s" "pl-$s" >/dev/null
  docker network rm "e-$s" "p-$s" "n-$s" >/dev/null
  t6=$(now)
  printf 'networks %s\nsidecars %s\nagent %s\nprovision %s\nattach %s\nteardown %s\ntotal %s\n' \
    "$(echo "$t1-$t0" | bc)" "$(echo "$t2-$t1" | bc)" "$(echo "$t3-$t2" | bc)" \
    "$(echo "$t4-$t3" | bc)" "$(echo "$t5-$t4" | bc)" "$(echo "$t6-$t5" | bc)" "$(echo "$t6-$t0" | bc)"
}
for i in $(seq "$runs"); do floor >"$work/floor-$i.txt"; done

python3 - "$work" "$runs" <<'PY'
import re, statistics, sys, pathlib
work, runs = pathlib.Path(sys.argv[1]), int(sys.argv[2])
def bottle_phases(text):
    stamp = {}
    for line in text.splitlines():
        m = re.search(r"\((\d+\.\d+)s\)$", line)
        if not m:
            continue
        for key, pat in [("images", "[1/7] images"), ("networks", "[2/7] networks"),
                         ("sidecars", "[3/7] pipelock and"), ("agent", "[4/7] agent"),
                         ("provision", "[5/7] provision ca"), ("attach", "[6/7] attach"),
                         ("end", "[7/7] teardown")]:
            if pat in line and key not in stamp:
                stamp[key] = float(m.group(1))
        t = re.search(r"undo step\(s\) done in (\d+\.\d+)s", line)
        if t:
            stamp["teardown"] = float(t.group(1))
    total = float(re.search(r"^total (\S+)", text, re.M).group(1))
    return {
        "images": stamp["networks"] - stamp["images"],
        "networks": stamp["sidecars"] - stamp["networks"],
        "sidecars": stamp["agent"] - stamp["sidecars"],
        "agent": stamp["provision"] - stamp["agent"],
        "provision": stamp["attach"] - stamp["provision"],
        "attach": stamp["end"] - stamp["attach"],
        "teardown": stamp["teardown"],
        "total": total,
    }
b = [bottle_phases((work / f"bottle-{i}.err").read_text()) for i in range(1, runs + 1)]
f = [dict((k, float(v)) for k, v in (l.split() for l in (work / f"floor-{i}.txt").read_text().splitlines()))
     for i in range(1, runs + 1)]
print(f"warm `bottle run agent -- true`: median of {runs} runs, seconds")
print(f"{'phase':<10} {'bottle':>8} {'shell floor':>12}")
for p in ["images", "networks", "sidecars", "agent", "provision", "attach", "teardown", "total"]:
    fl = f"{statistics.median(x[p] for x in f):>12.2f}" if p in f[0] else f"{'-':>12}"
    print(f"{p:<10} {statistics.median(x[p] for x in b):>8.2f} {fl}")
PY
