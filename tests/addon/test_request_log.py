"""Issue 12.1/12.4: one JSON line per request on mitmproxy's stdout (design.md "Addon
request log"), exact bytes, and the addon's own refusals; mitmdump's flow output is off."""

import json
import re
import socket
import ssl
import time

import pytest

from conftest import PIPELOCK_NAME, client, pipelock_config

MARK: dict = {}


@pytest.fixture(autouse=True)
def mark_lines(request):
    """Remember how many log lines each mitmdump had before the test."""
    for name in ("mitm",):
        if name in request.fixturenames:
            m = request.getfixturevalue(name)
            MARK[id(m)] = len(m.lines())
    yield


KEYS = ["bot_bottle", "v", "ts", "id", "method", "scheme", "host", "port", "path", "status", "verdict", "by",
        "reason_code", "reason", "credential", "bytes_up", "bytes_down", "duration_ms",
        "lane", "redactions", "server_egress"]


def last(mitm, path_prefix, n=1, since=None):
    """The newest n lines for path_prefix, written after `since` (a line count); the line is
    written when mitmproxy has passed the response on, which can be just after the client
    has read it."""
    since = MARK.get(id(mitm), 0) if since is None else since
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        hits = [x for x in mitm.lines()[since:] if (x["path"] or "").startswith(path_prefix)]
        if len(hits) >= n:
            return hits[-n:] if n > 1 else hits[-1]
        time.sleep(0.05)
    raise AssertionError(f"no log line for {path_prefix}: {mitm.lines()[-5:]}")


def test_allowed_request_line(mitm, double, origin):
    body = b"x" * 12345
    with client(mitm, timeout=60.0) as c:
        r = c.post("https://allowed.test/upload?beta=true&x=secret-ish&flag", content=body)
    assert r.status_code == 200
    line = last(mitm, "/upload")
    assert list(line) == KEYS
    assert line["bot_bottle"] == "request" and line["v"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["ts"])
    assert (line["method"], line["scheme"], line["host"], line["port"]) == ("POST", "https", "allowed.test", 443)
    assert line["path"] == "/upload?beta=&x=&flag"  # query values dropped, keys kept
    assert (line["status"], line["verdict"], line["by"], line["reason_code"], line["reason"]) == \
        (200, "allowed", None, None, None)
    assert line["credential"] is None
    assert line["bytes_up"] == 12345 == origin.requests("/upload")[0]["body_len"]
    assert line["bytes_down"] == len(r.content)
    assert line["duration_ms"] > 0


def test_streamed_bytes_are_exact(mitm, double, origin):
    """A 5 MiB download and an SSE stream: bytes_down is what the client got, byte for byte."""
    n = 5 * 1024 * 1024 + 7
    with client(mitm, timeout=60.0) as c:
        r = c.get(f"https://allowed.test/bytes?n={n}")
        got = len(r.content)
        with c.stream("GET", "https://allowed.test/stream?n=20&interval_ms=50") as s:
            streamed = sum(len(chunk) for chunk in s.iter_raw())
    assert got == n
    assert last(mitm, "/bytes")["bytes_down"] == n
    line = last(mitm, "/stream")
    assert line["bytes_down"] == streamed and streamed > 20 * 30
    assert line["duration_ms"] >= 19 * 50 * 0.9


def test_head_has_no_body_bytes(mitm, double, origin):
    with client(mitm, timeout=60.0) as c:
        r = c.head("https://allowed.test/head-check")
    assert r.status_code == 200
    assert last(mitm, "/head-check")["bytes_down"] == 0


def test_pipelock_block_line(mitm, double, origin):
    with client(mitm, timeout=60.0) as c:
        r = c.get("https://denied.test/page?q=1")
    assert r.status_code == 403
    line = last(mitm, "/page")
    assert (line["verdict"], line["by"], line["reason_code"]) == ("blocked", "pipelock", "allowlist")
    assert line["reason"] == "blocked: domain not in allowlist: denied.test"
    assert line["bytes_up"] == 0 and line["bytes_down"] == len(r.content)
    assert r.text == line["reason"] + "\n"  # pipelock's answer reached the client unchanged


def test_rate_limit_line(start_double, start_mitm, origin):
    d = start_double(pipelock_config(fetch_proxy={"timeout_seconds": 60, "monitoring": {"max_requests_per_minute": 1}}),
                     name="pl-rl-log")
    m = start_mitm(d.addr, name="mitm-rl-log")
    with client(m, timeout=60.0) as c:
        codes = [c.get("https://allowed.test/rl-log").status_code for _ in range(2)]
    assert codes == [200, 429]
    a, b = last(m, "/rl-log", 2)
    assert a["verdict"] == "allowed" and (b["verdict"], b["by"], b["reason_code"]) == ("blocked", "pipelock", "rate_limit")


def test_addon_refusal_line_and_response(mitm, double, origin):
    with client(mitm, timeout=60.0) as c:
        r = c.get("https://allowed.test/ws-log", headers={"Upgrade": "websocket", "Connection": "Upgrade"})
    assert r.status_code == 403
    assert r.headers["x-bot-bottle-block-reason"] == "websocket_unsupported"
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert re.fullmatch(r"blocked: bot-bottle: [^\n]+; [^\n]+\n", r.text), r.text
    line = last(mitm, "/ws-log")
    assert (line["verdict"], line["by"], line["reason_code"], line["status"]) == \
        ("refused", "bot-bottle", "websocket_unsupported", 403)
    assert line["reason"] == r.text.strip()


def test_pipelock_unavailable_line(start_mitm, origin):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    m = start_mitm(f"{PIPELOCK_NAME}:{dead}", name="mitm-dead-log")
    with client(m, timeout=60.0) as c:
        r = c.post("https://allowed.test/dead-log", content=b"abc")
    assert r.status_code == 503
    line = last(m, "/dead-log")
    assert (line["verdict"], line["by"], line["reason_code"]) == ("failed", "bot-bottle", "pipelock_unavailable")
    assert "bot-bottle fails closed" in line["reason"] and line["bytes_up"] == 0


def test_client_reset_mid_stream_is_failed(mitm, double, origin):
    n_before = len(mitm.lines())
    s = socket.create_connection(("127.0.0.1", mitm.port), timeout=5)
    s.sendall(b"CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test:443\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 200")
    t = ssl.create_default_context(cafile=str(mitm.ca)).wrap_socket(s, server_hostname="allowed.test")
    t.sendall(b"GET /stream?n=50&interval_ms=100 HTTP/1.1\r\nHost: allowed.test\r\n\r\n")
    got = b""
    while got.count(b"event: tick") < 3:
        got += t.recv(65536)
    t.close()
    deadline = time.monotonic() + 10
    while len(mitm.lines()) <= n_before and time.monotonic() < deadline:
        time.sleep(0.05)
    line = mitm.lines()[n_before]
    assert line["path"].startswith("/stream?n=")
    assert line["verdict"] == "failed" and line["reason_code"] == "connection_error"
    assert 0 < line["bytes_down"] < 50 * 40


def test_stdout_has_no_flow_dump(mitm, double, origin):
    """mitmdump's own flow lines (`127.0.0.1:1234: GET https://... << 200 OK`) are off:
    stdout has request-log JSON lines and mitmproxy's log lines only."""
    mark = len(mitm.lines())
    with client(mitm, timeout=60.0) as c:  # a request of its own: the test also runs alone
        c.get("https://allowed.test/echo?case-no-flow-dump")
    mitm.line_for("/echo?case-no-flow-dump", mark)
    text = mitm.out.read_text()
    assert '"bot_bottle": "request"' in text
    for line in text.splitlines():
        if line.startswith("{"):
            obj = json.loads(line)
            assert list(obj) == KEYS
        else:
            assert " << " not in line and not re.search(r"\b(GET|POST|PUT|HEAD) https?://", line), line


def test_one_line_per_request(start_double, start_mitm, origin):
    d = start_double(name="pl-count")
    m = start_mitm(d.addr, name="mitm-count")
    with client(m, timeout=60.0) as c:
        for i in range(7):
            c.get(f"https://allowed.test/count/{i}")
        c.get("https://denied.test/count/x")
    lines = m.wait_lines(8)
    assert len(lines) == 8 and len({x["id"] for x in lines}) == 8
