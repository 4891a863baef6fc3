"""Fixtures for the mitmproxy addon tests (tests/addon/).

Everything runs inside ONE bot-bottle-test/mitmproxy container started with
`--network none` (see tests/addon/run.sh), on loopback:

    client --(proxy, TLS with mitmproxy's generated CA)--> mitmdump + bottle_verdict.py
           --(plain HTTP, absolute form)--> pipelock test double (source address 127.0.0.2)
           --(HTTPS with the test CA)--> origin (tests/images/origin/origin.py) on 127.0.0.1:443/80

allowed.test, denied.test and other.allowed.test resolve to 127.0.0.1 (run.sh passes
--add-host; as a fallback the fixtures append them to /etc/hosts when running as root).
The double binds its upstream sockets to 127.0.0.2, so the origin can tell the double's
connections from anybody else's: after every test, an autouse fixture asserts that every
connection the origin accepted came from 127.0.0.2, i.e. mitmproxy never dialed it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(os.environ.get("BOT_BOTTLE_REPO", Path(__file__).resolve().parents[2]))
ADDON = Path(os.environ.get("BOT_BOTTLE_ADDON", REPO / "nix" / "mitmproxy" / "bottle_verdict.py"))
DOUBLE = REPO / "tests" / "pipelock_double" / "pipelock_double.py"
ORIGIN = REPO / "tests" / "images" / "origin" / "origin.py"
MITMDUMP = shutil.which("mitmdump") or "/opt/mitmproxy/bin/mitmdump"
SYSTEM_PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

DOUBLE_SRC = "127.0.0.2"
TEST_NAMES = ["allowed.test", "denied.test", "other.allowed.test"]
SECRET_NAME = "BOTTLE_TEST_API_TOKEN"
SECRET_VALUE = "tOk3n-9f8A7b6C5d4E3f2G1h0-zzQ"  # high entropy, >= 16 chars


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, what: str, log: Path | None = None, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: "
                               f"{log.read_text() if log and log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


def stop(proc: subprocess.Popen):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("addon")


@pytest.fixture(scope="session", autouse=True)
def test_hosts():
    missing = []
    for name in TEST_NAMES:
        try:
            if socket.gethostbyname(name) != "127.0.0.1":
                missing.append(name)
        except OSError:
            missing.append(name)
    if missing:
        if os.geteuid() != 0:
            pytest.fail(f"{missing} must resolve to 127.0.0.1 (docker run --add-host)")
        with open("/etc/hosts", "a") as f:
            f.write("127.0.0.1 " + " ".join(missing) + "\n")
    for name in TEST_NAMES:
        assert socket.gethostbyname(name) == "127.0.0.1"


@pytest.fixture(scope="session")
def certs(workdir) -> dict:
    d = workdir / "certs"
    d.mkdir()

    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "30", "-subj", "/CN=addon-test fake-internet CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr",
        "-subj", "/CN=allowed.test")
    (d / "ext.cnf").write_text(
        "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
        "subjectAltName=" + ",".join(f"DNS:{n}" for n in TEST_NAMES) + ",DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "leaf.pem", "-days", "30", "-extfile", "ext.cnf")
    return {"ca": d / "ca.pem", "cert": d / "leaf.pem", "key": d / "leaf.key"}


class Origin:
    def __init__(self, control_port: int):
        self.control = f"http://127.0.0.1:{control_port}"

    def seen(self) -> dict:
        with urllib.request.urlopen(self.control + "/__seen", timeout=10) as r:
            return json.load(r)

    def reset(self):
        req = urllib.request.Request(self.control + "/__reset", method="POST", data=b"")
        urllib.request.urlopen(req, timeout=10).read()


@pytest.fixture(scope="session")
def origin(workdir, certs):
    control = free_port()
    log = workdir / "origin.log"
    proc = subprocess.Popen(
        [SYSTEM_PY, str(ORIGIN), "--https", "127.0.0.1:443", "--http", "127.0.0.1:80",
         "--control", f"127.0.0.1:{control}", "--cert", str(certs["cert"]), "--key", str(certs["key"])],
        stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_port(control, proc, "origin", log)
    wait_port(443, proc, "origin", log)
    yield Origin(control)
    stop(proc)


class Double:
    def __init__(self, port: int, log: Path, proc: subprocess.Popen):
        self.port, self.log, self.proc = port, log, proc
        self.addr = f"127.0.0.1:{port}"

    def entries(self) -> list[dict]:
        out = []
        for line in self.log.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def requests(self) -> list[dict]:
        return [e for e in self.entries() if e.get("event") in ("allowed", "blocked", "error")]


DEFAULT_DOUBLE_CONFIG = {
    "version": 1,
    "mode": "strict",
    "enforce": True,
    "api_allowlist": ["*.allowed.test"],  # also matches the apex allowed.test
    "forward_proxy": {"enabled": True},
    "dlp": {"include_defaults": True, "scan_env": True, "min_env_secret_length": 16},
    "request_body_scanning": {"enabled": True, "action": "block", "scan_headers": True},
    "logging": {"format": "json", "output": "stdout", "include_allowed": True, "include_blocked": True},
}


@pytest.fixture(scope="session")
def start_double(workdir, certs):
    procs = []

    def start(config: dict | None = None, name: str = "double") -> Double:
        port = free_port()
        cfg = workdir / f"{name}-{port}.json"
        cfg.write_text(json.dumps(config or DEFAULT_DOUBLE_CONFIG))
        log = workdir / f"{name}-{port}.log"
        env = {"PATH": "/usr/bin:/bin", "SSL_CERT_FILE": str(certs["ca"]),
               "PIPELOCK_DOUBLE_SOURCE_ADDR": DOUBLE_SRC, "PYTHONUNBUFFERED": "1",
               SECRET_NAME: SECRET_VALUE}
        proc = subprocess.Popen(
            [SYSTEM_PY, str(DOUBLE), "run", "--config", str(cfg), "--listen", f"127.0.0.1:{port}"],
            stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)
        procs.append(proc)
        wait_port(port, proc, "pipelock double", log)
        return Double(port, log, proc)

    yield start
    for p in procs:
        stop(p)


class Mitm:
    def __init__(self, port: int, confdir: Path, log: Path, proc: subprocess.Popen):
        self.port, self.confdir, self.log, self.proc = port, confdir, log, proc
        self.proxy = f"http://127.0.0.1:{port}"
        self.ca = confdir / "mitmproxy-ca-cert.pem"


@pytest.fixture(scope="session")
def start_mitm(workdir):
    procs = []

    def start(pipelock: str, *extra: str, name: str = "mitm", contract_sets: bool = True) -> Mitm:
        port = free_port()
        confdir = workdir / f"{name}-{port}-conf"
        log = workdir / f"{name}-{port}.log"
        args = [MITMDUMP, "--listen-host", "127.0.0.1", "--listen-port", str(port),
                "-s", str(ADDON), "--set", f"confdir={confdir}",
                *(["--set", "connection_strategy=lazy", "--set", "upstream_cert=false"] if contract_sets else []),
                "--set", f"bottle_pipelock={pipelock}", *extra]
        proc = subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT)
        procs.append(proc)
        wait_port(port, proc, "mitmdump", log)
        assert (confdir / "mitmproxy-ca-cert.pem").exists()
        return Mitm(port, confdir, log, proc)

    yield start
    for p in procs:
        stop(p)


@pytest.fixture(scope="session")
def double(start_double):
    return start_double()


@pytest.fixture(scope="session")
def mitm(start_mitm, double):
    return start_mitm(double.addr)


@pytest.fixture(autouse=True)
def only_the_double_reaches_origin(request, origin):
    """Reset the origin before each test; afterwards every connection it accepted must
    have come from the double's source address (never from mitmproxy or the client)."""
    origin.reset()
    yield
    seen = origin.seen()
    peers = {c["peer"] for c in seen["connections"]}
    assert peers <= {DOUBLE_SRC}, f"origin was reached from {peers - {DOUBLE_SRC}}: {seen['connections']}"
