#!/usr/bin/env bash
# Benchmark (issue 18): what a model request costs from inside a bottle, by its size, on the
# second turn of a growing conversation. The agent (python3 + requests, one kept-alive
# session, as Claude Code keeps one) posts Messages API requests to api.anthropic.com, served
# by the fake internet's fake Anthropic API, through mitmproxy and the pipelock that judges the
# model lane; the answer is a short non-streamed message, so the time is the chain's.
#
# For each size S (300 KB, 1 MB) and each of RUNS rounds, a new conversation of ordinary
# source text (random per round, so no round meets another's blocks): turn 1 carries S minus
# 10 KB (its cost is printed, not judged), turn 2 resends all of it plus an answer and 10 KB
# of new text (a tool result): turn 2 is the measured one. The baseline, in the same rounds,
# is turn 2 of a 1 KB conversation of the same shape. Printed: medians, and turn 2 minus the baseline
# against the goals (300 KB: +150 ms, 1 MB: +400 ms).
#
# Usage: bash tests/bench/model_lane_bottle.sh [RUNS]        (default 5; needs the Docker engine)
#        BOT_BOTTLE_BENCH_PIPELOCK_IMAGE=<image> bash tests/bench/model_lane_bottle.sh [RUNS]
#          (a real pipelock built by hand, docs/pipelock.md, for both pipelocks)
# Uses the local test images (tests/images/build.sh). Exit code 0 whatever the numbers; the
# last lines say whether each goal was met.
set -euo pipefail
runs=${1:-5}
# The images, $bottle, and $work as HOME (tests/bench/bottle_env.sh).
. "$(dirname "${BASH_SOURCE[0]}")/bottle_env.sh"
mkdir -p "$HOME/.config/bot-bottle"
agent=bbmodelbench$$
origin=bot-bottle-bench-origin-$$
cleanup() {
  docker rm -f "$origin" >/dev/null 2>&1 || true
  [ -n "${bottle_pid:-}" ] && kill "$bottle_pid" 2>/dev/null && wait "$bottle_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# A real-format API key the fake API accepts; the agent holds only its placeholder.
key="sk-ant-api03-$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 93)AA"
export ANTHROPIC_API_KEY=$key
unset CLAUDE_CODE_OAUTH_TOKEN

cat >"$work/bench.py" <<'PY'
import json, os, random, statistics, sys, time, requests
runs = int(sys.argv[1])
S = requests.Session()
api = 'https://api.anthropic.com/v1/messages'
H = {'x-api-key': os.environ['ANTHROPIC_API_KEY'], 'anthropic-version': '2023-06-01',
     'content-type': 'application/json'}
WORDS = ('def class return self value index items result config path name data for in if else '
         'import from with as try except raise while yield lambda None True False assert').split()

def source(rng, n):
    """About n bytes of ordinary Python-looking source text."""
    lines, size = [], 0
    while size < n:
        ind = '    ' * rng.randint(0, 3)
        line = ind + ' '.join(rng.choice(WORDS) + (str(rng.randint(0, 99)) if rng.random() < .2 else '')
                              for _ in range(rng.randint(3, 12)))
        lines.append(line)
        size += len(line) + 1
    return '\n'.join(lines)[:n]

def post(messages):
    body = {'model': 'claude-sonnet-4-5', 'max_tokens': 64, 'messages': messages}
    data = json.dumps(body).encode()
    t0 = time.perf_counter()
    r = S.post(api, headers=H, data=data, timeout=300)
    dt = time.perf_counter() - t0
    if r.status_code != 200:
        raise SystemExit(f'{len(data)} B: {r.status_code} {r.text[:300]}')
    return dt, len(data)

out = {'base': [], 'sizes': {}}
post([{'role': 'user', 'content': 'warm up'}])
for size in (300 * 1024, 1024 * 1024):
    first, second, bytes2 = [], [], 0
    for i in range(runs):
        rng = random.Random(f'{size}-{i}-{time.time_ns()}')
        # The baseline: turn 2 of a 1 KB conversation, the same shape as the measured turns.
        small = [{'role': 'user', 'content': [{'type': 'text', 'text': source(rng, 300)}]}]
        post(small)
        small += [{'role': 'assistant', 'content': [{'type': 'text', 'text': 'I read it.'}]},
                  {'role': 'user', 'content': [{'type': 'text', 'text': source(rng, 300)}]}]
        out['base'].append(post(small)[0])
        old = source(rng, size - 10 * 1024 - 400)
        msgs = [{'role': 'user', 'content': [{'type': 'text', 'text': old}]}]
        first.append(post(msgs)[0])
        msgs += [{'role': 'assistant', 'content': [{'type': 'text', 'text': 'I read it.'}]},
                 {'role': 'user', 'content': [{'type': 'text', 'text': source(rng, 10 * 1024)}]}]
        dt, bytes2 = post(msgs)
        second.append(dt)
    out['sizes'][size] = {'first': first, 'second': second, 'bytes': bytes2}
print('BENCH ' + json.dumps(out), flush=True)
PY

cat >"$HOME/.config/bot-bottle/bot-bottle.json" <<EOF
{ "bottles": { "bench": {
    "egress": { "allowlist": ["allowed.test"],
                "private_hosts": ["api.anthropic.com", "statsig.anthropic.com", "allowed.test"] } } },
  "agents": { "$agent": { "bottle": "bench", "command": ["sh", "-c",
    "until [ -e /tmp/.bench-online ]; do sleep 0.1; done; exec python3 -c \"\$0\" $runs",
    $(python3 -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()))' "$work/bench.py")] } } }
EOF

"$bottle" run "$agent" >"$work/out" 2>"$work/err" &
bottle_pid=$!
# The fake internet on the bottle's egress network, as the Docker tests wire it.
deadline=$((SECONDS + 120))
until net=$(docker network ls -q --filter "label=bot-bottle.agent=$agent" --filter label=bot-bottle.role=egress-network --format '{{.Name}}') && [ -n "$net" ]; do
  [ $SECONDS -lt $deadline ] || { cat "$work/err"; exit 1; }; sleep 0.1
done
aliases=()
for h in allowed.test api.anthropic.com statsig.anthropic.com; do aliases+=(--network-alias "$h"); done
docker run -d --name "$origin" --label bot-bottle-test=origin --network "$net" "${aliases[@]}" \
  --env "ORIGIN_CONFIG={\"api\": {\"keys\": [\"$key\"], \"gzip\": false}}" "$BOT_BOTTLE_TEST_ORIGIN_IMAGE" >/dev/null
until docker exec "$origin" curl -sf http://127.0.0.1:80/__seen >/dev/null 2>&1; do
  [ $SECONDS -lt $deadline ] || { echo "origin never answered" >&2; exit 1; }; sleep 0.2
done
until a=$(docker ps -q --filter "label=bot-bottle.agent=$agent" --filter label=bot-bottle.role=agent) && [ -n "$a" ] \
      && docker exec "$a" touch /tmp/.bench-online 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || { cat "$work/err"; exit 1; }; sleep 0.1
done
wait "$bottle_pid" || { echo "bottle run failed:" >&2; cat "$work/out" "$work/err" >&2; docker logs $(docker ps -aq --filter "label=bot-bottle.agent=$agent" --filter label=bot-bottle.role=mitmproxy) 2>&1 | tail -20; exit 1; }
bottle_pid=
line=$(grep '^BENCH ' "$work/out" | tail -1 | cut -d' ' -f2-)
[ -n "$line" ] || { echo "no result:" >&2; cat "$work/out" "$work/err" >&2; exit 1; }

python3 - "$line" "$runs" "${BOT_BOTTLE_PIPELOCK_IMAGE}" <<'PY'
import json, statistics, sys
r, runs, image = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
ms = lambda xs: statistics.median(xs) * 1000
base = ms(r['base'])
print(f'model request from inside a bottle, median of {runs} rounds, ms (pipelock image: {image})')
print(f'{"body":>10} {"turn 1":>9} {"turn 2":>9} {"turn 2 - 1 KB":>14} {"goal":>6}')
print(f'{"1 KB":>10} {"":>9} {base:9.1f} {"":>14}')
print(f'{"(all 1 KB turn 2s: " + ", ".join(f"{x * 1000:.1f}" for x in r["base"]) + ")"}')
goals = {str(300 * 1024): 150, str(1024 * 1024): 400}
verdicts = []
for size, v in r['sizes'].items():
    label = f'{int(size) // 1024} KB' if int(size) < 1 << 20 else '1 MB'
    extra = ms(v['second']) - base
    goal = goals[size]
    print(f'{label:>10} {ms(v["first"]):9.1f} {ms(v["second"]):9.1f} {extra:+14.1f} {"+" + str(goal):>6}')
    verdicts.append(f'{label}: turn 2 adds {extra:+.1f} ms over 1 KB (goal <= +{goal}): '
                    + ('met' if extra <= goal else 'NOT met'))
print('\n'.join(verdicts))
PY
