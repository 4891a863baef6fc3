"""Tests of the pipelock TEST DOUBLE itself (runs in the mitmproxy test image via
tests/addon/run.sh, --network none). Destinations on closed loopback ports are used to tell
"passed the checks" (502 forward proxy fetch failed) from "blocked" (403)."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

DOUBLE = Path(__file__).resolve().parent / "pipelock_double.py"
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
SECRET = "s3cr3t-Value-0123456789-abcXYZ"
BASE = {"version": 1, "mode": "strict", "api_allowlist": ["*.allowed.test"],
        "forward_proxy": {"enabled": True},
        "request_body_scanning": {"enabled": True, "action": "block", "scan_headers": True}}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CLOSED = free_port()  # nothing listens here


@pytest.fixture
def run_double(tmp_path):
    procs = []

    def start(config, env=None, expect_fail=False):
        cfg = tmp_path / f"cfg{len(procs)}.json"
        cfg.write_text(config if isinstance(config, str) else json.dumps(config))
        port = free_port()
        p = subprocess.Popen([PY, str(DOUBLE), "run", "--config", str(cfg), "--listen", f"127.0.0.1:{port}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={"PATH": "/usr/bin:/bin", "MY_TOKEN": SECRET, **(env or {})})
        procs.append(p)
        if expect_fail:
            out, err = p.communicate(timeout=10)
            return p.returncode, err
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return port
            except OSError:
                assert p.poll() is None, p.stderr.read()
                time.sleep(0.05)
        raise RuntimeError("double did not start")

    yield start
    for p in procs:
        if p.poll() is None:
            p.terminate()
            p.wait(5)


def req(port, method, target, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, target, body=body, headers=headers or {})
    r = c.getresponse()
    return r.status, dict(r.getheaders()), r.read().decode()


@pytest.mark.parametrize("config,needle", [
    ({**BASE, "surprise": 1}, "unknown config key(s): surprise"),
    ({**BASE, "forward_proxy": {"enabled": True, "bogus": 1}}, "in forward_proxy: bogus"),
    ({**BASE, "api_allowlist": []}, "strict mode requires a non-empty api_allowlist"),
    ("mode: strict\n", "only parses JSON"),
])
def test_bad_config_is_a_startup_error(run_double, config, needle):
    code, err = run_double(config, expect_fail=True)
    assert code == 2 and needle in err


def test_health_and_disabled_forward_proxy(run_double):
    port = run_double({**BASE, "forward_proxy": {"enabled": False}})
    status, _, body = req(port, "GET", "/health")
    assert status == 200
    h = json.loads(body)
    assert h["status"] == "healthy" and h["forward_proxy_enabled"] is False
    assert req(port, "GET", "http://allowed.test/")[0] == 405
    assert req(port, "CONNECT", "allowed.test:443")[0] == 405


def test_wildcard_matches_apex_and_subdomains_only(run_double):
    port = run_double(BASE)
    for host in ("allowed.test", "a.allowed.test", "b.a.allowed.test"):
        status, _, body = req(port, "GET", f"http://{host}:{CLOSED}/")
        assert (status, body) == (502, "forward proxy fetch failed\n"), host
    for host in ("notallowed.test", "allowed.test.evil", "denied.test"):
        status, headers, body = req(port, "GET", f"http://{host}:{CLOSED}/")
        assert status == 403 and body == f"blocked: domain not in allowlist: {host}\n"
        assert headers["X-Pipelock-Block-Reason"] == "domain_blocklist"
        assert headers["X-Pipelock-Block-Reason-Version"] == "1"
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert req(port, "CONNECT", "denied.test:443")[0] == 403
    assert req(port, "CONNECT", f"allowed.test:{CLOSED}")[0] == 502


@pytest.mark.parametrize("where", ["url-raw", "url-base64", "url-urlencoded", "header", "body-hex"])
def test_env_secret_blocked_in_encodings(run_double, where):
    port = run_double(BASE)
    target, body, headers = f"http://allowed.test:{CLOSED}/p", None, {}
    if where == "url-raw":
        target += "?k=" + SECRET
    elif where == "url-base64":
        target += "?k=" + base64.b64encode(SECRET.encode()).decode()
    elif where == "url-urlencoded":
        target += "?k=" + urllib.parse.quote(SECRET, safe="")
    elif where == "header":
        headers = {"X-Leak": SECRET}
    else:
        body = SECRET.encode().hex().encode()
    status, h, text = req(port, "POST", target, body=body, headers=headers)
    assert status == 403 and h["X-Pipelock-Block-Reason"] == "dlp_match"
    assert "environment variable MY_TOKEN" in text


def test_body_action_warn_only_logs(run_double):
    port = run_double({**BASE, "request_body_scanning": {"enabled": True, "action": "warn"}})
    assert req(port, "POST", f"http://allowed.test:{CLOSED}/", body=SECRET.encode())[0] == 502
    # but a secret in the URL always blocks
    assert req(port, "GET", f"http://allowed.test:{CLOSED}/?{SECRET}")[0] == 403


def test_custom_and_default_patterns(run_double):
    port = run_double({**BASE, "dlp": {"patterns": [{"name": "Canary", "regex": "CANARY-[0-9]{4}",
                                                     "severity": "high"}]}})
    status, _, text = req(port, "POST", f"http://allowed.test:{CLOSED}/", body=b"x CANARY-1234 y")
    assert status == 403 and text == "blocked: request body contains secret: Canary\n"
    status, _, text = req(port, "POST", f"http://allowed.test:{CLOSED}/",
                          body=b"ghp_" + b"a1B2" * 10)
    assert status == 403 and "GitHub Token" in text


def test_enforce_false_lets_everything_through(run_double):
    port = run_double({**BASE, "enforce": False})
    assert req(port, "GET", f"http://denied.test:{CLOSED}/?{SECRET}")[0] == 502


def test_wait_for_gates_health(run_double):
    port = run_double(BASE, env={"PIPELOCK_DOUBLE_WAIT_FOR": "localhost,no-such-name.invalid"})
    status, _, body = req(port, "GET", "/health")
    assert status == 503 and json.loads(body)["unresolved"] == ["no-such-name.invalid"]
    rc = subprocess.run([PY, str(DOUBLE), "healthcheck", "--addr", f"127.0.0.1:{port}"]).returncode
    assert rc == 1
    port2 = run_double(BASE, env={"PIPELOCK_DOUBLE_WAIT_FOR": "localhost"})
    assert req(port2, "GET", "/health")[0] == 200
    assert subprocess.run([PY, str(DOUBLE), "healthcheck", "--addr", f"127.0.0.1:{port2}"]).returncode == 0
