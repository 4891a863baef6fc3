"""Fixtures for the mitmproxy addon tests (tests/addon/).

Everything runs inside ONE bot-bottle-test/mitmproxy container started with
`--network none` (see tests/addon/run.sh), on loopback:

    client --(proxy, TLS with mitmproxy's generated CA)--> mitmdump + bottle_verdict.py
           --(plain HTTP, absolute form)--> pipelock (the test double, or a real pipelock)
           --(HTTPS with the test CA)--> origin (tests/images/origin/origin.py) on 127.0.0.1:443/80

allowed.test, denied.test, other.allowed.test and the pipelock sidecar name
(PIPELOCK_NAME) resolve to 127.0.0.1 (run.sh passes --add-host; as a fallback the fixtures
append them to /etc/hosts when running as root). The addon is configured the way the product
configures it: a JSON config file (bottle_config) naming pipelock by its sidecar name.

pipelock: by default the test double (tests/pipelock_double/pipelock_double.py), which
binds its upstream sockets to 127.0.0.2, so the origin can tell the double's connections
from anybody else's: after every test an autouse fixture asserts that every connection the
origin accepted came from 127.0.0.2, i.e. mitmproxy never dialed it. With
BOT_BOTTLE_ADDON_TEST_PIPELOCK=/path/to/pipelock (a real pipelock binary, mounted by run.sh)
the same tests run against the real thing (that source-address check is then skipped;
mitmproxy's side is still checked: it logs every connection it refuses).

The pipelock config the tests write is valid for the real pipelock v2.3.0 and the double
follows it: the test hosts live on 127.0.0.1, so they are in trusted_domains (pipelock
resolves every name itself and refuses private addresses otherwise); the rate limit is
high; max_body_bytes is the addon's limit; header_mode all + ignore_headers for the
headers credentials are injected into. Both write pipelock's zerolog events
(`forward_http`, `blocked`, `header_dlp`, `body_dlp`, ...) and no X-Pipelock-* headers:
tests read those events (the same on both), and what pipelock passed on (headers, bodies,
body hashes) from the origin's record.
"""

import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
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
REAL_PIPELOCK = os.environ.get("BOT_BOTTLE_ADDON_TEST_PIPELOCK", "")

DOUBLE_SRC = "127.0.0.2"
PIPELOCK_NAME = "bot-bottle-pipelock-addontest"  # the pipelock sidecar's container name
MITM_NAME = "bot-bottle-mitm-addontest"
MODEL_PIPELOCK_NAME = "bot-bottle-model-pl-addontest"  # the model lane's pipelock (test_model_lane.py)
ORIGIN_NAMES = ["allowed.test", "denied.test", "other.allowed.test", "api.anthropic.com"]  # the origin's certificate
TEST_NAMES = ORIGIN_NAMES[:3] + [PIPELOCK_NAME, "api.anthropic.com", MODEL_PIPELOCK_NAME]
MAX_BODY = 16 * 1024 * 1024  # the product default (egress.max_request_mb 16)

# A forwarded secret the agent holds; pipelock scans for it (scan_env) and so does the addon.
SECRET_NAME = "BOTTLE_TEST_API_TOKEN"
SECRET_VALUE = "tOk3n-9f8A7b6C5d4E3f2G1h0-zzQ"  # high entropy, >= 16 chars


def fake_key(prefix: str, n: int, seed: str, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") -> str:
    """A deterministic value of a real credential's format and length."""
    out, i = [], 0
    while len(out) < n:
        for b in hashlib.sha256(f"{seed}-{i}".encode()).digest():
            out.append(alphabet[b % len(alphabet)])
        i += 1
    return prefix + "".join(out[:n])


# Credentials the tests bind, with real-format values (the agent only ever sees placeholders).
ANTHROPIC_KEY = fake_key("sk-ant-api03-", 93, "api", alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") + "AA"  # 108 chars
OAUTH_TOKEN = fake_key("sk-ant-oat01-", 95, "oat", alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
GIT_TOKEN = fake_key("ghp_", 36, "git")
CREDENTIALS = [
    {"name": "ANTHROPIC_API_KEY", "env": "BOT_BOTTLE_CREDENTIAL_ANTHROPIC_API_KEY", "value": ANTHROPIC_KEY,
     "hosts": ["allowed.test"], "header": "x-api-key", "scheme": None,
     "placeholder": "bot-bottle-placeholder-ANTHROPIC_API_KEY"},
    {"name": "CLAUDE_CODE_OAUTH_TOKEN", "env": "BOT_BOTTLE_CREDENTIAL_CLAUDE_CODE_OAUTH_TOKEN", "value": OAUTH_TOKEN,
     "hosts": ["allowed.test"], "header": "Authorization", "scheme": "Bearer",
     "placeholder": "bot-bottle-placeholder-CLAUDE_CODE_OAUTH_TOKEN"},
    {"name": "GIT_TOKEN", "env": "BOT_BOTTLE_CREDENTIAL_GIT_TOKEN", "value": GIT_TOKEN,
     "hosts": ["other.allowed.test"], "header": "authorization", "scheme": "Basic",
     "placeholder": "bot-bottle-placeholder-GIT_TOKEN"},
]
GUARDED = [{"name": SECRET_NAME, "env": "BOT_BOTTLE_GUARDED_" + SECRET_NAME, "value": SECRET_VALUE}]


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


def ensure_test_hosts():
    missing = []
    for name in TEST_NAMES:
        try:
            if socket.gethostbyname(name) != "127.0.0.1":
                missing.append(name)
        except OSError:
            missing.append(name)
    if missing:
        if os.geteuid() != 0:
            raise RuntimeError(f"{missing} must resolve to 127.0.0.1 (docker run --add-host)")
        with open("/etc/hosts", "a") as f:
            f.write("127.0.0.1 " + " ".join(missing) + "\n")
    for name in TEST_NAMES:
        assert socket.gethostbyname(name) == "127.0.0.1"


@pytest.fixture(scope="session", autouse=True)
def test_hosts():
    ensure_test_hosts()


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
        "subjectAltName=" + ",".join(f"DNS:{n}" for n in ORIGIN_NAMES) + ",DNS:localhost,IP:127.0.0.1\n")
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

    def requests(self, path_prefix: str) -> list[dict]:
        return [r for r in self.seen()["requests"] if r["path"].startswith(path_prefix)]


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


def pipelock_config(**overrides) -> dict:
    """A pipelock config valid for the real pipelock v2.3.0 (and the conformance double)."""
    cfg = {
        "version": 1,
        "mode": "strict",
        "enforce": True,
        "api_allowlist": ["*.allowed.test"],  # also matches the apex allowed.test
        "trusted_domains": ["allowed.test", "*.allowed.test"],  # they live on 127.0.0.1
        "forward_proxy": {"enabled": True},
        "fetch_proxy": {"timeout_seconds": 120, "monitoring": {"max_requests_per_minute": 100000}},
        "dlp": {"include_defaults": True, "scan_env": True, "min_env_secret_length": 16},
        "request_body_scanning": {"enabled": True, "action": "block", "max_body_bytes": MAX_BODY,
                                  "scan_headers": True, "header_mode": "all",
                                  "ignore_headers": ["Authorization", "X-Api-Key"]},
        "logging": {"format": "json", "output": "stdout", "include_allowed": True, "include_blocked": True},
    }
    cfg.update(overrides)
    return cfg


# pipelock's per-request events (logger.go): each carries a request_id.
REQUEST_EVENTS = {"forward_http", "blocked", "header_dlp", "body_dlp", "anomaly", "response_scan",
                  "redirect", "tunnel_open", "tunnel_close", "error"}


class Pipelock:
    def __init__(self, port: int, log: Path, proc: subprocess.Popen, real: bool):
        self.port, self.log, self.proc, self.real = port, log, proc, real
        self.addr = f"{PIPELOCK_NAME}:{port}"  # as the product names it: the sidecar's name

    def entries(self) -> list[dict]:
        out = []
        for line in self.log.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def requests(self) -> list[dict]:
        """Every event pipelock logged about a request (forwarded, blocked, DLP hits,
        errors): one or more per request that reached it."""
        return [e for e in self.entries() if e.get("event") in REQUEST_EVENTS]

    def settled_count(self, quiet=0.15, timeout=5.0) -> int:
        """len(requests()) once the log has stopped growing for `quiet` seconds (pipelock
        writes a request's line after its answer, which the client may already have read)."""
        deadline = time.monotonic() + timeout
        n = len(self.requests())
        while time.monotonic() < deadline:
            time.sleep(quiet)
            m = len(self.requests())
            if m == n:
                return n
            n = m
        return n

    def forwarded(self, url: str, timeout=10.0) -> list[dict]:
        """pipelock's `forward_http` events for this absolute URL (waits for the first)."""
        deadline = time.monotonic() + timeout
        while True:
            hits = [e for e in self.entries() if e.get("event") == "forward_http" and e.get("url") == url]
            if hits or time.monotonic() > deadline:
                return hits
            time.sleep(0.05)


@pytest.fixture(scope="session")
def start_double(workdir, certs):
    procs = []

    def start(config: dict | None = None, name: str = "pipelock", env: dict | None = None) -> Pipelock:
        config = json.loads(json.dumps(config or pipelock_config()))
        penv = {"PATH": "/usr/bin:/bin", "SSL_CERT_FILE": str(certs["ca"]),
                "PIPELOCK_DOUBLE_SOURCE_ADDR": DOUBLE_SRC, "PYTHONUNBUFFERED": "1",
                "HOME": str(workdir)}
        # pipelock's environment holds every forwarded secret and credential value (scan_env)
        penv.update({SECRET_NAME: SECRET_VALUE, **{c["name"]: c["value"] for c in CREDENTIALS}})
        penv.update(env or {})
        port = free_port()
        cfg = workdir / f"{name}-{port}.json"
        cfg.write_text(json.dumps(config))
        log = workdir / f"{name}-{port}.log"
        cmd = ([REAL_PIPELOCK] if REAL_PIPELOCK else [SYSTEM_PY, str(DOUBLE)]) + \
            ["run", "--config", str(cfg), "--listen", f"127.0.0.1:{port}"]
        proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, env=penv)
        procs.append(proc)
        wait_port(port, proc, "pipelock", log)
        return Pipelock(port, log, proc, bool(REAL_PIPELOCK))

    yield start
    for p in procs:
        stop(p)


def addon_config(pipelock_addr: str, credentials=None, guarded=None, **overrides) -> dict:
    creds = CREDENTIALS if credentials is None else credentials
    guard = GUARDED if guarded is None else guarded
    cfg = {
        "version": 1,
        "pipelock": pipelock_addr,
        "max_body_bytes": MAX_BODY,
        "sidecars": [PIPELOCK_NAME, MITM_NAME],
        "credentials": [{k: v for k, v in c.items() if k != "value"} for c in creds],
        "guarded": [{k: v for k, v in g.items() if k != "value"} for g in guard],
        "unscanned_headers": ["authorization", "x-api-key"],
    }
    cfg.update(overrides)
    return cfg


def addon_env(credentials=None, guarded=None) -> dict:
    creds = CREDENTIALS if credentials is None else credentials
    guard = GUARDED if guarded is None else guarded
    return {c["env"]: c["value"] for c in [*creds, *guard]}


def client(mitm, timeout=30.0):
    """An httpx client through `mitm`, trusting its CA. HTTP/1.1: httpx through a proxy
    tunnel offers ALPN "http/1.1" before "h2", and mitmproxy honours the client's order, so
    HTTP/2 tests use curl --http2."""
    import httpx  # only the tests that make requests need it
    ctx = ssl.create_default_context(cafile=str(mitm.ca))
    return httpx.Client(proxy=mitm.proxy, verify=ctx, timeout=timeout, trust_env=False)


class Mitm:
    def __init__(self, port: int, confdir: Path, out: Path, err: Path, proc: subprocess.Popen):
        self.port, self.confdir, self.out, self.err, self.proc = port, confdir, out, err, proc
        self.log = out
        self.proxy = f"http://127.0.0.1:{port}"
        self.ca = confdir / "mitmproxy-ca-cert.pem"

    def lines(self) -> list[dict]:
        """The addon's request log lines (stdout)."""
        out = []
        for line in self.out.read_text().splitlines():
            if line.startswith("{"):
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if obj.get("bot_bottle") == "request":
                    out.append(obj)
        return out

    def wait_lines(self, n: int, timeout=10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.lines()
            if len(lines) >= n:
                return lines
            time.sleep(0.05)
        return self.lines()

    def line_for(self, path_prefix: str, since: int, timeout=10.0) -> dict:
        """The first request-log line for path_prefix among the lines after the first
        `since` (a count taken before the request): the line is written when mitmproxy has
        passed the response on, which can be just after the client has read it."""
        deadline = time.monotonic() + timeout
        while True:
            hits = [x for x in self.lines()[since:] if (x["path"] or "").startswith(path_prefix)]
            if hits or time.monotonic() > deadline:
                assert hits, f"no log line for {path_prefix}: {self.lines()[-5:]}"
                return hits[0]
            time.sleep(0.05)

    def rss_kb(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")


def mitm_args(port: int, confdir: Path, *, config_path: Path | None = None, legacy_pipelock: str | None = None,
              contract_sets: bool = True, extra=()) -> list[str]:
    args = [MITMDUMP, "--listen-host", "127.0.0.1", "--listen-port", str(port),
            "-s", str(ADDON), "--set", f"confdir={confdir}",
            *(["--set", "connection_strategy=lazy", "--set", "upstream_cert=false"] if contract_sets else [])]
    if config_path is not None:
        args += ["--set", f"bottle_config={config_path}"]
    if legacy_pipelock is not None:
        args += ["--set", f"bottle_pipelock={legacy_pipelock}"]
    return args + list(extra)


@pytest.fixture(scope="session")
def start_mitm(workdir):
    procs = []

    def start(pipelock_addr: str | None = None, *extra: str, config: dict | None = None, env: dict | None = None,
              name: str = "mitm", contract_sets: bool = True, legacy: bool = False) -> Mitm:
        port = free_port()
        confdir = workdir / f"{name}-{port}-conf"
        out, err = workdir / f"{name}-{port}.out", workdir / f"{name}-{port}.err"
        cfg_path = None
        if not legacy:
            cfg_path = workdir / f"{name}-{port}-addon.json"
            cfg_path.write_text(json.dumps(config if config is not None else addon_config(pipelock_addr)))
        menv = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir),
                **(addon_env() if env is None else env)}
        args = mitm_args(port, confdir, config_path=cfg_path, legacy_pipelock=pipelock_addr if legacy else None,
                         contract_sets=contract_sets, extra=extra)
        proc = subprocess.Popen(args, stdout=out.open("w"), stderr=err.open("w"), env=menv)
        procs.append(proc)
        wait_port(port, proc, "mitmdump", err)
        assert (confdir / "mitmproxy-ca-cert.pem").exists()
        return Mitm(port, confdir, out, err, proc)

    yield start
    for p in procs:
        stop(p)


@pytest.fixture(scope="session")
def double(start_double):
    return start_double()


@pytest.fixture(scope="session")
def mitm(start_mitm, double):
    return start_mitm(double.addr)


class RecordingListener:
    """A fake pipelock listener: records every connection and the raw bytes it received,
    answers each read with a 403 `blocked:` text and closes."""

    def __init__(self, status: int = 403):
        self.status = status  # 200: a fast "pipelock" that reads the body and says ok
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.addr = f"{PIPELOCK_NAME}:{self.port}"
        self.connections: list[bytes] = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        idx = None
        with self.lock:
            self.connections.append(b"")
            idx = len(self.connections) - 1
        conn.settimeout(3)
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            if self.status == 200:
                head, _, rest = data.partition(b"\r\n\r\n")
                n = next((int(v) for k, _, v in (ln.partition(b":") for ln in head.split(b"\r\n"))
                          if k.strip().lower() == b"content-length"), 0)
                got = len(rest)
                while got < n:
                    chunk = conn.recv(1 << 20)
                    if not chunk:
                        break
                    got += len(chunk)
                data = head + b"\r\n\r\n" + b"<%d body bytes>" % got
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                             b"Content-Length: 3\r\n\r\nok\n")
                return
            body = b"blocked: recording listener\n"
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
                         b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        except OSError:
            pass
        finally:
            with self.lock:
                self.connections[idx] = data
            conn.close()

    def close(self):
        self.closed = True
        self.sock.close()


@pytest.fixture
def recording_listener():
    rl = RecordingListener()
    yield rl
    rl.close()


@pytest.fixture
def fast_pipelock():
    """A "pipelock" that reads each request and answers 200 at once: for tests about
    mitmproxy's own memory (a real pipelock scans 16 MiB bodies for minutes)."""
    rl = RecordingListener(status=200)
    yield rl
    rl.close()


@pytest.fixture(autouse=True)
def only_pipelock_reaches_origin(request, origin):
    """Reset the origin before each test; afterwards every connection it accepted must
    have come from the double's source address (never from mitmproxy or the client)."""
    origin.reset()
    yield
    if REAL_PIPELOCK:
        return
    seen = origin.seen()
    peers = {c["peer"] for c in seen["connections"]}
    assert peers <= {DOUBLE_SRC}, f"origin was reached from {peers - {DOUBLE_SRC}}: {seen['connections']}"
