"""Benchmark of the model lane (issue 18), addon level: what a Claude-Code-shaped /v1/messages
request costs through mitmdump + the addon + pipelock as its conversation grows, on the model lane
(verdict cache on, and off) beside today's web lane (no model_lane: the provider's host judged by
the web pipelock's body scan), all in the same run. Run by tests/bench/model_lane.sh inside the
bot-bottle-test/mitmproxy image (--network none, everything on loopback; the fake Anthropic API
answers). pipelock: the test double, or BOT_BOTTLE_ADDON_TEST_PIPELOCK=/path (a real pipelock).

For each chain and each conversation size (1 KB, 300 KB, 1 MB of ordinary source text in
user turns), one keep-alive client sends turn 1 (the whole conversation new) and then
--turns more, each adding one 2 KB user turn, as a growing session does. Reported: turn 1, and the
median of turns 2.. ("later"); "adds" = later(size) - later(1 KB) of the same chain; the issue's
goal is adds <= 150 ms at 300 KB and <= 400 ms at 1 MB (measured in a bottle by the Rust side;
here without Docker's network). Chains alternate, --rounds times; medians of the rounds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import drain, make_certs  # noqa: E402
from conftest import (ADDON, DOUBLE, DOUBLE_SRC, MITMDUMP, MODEL_PIPELOCK_NAME, ORIGIN, PIPELOCK_NAME,  # noqa: E402
                      REAL_PIPELOCK, SYSTEM_PY, ensure_test_hosts, free_port, pipelock_config, wait_port)

KEY = "sk-ant-api03-" + "benchKEY0123456789abcdefghij" * 3 + "AA"
SIZES = [("1 KB", 1024), ("300 KB", 300 * 1024), ("1 MB", 1024 * 1024)]
GOALS = {"300 KB": 150.0, "1 MB": 400.0}


def source_text(n: int, seed: int) -> str:
    """Ordinary-looking source text, n characters, that no pipelock default pattern matches (its
    words are no BIP-39 words: English prose or identifiers like `value`, `limit`, `return` in
    runs of 12 trip the seed-phrase check about once in 16 runs)."""
    out, i = [], seed * 100000
    while sum(len(x) for x in out) < n:
        out.append(f"fn hx{i}(qz: &Qs, lm: u32) -> Rz<Vq<u8>, Pe> {{\n"
                   f"    let vv = pq_ln(qz, {i % 97})?; // st{i}\n"
                   f"    if vv.ln() > lm {{ Err(Pe::Tl(vv.ln()))?; }}\n"
                   f"    Ok(vv.bz())\n}}\n\n")
        i += 1
    return "".join(out)[:n]


def request(blocks: list[str]) -> bytes:
    """A /v1/messages body: the blocks as user turns, each answered. Plain string contents: a
    body with 12 or more typed blocks has the key "type" 12+ times, and pipelock's seed-phrase
    check (over the sorted JSON strings, keys included) then blocks today's web lane, which
    would leave no baseline to compare with (the model lane does not care)."""
    msgs = []
    for b in blocks:
        msgs += [{"role": "user", "content": b}, {"role": "assistant", "content": "Noted."}]
    msgs.append({"role": "user", "content": "Fix the bug."})
    return json.dumps({"model": "claude-sonnet-4-5-20250929", "max_tokens": 1024, "messages": msgs,
                       "system": "You are Claude Code."}).encode()


def conversation(size: int, seed: int) -> list[str]:
    """Blocks of at most 50 KB adding up to about `size` bytes."""
    blocks, left, k = [], size, 0
    while left > 0:
        n = min(left, 50 * 1024)
        blocks.append(source_text(n, seed * 1000 + k))
        left -= n
        k += 1
    return blocks


class Chain:
    def __init__(self, name: str, port: int, ca: Path):
        self.name, self.port = name, port
        self.ctx = ssl.create_default_context(cafile=str(ca))

    def session(self, size: int, turns: int, seed: int) -> tuple[float, list[float]]:
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=300)
        conn.set_tunnel("api.anthropic.com", 443)
        blocks = conversation(size, seed)
        lat = []
        for t in range(turns + 1):
            body = request(blocks)
            t0 = time.perf_counter()
            conn.request("POST", "/v1/messages", body=body, headers={
                "x-api-key": "bot-bottle-placeholder-ANTHROPIC_API_KEY", "anthropic-version": "2023-06-01",
                "content-type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            lat.append(time.perf_counter() - t0)
            if r.status != 200:
                raise RuntimeError(f"{self.name}: {r.status} {data[:300]!r}")
            blocks.append(source_text(2048, seed * 1000 + 500 + t))
        conn.close()
        return lat[0] * 1000, [x * 1000 for x in lat[1:]]


def start_pipelock(tmp: Path, name: str, cfg: dict, certs: dict, procs: list) -> int:
    port = free_port()
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(cfg))
    cmd = [REAL_PIPELOCK] if REAL_PIPELOCK else [SYSTEM_PY, str(DOUBLE)]
    p = subprocess.Popen(cmd + ["run", "--config", str(path), "--listen", f"127.0.0.1:{port}"],
                         stdout=(tmp / f"{name}.log").open("w"), stderr=subprocess.STDOUT,
                         env={"PATH": "/usr/bin:/bin", "SSL_CERT_FILE": str(certs["ca"]), "HOME": str(tmp),
                              "PIPELOCK_DOUBLE_SOURCE_ADDR": DOUBLE_SRC, "ANTHROPIC_API_KEY": KEY})
    procs.append(p)
    wait_port(port, p, name)
    return port


def start_mitm(tmp: Path, name: str, config: dict, procs: list) -> Chain:
    port = free_port()
    conf = tmp / f"{name}-conf"
    cfgp = tmp / f"{name}-addon.json"
    cfgp.write_text(json.dumps(config))
    args = [MITMDUMP, "--listen-host", "127.0.0.1", "--listen-port", str(port), "-s", str(ADDON),
            "--set", f"confdir={conf}", "--set", f"bottle_config={cfgp}"]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp), "BENCH_KEY": KEY})
    threading.Thread(target=drain, args=(p.stdout, (tmp / f"{name}.out").open("wb")), daemon=True).start()
    procs.append(p)
    wait_port(port, p, f"mitmdump ({name})")
    return Chain(name, port, conf / "mitmproxy-ca-cert.pem")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=5, help="turns after the first, per session")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--check", action="store_true", help="exit 1 when the model lane misses the goals")
    a = ap.parse_args()
    ensure_test_hosts()
    procs: list = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        certs = make_certs(tmp)
        try:
            p = subprocess.Popen([SYSTEM_PY, str(ORIGIN), "--https", "127.0.0.1:443", "--http", "127.0.0.1:80",
                                  "--cert", str(certs["cert"]), "--key", str(certs["key"]),
                                  "--config", json.dumps({"api": {"keys": [KEY], "gzip": False}})],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            wait_port(443, p, "origin")
            trusted = ["api.anthropic.com"]
            web_cfg = pipelock_config(api_allowlist=["api.anthropic.com"], trusted_domains=trusted)
            model_cfg = pipelock_config(api_allowlist=["api.anthropic.com"], trusted_domains=trusted)
            model_cfg["request_body_scanning"] = {**model_cfg["request_body_scanning"], "enabled": False}
            web_port = start_pipelock(tmp, "web-pipelock", web_cfg, certs, procs)
            model_port = start_pipelock(tmp, "model-pipelock", model_cfg, certs, procs)
            cred = {"name": "ANTHROPIC_API_KEY", "env": "BENCH_KEY", "hosts": ["api.anthropic.com"],
                    "header": "x-api-key", "scheme": None, "placeholder": "bot-bottle-placeholder-ANTHROPIC_API_KEY"}
            base = {"version": 1, "pipelock": f"{PIPELOCK_NAME}:{web_port}", "max_body_bytes": 16 * 1024 * 1024,
                    "sidecars": [], "credentials": [cred], "guarded": [], "unscanned_headers": ["x-api-key"]}
            lane = {"pipelock": f"{MODEL_PIPELOCK_NAME}:{model_port}",
                    "providers": [{"name": "anthropic", "hosts": ["api.anthropic.com"],
                                   "identity_headers": ["authorization", "x-api-key"], "login": []}]}
            chains = [start_mitm(tmp, "web lane (today)", base, procs),
                      start_mitm(tmp, "model lane", {**base, "allowlist": ["api.anthropic.com"], "model_lane": lane},
                                 procs),
                      start_mitm(tmp, "model lane, no cache", {**base, "allowlist": ["api.anthropic.com"],
                                                               "model_lane": {**lane, "cache_bytes": 0}}, procs)]
            res: dict = {}
            for rnd in range(a.rounds):
                for ch in (chains if rnd % 2 == 0 else chains[::-1]):
                    for label, size in SIZES:
                        first, later = ch.session(size, a.turns, seed=rnd * 10 + SIZES.index((label, size)))
                        res.setdefault((ch.name, label), []).append((first, statistics.median(later)))
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
    return report(res, chains, a)


def report(res: dict, chains: list, a) -> int:
    pl = f"real pipelock {REAL_PIPELOCK}" if REAL_PIPELOCK else "pipelock test double"
    print(f"model lane bench ({pl}; {a.rounds} rounds, {a.turns} later turns each, medians)")
    print(f"{'chain':24} {'size':>7} {'turn 1 ms':>10} {'later ms':>9} {'adds ms':>8}")
    ok = True
    adds: dict = {}
    for ch in chains:
        base = statistics.median(x[1] for x in res[(ch.name, "1 KB")])
        for label, _ in SIZES:
            first = statistics.median(x[0] for x in res[(ch.name, label)])
            later = statistics.median(x[1] for x in res[(ch.name, label)])
            add = later - base
            adds[(ch.name, label)] = add
            print(f"{ch.name:24} {label:>7} {first:10.1f} {later:9.1f} {add:8.1f}")
            if ch.name == "model lane" and label in GOALS and add > GOALS[label]:
                ok = False
    for label in GOALS:
        today, lane = adds[("web lane (today)", label)], adds[("model lane", label)]
        print(f"{label}: model lane adds {lane:.1f} ms (goal <= {GOALS[label]:.0f}), today's web lane {today:.1f} ms"
              f" -> {today / lane if lane > 0 else float('inf'):.1f}x less")
    print("goals met" if ok else "GOALS MISSED")
    return 0 if ok or not a.check else 1


if __name__ == "__main__":
    sys.exit(main())
