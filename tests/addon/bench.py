"""Benchmark: requests through mitmdump + bottle_verdict.py + pipelock test double, beside
direct requests to the same origin in the same run, and (--old FILE) through the old addon
beside the new one. Run by tests/addon/bench.sh inside the bot-bottle-test/mitmproxy image
(everything on loopback, --network none).

For each path (direct: client -> origin; new/old: client -> mitmdump -> double -> origin) and
each connection mode (keep-alive: one TLS connection reused; new: a new connection and TLS
handshake per request, through the chain a new CONNECT tunnel too), one client thread sends
GET https://allowed.test/bench sequentially for --seconds (or --max-requests) and records
each request's latency. Prints requests/s, p50 and p99, and what the chain adds.
Also runs --concurrency threads at once (keep-alive) for a throughput figure. Every row is
measured --rounds times, old and new alternating, and the median round is printed. --rss
measures mitmdump's RSS idle and with 8 held uploads (each addon's body limit - 1).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import (ADDON, DOUBLE, DOUBLE_SRC, MITMDUMP, ORIGIN, PIPELOCK_NAME,  # noqa: E402
                      SYSTEM_PY, TEST_NAMES, ensure_test_hosts, free_port, stop, wait_port)

PATH = "/bench"


def make_certs(d: Path) -> dict:
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=bench CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=allowed.test")
    (d / "ext.cnf").write_text("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName="
                               + ",".join(f"DNS:{n}" for n in TEST_NAMES) + "\n")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "leaf.pem", "-days", "2", "-extfile", "ext.cnf")
    return {"ca": d / "ca.pem", "cert": d / "leaf.pem", "key": d / "leaf.key"}


def ensure_hosts():
    ensure_test_hosts()


class Target:
    def __init__(self, name, ctx, proxy_port=None):
        self.name, self.ctx, self.proxy_port = name, ctx, proxy_port

    def connect(self) -> http.client.HTTPSConnection:
        if self.proxy_port is not None:
            c = http.client.HTTPSConnection("127.0.0.1", self.proxy_port, context=self.ctx, timeout=30)
            c.set_tunnel("allowed.test", 443)
        else:
            c = http.client.HTTPSConnection("allowed.test", 443, context=self.ctx, timeout=30)
        return c


def one(conn: http.client.HTTPSConnection) -> None:
    conn.request("GET", PATH)
    r = conn.getresponse()
    body = r.read()
    if r.status != 200 or not body.startswith(b"hello from"):
        raise RuntimeError(f"unexpected answer {r.status} {body[:200]!r}")


def run_seq(target: Target, keepalive: bool, seconds: float, max_requests: int) -> dict:
    lat = []
    conn = target.connect() if keepalive else None
    if conn:
        one(conn)  # warm-up (TLS handshake, upstream connections)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds and len(lat) < max_requests:
        t0 = time.perf_counter()
        if keepalive:
            one(conn)
        else:
            c = target.connect()
            one(c)
            c.close()
        lat.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - start
    if conn:
        conn.close()
    return summarize(lat, elapsed)


def run_concurrent(target: Target, threads: int, seconds: float, max_requests: int) -> dict:
    lats: list[float] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds
    per_thread = max(1, max_requests // threads)

    def worker():
        conn = target.connect()
        one(conn)
        mine = []
        while time.perf_counter() < stop_at and len(mine) < per_thread:
            t0 = time.perf_counter()
            one(conn)
            mine.append(time.perf_counter() - t0)
        conn.close()
        with lock:
            lats.extend(mine)

    start = time.perf_counter()
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return summarize(lats, time.perf_counter() - start)


def summarize(lat, elapsed):
    lat = sorted(lat)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000  # noqa: E731
    return {"n": len(lat), "rps": len(lat) / elapsed, "p50": q(0.50), "p99": q(0.99),
            "mean": statistics.fmean(lat) * 1000}


BENCH_PIPELOCK_CONFIG = {  # valid for the old double, the conformance double and pipelock v2.3.0
    "version": 1, "mode": "strict", "enforce": True, "api_allowlist": ["*.allowed.test"],
    "trusted_domains": ["allowed.test", "*.allowed.test"], "forward_proxy": {"enabled": True},
    "fetch_proxy": {"timeout_seconds": 60, "monitoring": {"max_requests_per_minute": 10000000}},
    "dlp": {"include_defaults": True, "scan_env": True, "min_env_secret_length": 16},
    "request_body_scanning": {"enabled": True, "action": "block", "scan_headers": True},
    "logging": {"format": "json", "output": "stdout", "include_allowed": True, "include_blocked": True},
}


def drain(src, dst) -> None:
    while chunk := src.read1(65536):
        dst.write(chunk)
        dst.flush()


def start_mitm(tmp: Path, name: str, addon: Path, dport: int, procs: list) -> tuple[int, Path, subprocess.Popen]:
    """pipelock is named by its sidecar name (resolved via /etc/hosts here), as in a bottle."""
    port = free_port()
    conf = tmp / f"{name}-conf"
    # Both rows log alike: mitmproxy's own lines at the image contract's (default) level, and
    # no flow dump (the new addon forces flow_detail=0; the old one printed every flow).
    args = [MITMDUMP, "--listen-host", "127.0.0.1", "--listen-port", str(port), "-s", str(addon),
            "--set", f"confdir={conf}", "--set", "connection_strategy=lazy", "--set", "upstream_cert=false",
            "--set", "flow_detail=0"]
    if name == "old":  # the addon at 34cddb8: options, probe connection per server connection
        args += ["--set", f"bottle_pipelock={PIPELOCK_NAME}:{dport}"]
    else:
        cfg = tmp / "addon.json"
        cfg.write_text(json.dumps({"version": 1, "pipelock": f"{PIPELOCK_NAME}:{dport}", "max_body_bytes": 16 * 1024 * 1024,
                                   "sidecars": [], "credentials": [], "guarded": [], "unscanned_headers": []}))
        args += ["--set", f"bottle_config={cfg}"]
    # stdout is a pipe, drained by a thread into a file, as in a bottle (Docker's log driver
    # reads mitmproxy's stdout through a pipe): the request log line costs mitmdump a pipe
    # write, not a write to this machine's slow disk (measured 8 vs 166 us a line).
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    threading.Thread(target=drain, args=(p.stdout, (tmp / f"{name}.out").open("wb")), daemon=True).start()
    procs.append(p)
    wait_port(port, p, f"mitmdump ({name})")
    return port, conf, p


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def measure_rss(name, port, conf, proc, body_size, n=8):
    from test_memory import HeldUpload  # noqa: E402 (tests/addon/test_memory.py)

    class M:
        pass
    m = M()
    m.port, m.ca = port, conf / "mitmproxy-ca-cert.pem"
    time.sleep(0.5)
    idle = rss_kb(proc.pid)
    held = [HeldUpload(m, body_size) for _ in range(n)]
    time.sleep(1.0)
    peak = rss_kb(proc.pid)
    statuses = [u.finish()[0] for u in held]
    time.sleep(1.0)
    after = rss_kb(proc.pid)
    return {"addon": name, "uploads": n, "body": body_size, "idle_mb": idle / 1024, "held_mb": peak / 1024,
            "after_mb": after / 1024, "statuses": statuses}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    ap.add_argument("--max-requests", type=int, default=20000, help="per measurement")
    ap.add_argument("--rounds", type=int, default=3, help="old/new alternate this many times; medians reported")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--old", help="the old addon (bench.sh: git show 34cddb8:nix/mitmproxy/bottle_verdict.py)")
    ap.add_argument("--rss", action="store_true", help="also measure RSS with 8 held uploads (old and new)")
    ap.add_argument("--json", help="also write results here")
    a = ap.parse_args()
    ensure_hosts()
    procs = []
    rss = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        certs = make_certs(tmp)
        try:
            control = free_port()
            p = subprocess.Popen([SYSTEM_PY, str(ORIGIN), "--https", "127.0.0.1:443", "--http", "127.0.0.1:80",
                                  "--control", f"127.0.0.1:{control}", "--cert", str(certs["cert"]),
                                  "--key", str(certs["key"])], stdout=subprocess.DEVNULL)
            procs.append(p)
            wait_port(443, p, "origin")
            dport = free_port()
            cfg = tmp / "pipelock.json"
            cfg.write_text(json.dumps(BENCH_PIPELOCK_CONFIG))
            p = subprocess.Popen([SYSTEM_PY, str(DOUBLE), "run", "--config", str(cfg), "--listen", f"127.0.0.1:{dport}"],
                                 stdout=(tmp / "double.log").open("w"), stderr=subprocess.STDOUT,
                                 env={"PATH": "/usr/bin:/bin", "SSL_CERT_FILE": str(certs["ca"]),
                                      "PIPELOCK_DOUBLE_SOURCE_ADDR": DOUBLE_SRC})
            procs.append(p)
            wait_port(dport, p, "double")
            addons = [("new", ADDON)] + ([("old", Path(a.old))] if a.old else [])
            mitms = {name: start_mitm(tmp, name, path, dport, procs) for name, path in addons}

            direct = Target("direct", ssl.create_default_context(cafile=str(certs["ca"])))
            targets = [direct] + [Target(name, ssl.create_default_context(cafile=str(conf / "mitmproxy-ca-cert.pem")), port)
                                  for name, (port, conf, _) in sorted(mitms.items(), reverse=True)]
            runs: dict = {}
            for rnd in range(a.rounds):
                order = targets if rnd % 2 == 0 else [targets[0], *reversed(targets[1:])]
                for mode in ("keep-alive", "new-connection"):
                    for t in order:
                        runs.setdefault((mode, t.name), []).append(
                            run_seq(t, mode == "keep-alive", a.seconds, a.max_requests))
                mode = f"keep-alive x{a.concurrency}"
                for t in order:
                    runs.setdefault((mode, t.name), []).append(run_concurrent(t, a.concurrency, a.seconds, a.max_requests))
            results = {k: median_run(v) for k, v in runs.items()}
            if a.rss:
                for name, (port, conf, proc) in sorted(mitms.items(), reverse=True):
                    size = (32 if name == "old" else 16) * 1024 * 1024 - 1  # each addon's body limit - 1
                    rss.append(measure_rss(name, port, conf, proc, size))
        finally:
            for p in procs:
                stop(p)

    print(f"bot-bottle addon benchmark: GET https://allowed.test{PATH} (small body), "
          f"{a.seconds:g}s or {a.max_requests} requests per row, median of {a.rounds} alternating rounds; mitmdump "
          f"{subprocess.run([MITMDUMP, '--version'], capture_output=True, text=True).stdout.split()[1]}, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print("direct = client -> origin; new/old = client -> mitmdump + addon (this tree / --old) -> pipelock double -> origin")
    hdr = f"{'mode':<18}{'path':<8}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'+p50 ms':>9}{'+p99 ms':>9}{'new/old':>9}"
    print(hdr)
    print("-" * len(hdr))
    out = []
    for (mode, name), r in results.items():
        added = ""
        if name != "direct":
            d = results[(mode, "direct")]
            added = f"{r['p50'] - d['p50']:>9.2f}{r['p99'] - d['p99']:>9.2f}"
        ratio = ""
        if name == "new" and (mode, "old") in results:
            ratio = f"{r['rps'] / results[(mode, 'old')]['rps']:>8.2f}x"
        print(f"{mode:<18}{name:<8}{r['n']:>9}{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{added}{ratio}")
        out.append({"mode": mode, "path": name, **r})
    for r in rss:
        print(f"RSS {r['addon']}: idle {r['idle_mb']:.0f} MB, {r['uploads']} held uploads of {r['body']} bytes "
              f"{r['held_mb']:.0f} MB, after {r['after_mb']:.0f} MB; answers {sorted(r['statuses'])}")
    if a.json:
        Path(a.json).write_text(json.dumps({"throughput": out, "rss": rss}, indent=1))


def median_run(runs: list[dict]) -> dict:
    runs = sorted(runs, key=lambda r: r["rps"])
    return runs[len(runs) // 2]


if __name__ == "__main__":
    main()
