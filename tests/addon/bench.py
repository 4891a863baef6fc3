"""Benchmark: requests through mitmdump + bottle_verdict.py + pipelock test double, beside
direct requests to the same origin in the same run. Run by tests/addon/bench.sh inside the
bot-bottle-test/mitmproxy image (everything on loopback, --network none).

For each path (direct: client -> origin; chain: client -> mitmdump -> double -> origin) and
each connection mode (keep-alive: one TLS connection reused; new: a new connection and TLS
handshake per request, through the chain a new CONNECT tunnel too), one client thread sends
GET https://allowed.test/bench sequentially for --seconds (or --max-requests) and records
each request's latency. Prints requests/s, p50 and p99, and what the chain adds.
Also runs --concurrency threads at once (keep-alive) for a throughput figure.
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
from conftest import (ADDON, DEFAULT_DOUBLE_CONFIG, DOUBLE, DOUBLE_SRC, MITMDUMP, ORIGIN,  # noqa: E402
                      SYSTEM_PY, TEST_NAMES, free_port, stop, wait_port)

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
    import socket
    try:
        socket.gethostbyname("allowed.test")
    except OSError:
        with open("/etc/hosts", "a") as f:
            f.write("127.0.0.1 " + " ".join(TEST_NAMES) + "\n")


class Target:
    def __init__(self, name, ctx, proxy_port=None):
        self.name, self.ctx, self.proxy_port = name, ctx, proxy_port

    def connect(self) -> http.client.HTTPSConnection:
        if self.proxy_port:
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    ap.add_argument("--max-requests", type=int, default=20000, help="per measurement")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--json", help="also write results here")
    a = ap.parse_args()
    ensure_hosts()
    procs = []
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
            cfg.write_text(json.dumps(DEFAULT_DOUBLE_CONFIG))
            p = subprocess.Popen([SYSTEM_PY, str(DOUBLE), "run", "--config", str(cfg), "--listen", f"127.0.0.1:{dport}"],
                                 stdout=(tmp / "double.log").open("w"), stderr=subprocess.STDOUT,
                                 env={"PATH": "/usr/bin:/bin", "SSL_CERT_FILE": str(certs["ca"]),
                                      "PIPELOCK_DOUBLE_SOURCE_ADDR": DOUBLE_SRC})
            procs.append(p)
            wait_port(dport, p, "double")
            mport = free_port()
            conf = tmp / "mitm"
            p = subprocess.Popen([MITMDUMP, "-q", "--listen-host", "127.0.0.1", "--listen-port", str(mport),
                                  "-s", str(ADDON), "--set", f"confdir={conf}", "--set", "connection_strategy=lazy",
                                  "--set", "upstream_cert=false", "--set", f"bottle_pipelock=127.0.0.1:{dport}"],
                                 stdout=(tmp / "mitm.log").open("w"), stderr=subprocess.STDOUT)
            procs.append(p)
            wait_port(mport, p, "mitmdump")

            direct = Target("direct", ssl.create_default_context(cafile=str(certs["ca"])))
            chain = Target("chain", ssl.create_default_context(cafile=str(conf / "mitmproxy-ca-cert.pem")), mport)
            results = {}
            for mode in ("keep-alive", "new-connection"):
                for t in (direct, chain):
                    results[(mode, t.name)] = run_seq(t, mode == "keep-alive", a.seconds, a.max_requests)
            mode = f"keep-alive x{a.concurrency}"
            for t in (direct, chain):
                results[(mode, t.name)] = run_concurrent(t, a.concurrency, a.seconds, a.max_requests)
        finally:
            for p in procs:
                stop(p)

    print(f"bot-bottle addon benchmark: GET https://allowed.test{PATH} (small body), "
          f"{a.seconds:g}s or {a.max_requests} requests per row; mitmdump "
          f"{subprocess.run([MITMDUMP, '--version'], capture_output=True, text=True).stdout.split()[1]}, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs")
    print("direct = client -> origin; chain = client -> mitmdump+addon -> pipelock double -> origin")
    hdr = f"{'mode':<18}{'path':<8}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'+p50 ms':>9}{'+p99 ms':>9}"
    print(hdr)
    print("-" * len(hdr))
    out = []
    for (mode, name), r in results.items():
        added = ""
        if name == "chain":
            d = results[(mode, "direct")]
            added = f"{r['p50'] - d['p50']:>9.2f}{r['p99'] - d['p99']:>9.2f}"
        print(f"{mode:<18}{name:<8}{r['n']:>9}{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{added}")
        out.append({"mode": mode, "path": name, **r})
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
