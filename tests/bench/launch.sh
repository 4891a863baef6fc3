#!/usr/bin/env bash
# Benchmark (issue 13): warm `bottle run agent -- <print the time>`, split by phase, beside
# (1) a plain shell script doing the same docker operations one after another (the
# floor) and (2) each sidecar started alone (start to ready: pipelock answers /health,
# mitmproxy, given a CA as bottle gives it, listens: the addon's ready file), all in the
# same run; then the bottle's idle resident
# memory per container (docker stats) and the sidecars' total.
# Usage: bash tests/bench/launch.sh [RUNS]   (default 5; needs the Docker engine)
#        BOT_BOTTLE_BENCH_PIPELOCK_IMAGE=<image> bash tests/bench/launch.sh [RUNS]
# Prints medians in seconds. Uses the local test images (tests/images/build.sh).
# Phases are read from bottle's own progress lines (`[n/N] title (elapsed)`), whatever
# the plan's order; "launch" is from starting bottle to the agent's command running.
set -euo pipefail
runs=${1:-5}
# The images (BOT_BOTTLE_BENCH_PIPELOCK_IMAGE=<image>: measure with that pipelock instead of
# the test double, everywhere in this script), $bottle, and $work as HOME.
. "$(dirname "${BASH_SOURCE[0]}")/bottle_env.sh"
prefix=bbbench$$
cleanup() {
  docker ps -aq --filter "label=bot-bottle-test=$prefix" | xargs -r docker rm -f >/dev/null 2>&1 || true
  docker network ls -q --filter "label=bot-bottle-test=$prefix" | xargs -r docker network rm >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }

# --- bottle: phases from its own progress lines, the command's start from inside -------
for i in $(seq "$runs"); do
  t0=$(now)
  "$bottle" run agent -- date +%s.%N >"$work/bottle-$i.out" 2>"$work/bottle-$i.err"
  t1=$(now)
  printf 'start %s\nend %s\n' "$t0" "$t1" >"$work/bottle-$i.wall"
done

# --- floor: the same docker operations in a plain script ------------------------------
"$bottle" plan agent --json >"$work/plan.json"
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["pipelock"]["config"]))' "$work/plan.json" >"$work/pipelock.yaml"
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["model_pipelock"]["config"]))' "$work/plan.json" >"$work/model-pipelock.yaml"
chmod 644 "$work/pipelock.yaml" "$work/model-pipelock.yaml"
label=(--label "bot-bottle-test=$prefix")
# A CA as bottle makes one (ECDSA P-256), passed to mitmproxy by name as bottle passes it.
openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkcs8 -topk8 -nocrypt >"$work/ca-key.pem"
openssl req -x509 -new -key "$work/ca-key.pem" -subj "/CN=bench CA" -days 2 \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign >"$work/ca-cert.pem"
BOT_BOTTLE_MITM_CA=$(cat "$work/ca-key.pem" "$work/ca-cert.pem"); export BOT_BOTTLE_MITM_CA
mitm_wrap=(sh -c 'umask 077 && printf "%s" "$BOT_BOTTLE_MITM_CA" > /home/mitmproxy/.mitmproxy/mitmproxy-ca.pem && unset BOT_BOTTLE_MITM_CA && exec "$@"' x)
mitm_ready=/home/mitmproxy/.mitmproxy/bot-bottle-ready
mitm_cmd=(mitmdump --listen-host 0.0.0.0 --listen-port 8080 -s /opt/bot-bottle/bottle_verdict.py
  --set confdir=/home/mitmproxy/.mitmproxy --set connection_strategy=lazy --set upstream_cert=false)
floor() {
  # The plan's docker operations (`bottle plan agent`), one after another.
  local s=$prefix-$RANDOM t0 t1 t2 t3 t4 t5 t6 ip
  t0=$(now)
  docker network create "${label[@]}" --internal "n-$s" >/dev/null
  docker network create "${label[@]}" --internal "p-$s" >/dev/null
  docker network create "${label[@]}" "e-$s" >/dev/null
  t1=$(now)
  docker run -d "${label[@]}" --name "pl-$s" --network "p-$s" --user 1000:1000 --read-only \
    --tmpfs /etc/pipelock:uid=1000,gid=1000,mode=0700 --tmpfs /tmp "$BOT_BOTTLE_PIPELOCK_IMAGE" \
    sh -c 'printf "%s" "$1" > /etc/pipelock/pipelock.yaml && shift && exec "$@"' x "$(cat "$work/pipelock.yaml")" \
    pipelock run --config /etc/pipelock/pipelock.yaml --listen 0.0.0.0:8888 >/dev/null
  docker network connect "e-$s" "pl-$s"
  until docker exec "pl-$s" pipelock healthcheck --addr 127.0.0.1:8888 >/dev/null 2>&1; do sleep 0.1; done
  # The model lane's pipelock: the same image with its own config.
  docker run -d "${label[@]}" --name "mpl-$s" --network "p-$s" --user 1000:1000 --read-only \
    --tmpfs /etc/pipelock:uid=1000,gid=1000,mode=0700 --tmpfs /tmp "$BOT_BOTTLE_PIPELOCK_IMAGE" \
    sh -c 'printf "%s" "$1" > /etc/pipelock/pipelock.yaml && shift && exec "$@"' x "$(cat "$work/model-pipelock.yaml")" \
    pipelock run --config /etc/pipelock/pipelock.yaml --listen 0.0.0.0:8888 >/dev/null
  docker network connect "e-$s" "mpl-$s"
  until docker exec "mpl-$s" pipelock healthcheck --addr 127.0.0.1:8888 >/dev/null 2>&1; do sleep 0.1; done
  docker run -d "${label[@]}" --name "m-$s" --network "n-$s" --user 1000:1000 --read-only \
    --tmpfs /home/mitmproxy/.mitmproxy:uid=1000,gid=1000,mode=0700 --tmpfs /tmp -e BOT_BOTTLE_MITM_CA \
    "$BOT_BOTTLE_MITMPROXY_IMAGE" "${mitm_wrap[@]}" "${mitm_cmd[@]}" --set "bottle_pipelock=pl-$s:8888" >/dev/null
  docker network connect "p-$s" "m-$s"
  ip=$(docker inspect --format "{{(index .NetworkSettings.Networks \"n-$s\").IPAddress}}" "m-$s")
  until docker exec "m-$s" test -e "$mitm_ready" 2>/dev/null; do sleep 0.1; done
  t2=$(now)
  docker run "${label[@]}" -d --name "a-$s" --network "n-$s" --user 1000:1000 \
    -e "HTTPS_PROXY=http://m-$s:8080" "$BOT_BOTTLE_AGENT_IMAGE" sleep infinity >/dev/null
  t3=$(now)
  docker exec -i --user 0 "a-$s" sh -c 'mkdir -p /etc/bot-bottle && cat > /etc/bot-bottle/mitm-ca.pem' <"$work/ca-cert.pem"
  docker exec --user 0 "a-$s" sh -c "echo '$ip m-$s' >> /etc/hosts"
  t4=$(now)
  docker exec -i "a-$s" true
  t5=$(now)
  docker rm -f "a-$s" "m-$s" "pl-$s" "mpl-$s" >/dev/null
  docker network rm "e-$s" "p-$s" "n-$s" >/dev/null
  t6=$(now)
  printf 'networks %s\nsidecars %s\nagent %s\nprovision %s\nattach %s\nteardown %s\nlaunch %s\ntotal %s\n' \
    "$(echo "$t1-$t0" | bc)" "$(echo "$t2-$t1" | bc)" "$(echo "$t3-$t2" | bc)" \
    "$(echo "$t4-$t3" | bc)" "$(echo "$t5-$t4" | bc)" "$(echo "$t6-$t5" | bc)" \
    "$(echo "$t4-$t0" | bc)" "$(echo "$t6-$t0" | bc)"
}
for i in $(seq "$runs"); do floor >"$work/floor-$i.txt"; done

# --- each sidecar alone: `docker start` to ready, polled without pause ----------------
alone() {
  local s=$prefix-$RANDOM t0 t1 t2
  docker create "${label[@]}" --name "pl-$s" --network none --user 1000:1000 "$BOT_BOTTLE_PIPELOCK_IMAGE" \
    pipelock run --config /etc/pipelock/pipelock.yaml --listen 0.0.0.0:8888 >/dev/null
  docker cp "$work/pipelock.yaml" "pl-$s:/etc/pipelock/pipelock.yaml"
  docker create "${label[@]}" --name "m-$s" --network none --user 1000:1000 --read-only \
    --tmpfs /home/mitmproxy/.mitmproxy:uid=1000,gid=1000,mode=0700 --tmpfs /tmp -e BOT_BOTTLE_MITM_CA \
    "$BOT_BOTTLE_MITMPROXY_IMAGE" "${mitm_wrap[@]}" "${mitm_cmd[@]}" --set "bottle_pipelock=pl-$s:8888" >/dev/null
  t0=$(now)
  docker start "pl-$s" >/dev/null
  until docker exec "pl-$s" pipelock healthcheck --addr 127.0.0.1:8888 >/dev/null 2>&1; do :; done
  t1=$(now)
  docker rm -f "pl-$s" >/dev/null
  t2=$(now)
  docker start "m-$s" >/dev/null
  until docker exec "m-$s" test -e "$mitm_ready" >/dev/null 2>&1; do :; done
  printf 'pipelock %s\nmitmproxy %s\n' "$(echo "$t1-$t0" | bc)" "$(echo "$(now)-$t2" | bc)"
  docker rm -f "m-$s" >/dev/null
}
for i in $(seq "$runs"); do alone >"$work/alone-$i.txt"; done

# --- idle memory: a bottle whose command sleeps; docker stats once it has settled -------
"$bottle" run agent -- sleep 20 >/dev/null 2>"$work/idle.err" &
idle=$!
until grep -q 'attach to' "$work/idle.err" 2>/dev/null; do sleep 0.2; done
sleep 6
docker stats --no-stream --format '{{.Name}}\t{{.MemUsage}}' \
  $(docker ps -q --filter label=bot-bottle.agent=agent --filter "label=bot-bottle.uid=$(id -u)") >"$work/idle-mem.txt"
wait "$idle"

python3 - "$work" "$runs" <<'PY'
import re, statistics, sys, pathlib
work, runs = pathlib.Path(sys.argv[1]), int(sys.argv[2])
med = statistics.median

def bottle_run(i):
    err = (work / f"bottle-{i}.err").read_text()
    wall = dict(l.split() for l in (work / f"bottle-{i}.wall").read_text().splitlines())
    t0, t1 = float(wall["start"]), float(wall["end"])
    cmd = float((work / f"bottle-{i}.out").read_text().split()[0]) - t0
    starts, titles, total_phases = {}, {}, None
    teardown = last = None
    for line in err.splitlines():
        m = re.search(r"\[(\d+)/(\d+)\] (.*?) \((\d+\.\d+)s\)$", line)
        if not m:
            continue
        n, total_phases, last = int(m.group(1)), int(m.group(2)), float(m.group(4))
        if n not in starts:
            starts[n], titles[n] = float(m.group(4)), m.group(3)
        t = re.search(r"undo step\(s\) done in (\d+\.\d+)s", line)
        if t:
            teardown = float(t.group(1))
    # Progress stamps count from bottle's own start, after its process started and
    # planned: shift them onto the wall clock by what the last line leaves to the exit.
    offset = (t1 - t0) - last
    starts = {n: s + offset for n, s in starts.items()}
    phases = {}
    for n in range(1, total_phases):
        title = titles[n]
        key = ("attach" if title.startswith("attach") else
               re.sub(r"\s*\(.*", "", title).split(" (")[0])
        end = starts.get(n + 1)
        if key == "attach":
            phases["attach (to the command)"] = cmd - starts[n]
            phases["exit (command end to teardown: exit report)"] = end - cmd
        else:
            phases[key] = end - starts[n]
    phases["teardown"] = teardown
    phases["launch (start to the command)"] = cmd
    phases["of which before bottle's first line"] = offset
    phases["total"] = t1 - t0
    return phases

b = [bottle_run(i) for i in range(1, runs + 1)]
f = [dict((k, float(v)) for k, v in (l.split() for l in (work / f"floor-{i}.txt").read_text().splitlines()))
     for i in range(1, runs + 1)]
a = [dict((k, float(v)) for k, v in (l.split() for l in (work / f"alone-{i}.txt").read_text().splitlines()))
     for i in range(1, runs + 1)]
floor_key = {"networks": "networks", "agent": "agent", "provision": "provision", "teardown": "teardown",
             "launch (start to the command)": "launch", "total": "total"}
print(f"warm `bottle run agent -- date`: median of {runs} runs, seconds, same run")
print(f"{'phase':<46} {'bottle':>8} {'shell floor':>12}")
for p in b[0]:
    fk = floor_key.get(p) or ("sidecars" if "pipelock" in p or "sidecar" in p else None)
    fl = f"{med(x[fk] for x in f):>12.2f}" if fk else f"{'-':>12}"
    print(f"{p:<46} {med(x[p] for x in b):>8.2f} {fl}")
pl, mi = med(x["pipelock"] for x in a), med(x["mitmproxy"] for x in a)
slowest = max(pl, mi)
launch = med(x["launch (start to the command)"] for x in b)
floor_launch = med(x["launch"] for x in f)
print()
print(f"sidecar alone, docker start to ready: pipelock {pl:.2f}, mitmproxy {mi:.2f}; slowest {slowest:.2f}")
print(f"launch / slowest sidecar alone = {launch / slowest:.2f}   (goal <= 1.15)")
print(f"launch / shell floor launch    = {launch / floor_launch:.2f}   (goal <= 0.60)")
print(f"teardown                       = {med(x['teardown'] for x in b):.2f} s (goal <= 0.40)")
print()
print("idle resident memory (docker stats, 6 s after attach):")
units = {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1, "GiB": 1024}
sidecars = 0.0
for line in (work / "idle-mem.txt").read_text().splitlines():
    name, usage = line.split("\t")
    m = re.match(r"([\d.]+)(\w+)", usage.split("/")[0].strip())
    mib = float(m.group(1)) * units[m.group(2)]
    found = re.search(r"-(pipelock|mitm|model-pl)-", name)
    role = found.group(1) if found else "agent"
    if role != "agent":
        sidecars += mib
    print(f"  {role:<10} {mib:8.1f} MiB  {name}")
print(f"  sidecars together {sidecars:.1f} MiB (goal < 250)")
PY
