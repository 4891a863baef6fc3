"""Unit tests of the pipelock conformance double itself (run by tests/addon/run.sh in the
mitmproxy test image, --network none, allowed.test etc. -> 127.0.0.1). Behaviour against a
real pipelock is checked by tests/pipelock_conformance/ (run.sh there); these tests cover the
double's pieces offline and its test-only knobs."""

from __future__ import annotations

import base64
import http.client
import http.server
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

DOUBLE = Path(__file__).resolve().parent / "pipelock_double.py"
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
SECRET = "s3cr3t-Value-0123456789-abcXYZ"
BASE = {"version": 1, "mode": "strict", "api_allowlist": ["*.allowed.test"],
        "trusted_domains": ["*.allowed.test"], "forward_proxy": {"enabled": True},
        "request_body_scanning": {"enabled": True, "action": "block"}}

spec = importlib.util.spec_from_file_location("pipelock_double", DOUBLE)
pd = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pd)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
            out, err = p.communicate(timeout=20)
            return p.returncode, err
        for _ in range(300):
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


@pytest.fixture
def origin():
    """A plain HTTP origin on 127.0.0.1 (allowed.test resolves there in the test image)."""
    seen = []

    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            seen.append((self.client_address[0], self.path, dict(self.headers)))
            body = b"hello\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1], seen
    srv.shutdown()


def req(port, method, target, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, target, body=body, headers=headers or {})
    r = c.getresponse()
    return r.status, dict(r.getheaders()), r.read().decode()


# -- config -------------------------------------------------------------------------------------

@pytest.mark.parametrize("config,needle", [
    ({**BASE, "surprise": 1}, "line 1: field surprise not found in type config.Config"),
    ({**BASE, "response_scanning": {"sse_streaming": {"bogus": 1}}},
     "field bogus not found in type config.GenericSSEScanning"),
    ({**BASE, "fetch_proxy": {"timeout_seconds": "10"}}, "cannot unmarshal !!str `10` into int"),
    ({**BASE, "api_allowlist": "allowed.test.example"}, "cannot unmarshal !!str `allowed...` into []string"),
    ('{"mode": "strict", "mode": "audit"}', 'line 1: mapping key "mode" already defined at line 1'),
    ({**BASE, "api_allowlist": []}, "invalid config: strict mode requires at least one domain in api_allowlist"),
    ({**BASE, "seed_phrase_detection": {"min_words": 13}}, "must be 12, 15, 18, 21, or 24"),
    ("mode: strict\n", "JSON-as-YAML only"),
])
def test_bad_config_is_a_startup_error_exit_1(run_double, config, needle):
    code, err = run_double(config, expect_fail=True)
    assert code == 1 and needle in err, err


def test_schema_table_covers_v2_3_0():
    assert len(pd.SCHEMA) == 80     # structs in schema.go, canary.go, redact/config.go
    assert sum(len(v) for v in pd.SCHEMA.values()) == 450
    assert pd.SCHEMA["RequestBodyScanning"]["ignore_headers"] == "[]string"


def test_yaml_booleans_and_defaults(tmp_path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps({**BASE, "forward_proxy": {"enabled": "on"},
                             "fetch_proxy": {"timeout_seconds": -3,
                                             "monitoring": {"max_requests_per_minute": 0}}}))
    c = pd.Config(str(f))
    assert c.forward_proxy is True and c.timeout_seconds == 30
    assert c.max_requests_per_minute == 60 and c.max_body_bytes == 5 * 1024 * 1024
    assert c.header_mode == "sensitive" and c.body_action == "block" and c.blocklist == []
    assert c.response_action == "warn" and c.sse_enabled and c.seed_min_words == 12


# -- scanners -------------------------------------------------------------------------------------

def test_seed_phrase_checksums():
    assert pd.seed_detect(" ".join(["abandon"] * 11 + ["about"]), 12, True)
    assert not pd.seed_detect(" ".join(["abandon"] * 12), 12, True)
    assert pd.seed_detect(" ".join(["abandon"] * 23 + ["art"]), 24, True)
    # why Claude Code's bodies tripped the 12-word default: "type" x 12 is a valid mnemonic
    assert pd.seed_detect("\n".join(["type"] * 12), 12, True)
    assert not pd.seed_detect("\n".join(["type"] * 30), 24, True)


def test_validators_and_domains():
    assert pd.VALIDATORS["luhn"]("4111 1111 1111 1111") and not pd.VALIDATORS["luhn"]("4111111111111112")
    assert pd.VALIDATORS["mod97"]("GB82WEST12345698765432")
    assert pd.VALIDATORS["wif"]("5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ")
    assert pd.base_domain("api.anthropic.com") == "anthropic.com"
    assert pd.base_domain("a.b.example.co.uk") == "example.co.uk"
    assert pd.base_domain("other.allowed.test") == "allowed.test"
    assert pd.match_domain("Allowed.Test.", "*.allowed.test") and not pd.match_domain("xallowed.test", "*.allowed.test")


def test_go_decoders_are_strict():
    assert pd.go_b64decode("aGk=") == b"hi" and pd.go_b64decode("aGk") is None
    assert pd.go_b64decode("aGk", padded=False) == b"hi" and pd.go_b64decode("a-_A", url=True) is not None
    assert pd.go_hexdecode("6869") == b"hi" and pd.go_hexdecode("68 69") is None
    assert pd.iterative_decode("a%252Bb") == "a b"      # %252B -> %2B -> + -> space


def test_env_secret_encodings_in_text(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_TOKEN", SECRET)
    f = tmp_path / "c.json"
    f.write_text(json.dumps(BASE))
    sc = pd.Scanner(pd.Config(str(f)))
    for text in (SECRET, base64.b64encode(SECRET.encode()).decode(), SECRET.encode().hex().upper(),
                 base64.b32encode(SECRET.encode()).decode().rstrip("=")):
        assert sc.scan_text(f"x {text} y") == [("Environment Variable Leak", "critical", "env")], text
    assert sc.scan_text("x s3cr3t%2DValue-0123456789-abcXYZ y") == []   # not percent-decoded


# -- listener -----------------------------------------------------------------------------------

def test_go_request_parsing(run_double):
    port = run_double(BASE)
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"123 /health HTTP/1.1\r\nHost: x\r\n\r\nCONNECT\tallowed.test:443\tHTTP/1.1\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b'"status":"healthy"' in data
    assert data.endswith(b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
                         b"Connection: close\r\n\r\n400 Bad Request")


def test_forward_block_and_log(run_double, origin, tmp_path):
    """Here the test names resolve through /etc/hosts (run.sh's --add-host) to 127.0.0.1."""
    oport, seen = origin
    port = run_double(BASE)
    status, headers, body = req(port, "GET", f"http://other.allowed.test:{oport}/x")
    assert (status, body) == (200, "hello\n")
    status, headers, body = req(port, "GET", f"http://denied.test:{oport}/x")
    assert (status, body) == (403, "blocked: domain not in allowlist: denied.test\n")
    assert headers["X-Content-Type-Options"] == "nosniff" and "X-Pipelock-Block-Reason" not in headers
    status, _, body = req(port, "POST", f"http://other.allowed.test:{oport}/x", body=SECRET.encode(),
                          headers={"Content-Type": "text/plain"})
    assert (status, body) == (403, "blocked: request body contains secret: Environment Variable Leak\n")
    assert len(seen) == 1


def test_loopback_origin_needs_trusted_domains(run_double, origin):
    """scanner.go checkSSRF: pipelock resolves the name itself and refuses a private address
    unless the name is in trusted_domains (apex included for *.x) or the address in
    ssrf.ip_allowlist; Go's resolver finds a trailing-dot name in /etc/hosts."""
    oport, seen = origin
    port = run_double({k: v for k, v in BASE.items() if k != "trusted_domains"})
    status, _, body = req(port, "GET", f"http://allowed.test:{oport}/x")
    assert (status, body) == (403, "blocked: SSRF blocked: allowed.test resolves to internal IP 127.0.0.1\n")
    port = run_double({**BASE, "trusted_domains": ["*.allowed.test"]})
    for host in ("allowed.test", "Other.Allowed.Test."):
        assert req(port, "GET", f"http://{host}:{oport}/x")[:3:2] == (200, "hello\n"), host
    port = run_double({**BASE, "trusted_domains": [], "ssrf": {"ip_allowlist": ["127.0.0.0/8"]}})
    assert req(port, "GET", f"http://allowed.test:{oport}/x")[0] == 200
    assert len(seen) == 3


def test_knob_wait_for_gates_health(run_double):
    port = run_double(BASE, env={"PIPELOCK_DOUBLE_WAIT_FOR": "localhost,no-such-name.invalid"})
    status, _, body = req(port, "GET", "/health")
    assert status == 503 and json.loads(body)["unresolved"] == ["no-such-name.invalid"]
    rc = subprocess.run([PY, str(DOUBLE), "healthcheck", "--addr", f"127.0.0.1:{port}"],
                        capture_output=True).returncode
    assert rc == 1
    port2 = run_double(BASE, env={"PIPELOCK_DOUBLE_WAIT_FOR": "localhost"})
    assert req(port2, "GET", "/health")[0] == 200
    assert subprocess.run([PY, str(DOUBLE), "healthcheck", "--addr", f"127.0.0.1:{port2}"]).returncode == 0


def test_knob_source_addr_binds_upstream_sockets(run_double, origin):
    oport, seen = origin
    port = run_double(BASE, env={"PIPELOCK_DOUBLE_SOURCE_ADDR": "127.0.0.2"})
    assert req(port, "GET", f"http://allowed.test:{oport}/x")[0] == 200
    assert seen[-1][0] == "127.0.0.2"


def test_knobs_are_not_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELOCK_DOUBLE_WAIT_FOR", "aVeryLong-HighEntropy.name-0123456789")
    f = tmp_path / "c.json"
    f.write_text(json.dumps(BASE))
    assert all("aVeryLong" not in s for s in pd.Config(str(f)).env_secrets)


def test_reload_in_place_like_pipelock(tmp_path, origin):
    """reload.go + server.go Reload: a config renamed into place is loaded (a YAML comment line
    first, as bot-bottle writes it) and logged as config_reload with its SHA-256; a request in
    flight is not cut; in strict mode a reload that adds trusted_domains is rejected and the
    old config stays; a broken file keeps the old config too."""
    import hashlib
    oport, seen = origin
    cfg = tmp_path / "pipelock.yaml"
    base = {**BASE, "trusted_domains": ["*.allowed.test", "denied.test"]}
    cfg.write_text(json.dumps(base))
    port = free_port()
    p = subprocess.Popen([PY, str(DOUBLE), "run", "--config", str(cfg), "--listen", f"127.0.0.1:{port}"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={"PATH": "/usr/bin:/bin"})
    lines, errs = [], []
    threading.Thread(target=lambda: lines.extend(iter(p.stdout.readline, "")), daemon=True).start()
    threading.Thread(target=lambda: errs.extend(iter(p.stderr.readline, "")), daemon=True).start()
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        url = f"http://denied.test:{oport}/x"
        assert req(port, "GET", url)[2] == "blocked: domain not in allowlist: denied.test\n"
        # a kept-alive connection opened before the reload
        kept = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        kept.request("GET", f"http://allowed.test:{oport}/a")
        assert kept.getresponse().read() == b"hello\n"

        def put(text):
            new = tmp_path / "pipelock.yaml.new"
            new.write_text(text)
            os.rename(new, cfg)

        def wait_for(pred, what):
            for _ in range(100):
                if pred():
                    return
                time.sleep(0.05)
            raise AssertionError(f"{what}: stdout {lines} stderr {errs}")

        text = "# bot-bottle live policy: change 1\n" + json.dumps(
            {**base, "api_allowlist": ["*.allowed.test", "denied.test"]}, indent=2)
        put(text)
        want = hashlib.sha256(text.encode()).hexdigest()
        wait_for(lambda: any('"config_reload"' in l and want in l for l in lines), "no config_reload")
        assert req(port, "GET", url)[:3:2] == (200, "hello\n")
        kept.request("GET", f"http://allowed.test:{oport}/b")
        assert kept.getresponse().read() == b"hello\n", "the open connection goes on"

        wider = json.dumps({**base, "api_allowlist": ["*.allowed.test"],
                            "trusted_domains": ["*.allowed.test", "denied.test", "more.test"]})
        put(wider)
        wait_for(lambda: any("security downgrade from strict mode" in l for l in lines), "not rejected")
        assert any("trusted domains added: more.test" in e for e in errs), errs
        assert req(port, "GET", url)[0] == 200, "the old config stays"
        put("{not json")
        wait_for(lambda: any("pipelock: config reload failed:" in e for e in errs), "no failure line")
        assert req(port, "GET", url)[0] == 200
    finally:
        p.terminate()
        p.wait(5)
