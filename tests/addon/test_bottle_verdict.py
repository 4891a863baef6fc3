"""Tests of nix/mitmproxy/bottle_verdict.py with a real mitmdump 12.x (see conftest.py)."""

from __future__ import annotations

import hashlib
import json
import socket
import ssl
import subprocess
import time

import pytest

from conftest import DOUBLE_SRC, MAX_BODY, PIPELOCK_NAME, client, pipelock_config


def curl(mitm, *args, http2=True, timeout=60):
    """curl through the chain; returns (status, http_version, body)."""
    out = subprocess.run(
        ["curl", "-sS", "--http2" if http2 else "--http1.1", "--proxy", mitm.proxy,
         "--cacert", str(mitm.ca), "-o", "-", "-w", "\n%{http_code} %{http_version}", *args],
        capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr
    body, _, status = out.stdout.rpartition("\n")
    code, version = status.split()
    return int(code), version, body


def test_plaintext_request_reaches_double_and_origin(mitm, double, origin):
    before = double.settled_count()
    with client(mitm) as c:
        r = c.post("https://allowed.test/echo?q=1&who=agent",
                   headers={"X-Test-Header": "hello-header", "Content-Type": "text/plain"},
                   content=b"hello-body-123")
    assert r.status_code == 200, r.text
    echo = r.json()
    assert echo["method"] == "POST" and echo["body"] == "hello-body-123"
    assert echo["scheme"] == "https" and (double.real or echo["peer"] == DOUBLE_SRC)
    hdrs = {k.lower(): v for k, v in echo["headers"]}
    assert hdrs["host"] == "allowed.test" and hdrs["x-test-header"] == "hello-header"
    assert hdrs["accept-encoding"] == "identity"  # asked for by the addon (issue 8)
    # pipelock got the decrypted request in plaintext and absolute form (a CONNECT would be
    # a tunnel_open with a host:port target), and fetched it itself.
    seen = double.forwarded("https://allowed.test/echo?q=1&who=agent")
    assert len(seen) == 1, double.requests()[-5:]
    assert (seen[0]["method"], seen[0]["status_code"]) == ("POST", 200)
    assert not [e for e in double.requests() if e.get("event") == "tunnel_open"]
    # the count the "never reached pipelock" checks compare sees a forwarded request
    assert double.settled_count() == before + 1
    # What pipelock passed on reached the origin once, Host, headers and body intact.
    reqs = origin.requests("/echo")
    assert len(reqs) == 1 and (double.real or reqs[0]["peer"] == DOUBLE_SRC)
    oh = {k.lower(): v for k, v in reqs[0]["headers"]}
    assert reqs[0]["host"] == "allowed.test" and oh["x-test-header"] == "hello-header"
    assert reqs[0]["method"] == "POST" and reqs[0]["body"] == "hello-body-123"


def test_plain_http_goes_through_double_too(mitm, double, origin):
    with client(mitm) as c:
        r = c.get("http://allowed.test/plain?x=2")
    assert r.status_code == 200 and r.text == "hello from allowed.test /plain?x=2\n"
    assert [q["scheme"] for q in origin.requests("/plain")] == ["http"]
    assert [e["method"] for e in double.forwarded("http://allowed.test/plain?x=2")] == ["GET"]


def test_block_verdict_passes_through_unchanged(mitm, double, origin):
    with client(mitm) as c:
        r = c.get("https://denied.test/secret-page")
    assert r.status_code == 403
    assert r.text == "blocked: domain not in allowlist: denied.test\n"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert "x-bot-bottle-block-reason" not in r.headers  # pipelock's answer, unchanged
    assert origin.seen()["requests"] == []
    double.settled_count()
    assert any(e.get("event") == "blocked" and e.get("scanner") == "allowlist"
               and e.get("url") == "https://denied.test/secret-page" for e in double.requests())


AWS_KEY_ID = "AKIA" + "Q3EGRJ7XK2M5WN4T"  # pattern match (not a known value): pipelock's verdict


def test_dlp_block_in_body_passes_through(mitm, double, origin):
    with client(mitm) as c:
        r = c.post("https://allowed.test/upload", content=f"aws_key_id={AWS_KEY_ID}".encode())
    assert r.status_code == 403
    assert r.text.startswith("blocked: request body contains secret: AWS Access"), r.text
    assert "x-bot-bottle-block-reason" not in r.headers
    # the same verdict reaches an HTTP/2 client
    code, version, body = curl(mitm, "-d", f"aws_key_id={AWS_KEY_ID}", "https://allowed.test/upload")
    assert (code, version) == (403, "2") and body.startswith("blocked: request body contains secret")
    assert origin.seen()["requests"] == []


def test_rate_limit_429_passes_through(start_double, start_mitm, origin):
    cfg = pipelock_config(fetch_proxy={"timeout_seconds": 60, "monitoring": {"max_requests_per_minute": 2}})
    d = start_double(cfg, name="ratelimited")
    m = start_mitm(d.addr, name="mitm-ratelimited")
    with client(m) as c:
        codes = [c.get("https://allowed.test/rl").status_code for _ in range(3)]
        last = c.get("https://allowed.test/rl")
    assert codes == [200, 200, 429]
    assert last.status_code == 429
    assert last.text.startswith("blocked: rate limit exceeded")
    assert len(origin.requests("/rl")) == 2


def _sse_arrivals_httpx(mitm, url):
    t0 = time.monotonic()
    arrivals = []
    with client(mitm) as c:
        with c.stream("GET", url) as r:
            assert r.status_code == 200
            assert r.headers["content-type"] == "text/event-stream"
            buf = b""
            for chunk in r.iter_raw():
                buf += chunk
                while b"\n\n" in buf:
                    _, buf = buf.split(b"\n\n", 1)
                    arrivals.append(time.monotonic() - t0)
    return arrivals


def _sse_arrivals_curl_h2(mitm, url):
    t0 = time.monotonic()
    arrivals = []
    p = subprocess.Popen(["curl", "-sSN", "--http2", "--proxy", mitm.proxy, "--cacert", str(mitm.ca),
                          "-w", "%{http_version}\n", url], stdout=subprocess.PIPE)
    for line in p.stdout:
        if line.startswith(b"data:"):
            arrivals.append(time.monotonic() - t0)
        last = line
    assert p.wait(30) == 0
    assert last.strip() == b"2"  # spoke HTTP/2 to mitmproxy
    return arrivals


@pytest.mark.parametrize("http2", [False, True], ids=["http1", "http2"])
def test_sse_stream_arrives_in_pieces(mitm, http2):
    n, interval = 5, 0.3
    url = f"https://allowed.test/stream?n={n}&interval_ms={int(interval * 1000)}"
    arrivals = (_sse_arrivals_curl_h2 if http2 else _sse_arrivals_httpx)(mitm, url)
    assert len(arrivals) == n
    total = (n - 1) * interval
    # first event well before the last one; events spread like the origin produced them
    assert arrivals[0] < total / 2, arrivals
    assert arrivals[-1] - arrivals[0] > total * 0.7, arrivals


def test_http2_client(mitm, double, origin):
    code, version, body = curl(mitm, "-X", "PUT", "-H", "X-H2: yes", "--data-binary", "h2-body",
                               "https://other.allowed.test/echo")
    assert (code, version) == (200, "2")
    code2, version2, body2 = curl(mitm, "https://allowed.test/plain-h2")
    assert (code2, version2, body2) == (200, "2", "hello from allowed.test /plain-h2\n")
    echo = json.loads(body)
    assert echo["method"] == "PUT" and echo["body"] == "h2-body"
    hdrs = {k.lower(): v for k, v in echo["headers"]}
    assert hdrs["host"] == "other.allowed.test" and hdrs["x-h2"] == "yes"
    # converted to HTTP/1.1 absolute form for pipelock, which fetched it once
    e = double.forwarded("https://other.allowed.test/echo")
    assert len(e) == 1 and (e[0]["method"], e[0]["status_code"]) == ("PUT", 200)
    reqs = origin.requests("/echo")
    assert len(reqs) == 1 and (reqs[0]["method"], reqs[0]["host"], reqs[0]["body"]) == \
        ("PUT", "other.allowed.test", "h2-body")


def test_upload_below_limit_succeeds(mitm, double, origin):
    body = bytes(range(256)) * (6 * 1024 * 1024 // 256)  # 6 MiB: above pipelock's default 5 MiB
    with client(mitm, timeout=120) as c:
        r = c.post("https://allowed.test/upload", content=body)
    assert r.status_code == 200, r.text[:300]
    digest = hashlib.sha256(body).hexdigest()
    assert r.json() == {"len": len(body), "sha256": digest}
    # the whole body went through pipelock (its max_body_bytes is the addon's limit), once
    assert [e["method"] for e in double.forwarded("https://allowed.test/upload")] == ["POST"]
    reqs = origin.requests("/upload")
    assert [(q["body_len"], q["body_sha256"]) for q in reqs] == [(len(body), digest)]


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_upload_above_limit_is_413(mitm, double, origin, chunked):
    size = MAX_BODY + 1
    before = double.settled_count()

    def gen():
        block = b"a" * (1024 * 1024)
        left = size
        while left:
            n = min(left, len(block))
            left -= n
            yield block[:n]

    with client(mitm, timeout=120) as c:
        r = c.post("https://allowed.test/upload", content=gen() if chunked else b"a" * size)
    assert r.status_code == 413
    assert r.headers["x-bot-bottle-block-reason"] == "body_too_large"
    assert r.text.startswith("blocked: bot-bottle: the request body (")
    assert "exceeds the bottle's limit of 16777216 bytes" in r.text and "max_request_mb" in r.text
    assert double.settled_count() == before  # never reached pipelock
    assert origin.seen()["requests"] == []


def test_pipelock_down_fails_closed_with_503_pipelock_unavailable(start_mitm, origin):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    m = start_mitm(f"{PIPELOCK_NAME}:{dead}", name="mitm-dead")
    with client(m) as c:
        answers = [c.post("https://allowed.test/echo", content=b"must-not-be-sent"),
                   c.get("https://allowed.test/again")]  # every request, not only the first
    for resp in answers:
        assert resp.status_code == 503, resp.text
        assert resp.headers["x-bot-bottle-block-reason"] == "pipelock_unavailable"
        assert resp.headers["retry-after"] == "2"
        assert resp.text.startswith(f"blocked: bot-bottle: pipelock at {PIPELOCK_NAME}:{dead} is unreachable"), \
            resp.text
        assert "bot-bottle fails closed, the request was not sent" in resp.text
        assert "retry in a few seconds" in resp.text
    # HTTP/2 too: the same answer, not a reset stream.
    code, version, body = curl(m, "-i", "https://allowed.test/h2-down")
    assert (code, version) == (503, "2"), body
    assert "x-bot-bottle-block-reason: pipelock_unavailable" in body.lower() and "fails closed" in body
    assert origin.seen()["requests"] == []


def test_websocket_upgrade_refused(mitm, double, origin):
    before = double.settled_count()
    with client(mitm) as c:
        r = c.get("https://allowed.test/ws", headers={
            "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
    assert r.status_code == 403
    assert r.headers["x-bot-bottle-block-reason"] == "websocket_unsupported"
    assert "WebSocket" in r.text and "pipelock" in r.text
    assert double.settled_count() == before
    assert origin.seen()["requests"] == []


def test_websocket_library_cannot_connect(mitm, origin):
    """A real WebSocket client through the proxy is refused (never tunneled past pipelock)."""
    from websockets.sync.client import connect
    from websockets.exceptions import InvalidStatus

    ctx = ssl.create_default_context(cafile=str(mitm.ca))
    with pytest.raises(InvalidStatus) as ei:
        with connect("wss://allowed.test/ws", ssl=ctx, proxy=mitm.proxy, open_timeout=30):
            pass
    assert ei.value.response.status_code == 403
    assert origin.seen()["connections"] == []


def _raw_connect(mitm, target: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", mitm.port), timeout=5)
    s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 200"), head
    return s


def test_non_http_in_connect_tunnel_is_not_relayed(mitm, double, origin):
    """With raw TCP off, bytes that are not HTTP get mitmproxy's 400 and go nowhere."""
    before = double.settled_count()
    s = _raw_connect(mitm, "allowed.test:443")
    s.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")  # client-first, not TLS, not HTTP
    s.settimeout(10)
    data = _read_all(s)
    s.close()
    assert data == b"" or data.startswith(b"HTTP/1.1 400 Bad Request"), data
    time.sleep(0.5)
    assert origin.seen()["connections"] == []
    assert double.settled_count() == before


def _read_all(s) -> bytes:
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, TimeoutError, socket.timeout, ssl.SSLError, OSError):
        pass
    return data


def test_silent_connect_tunnel_opens_nothing(mitm, origin):
    """A server-first protocol (client waits silently) must not make mitmproxy dial out."""
    s = _raw_connect(mitm, "allowed.test:80")
    s.settimeout(3)
    try:
        data = s.recv(4096)
    except (TimeoutError, socket.timeout):
        data = b""
    s.close()
    assert data == b""
    assert origin.seen()["connections"] == []


def test_tls_non_http_in_tunnel_is_not_relayed(mitm, double, origin):
    """TLS that mitmproxy terminates but that carries no HTTP (e.g. IMAPS-like)."""
    before = double.settled_count()
    s = _raw_connect(mitm, "allowed.test:443")
    ctx = ssl.create_default_context(cafile=str(mitm.ca))
    ctx.set_alpn_protocols(["imap"])
    t = ctx.wrap_socket(s, server_hostname="allowed.test")
    t.sendall(b"a001 LOGIN user pass\r\n")
    t.settimeout(5)
    data = _read_all(t)
    assert data == b"" or data.startswith(b"HTTP/1.1 400 Bad Request"), data
    time.sleep(0.5)
    assert origin.seen()["connections"] == []
    assert double.settled_count() == before


def test_host_header_must_match_connect_target(mitm, double, origin):
    before = double.settled_count()
    with client(mitm) as c:
        r = c.get("https://allowed.test/front", headers={"Host": "denied.test"})
    assert r.status_code == 421
    assert r.headers["x-bot-bottle-block-reason"] == "host_mismatch"
    assert "does not match" in r.text
    assert double.settled_count() == before


def test_eager_strategy_is_overridden(start_mitm, double, origin):
    """Even if started with connection_strategy=eager / upstream_cert=true, the addon keeps
    mitmproxy from dialing the origin (it forces lazy/false; server_connect refuses)."""
    m = start_mitm(double.addr, "--set", "connection_strategy=eager", "--set", "upstream_cert=true",
                   name="mitm-eager", contract_sets=False)
    with client(m) as c:
        r = c.get("https://allowed.test/eager")
    assert r.status_code == 200 and r.text == "hello from allowed.test /eager\n"
    assert [q["peer"] for q in origin.requests("/eager")] == ["127.0.0.1" if double.real else DOUBLE_SRC]


def test_only_ca_cert_is_meant_to_leave(mitm):
    """The CA is generated in confdir at first start; the cert-only file has no key."""
    pem = mitm.ca.read_text()
    assert "BEGIN CERTIFICATE" in pem and "PRIVATE KEY" not in pem
    assert "PRIVATE KEY" in (mitm.confdir / "mitmproxy-ca.pem").read_text()


def test_curl_through_chain(mitm, double):
    """A second, independent client (curl, HTTP/1.1 and HTTP/2), blocked and allowed."""
    for http2 in (False, True):
        code, version, body = curl(mitm, "-H", "X-Curl: 1", "-d", "curl-body",
                                   "https://allowed.test/echo", http2=http2)
        assert (code, version) == (200, "2" if http2 else "1.1")
        assert json.loads(body)["body"] == "curl-body"
        code, version, body = curl(mitm, "https://denied.test/", http2=http2)
        assert code == 403 and body == "blocked: domain not in allowlist: denied.test\n"
