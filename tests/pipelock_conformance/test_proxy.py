"""Forwarding behaviour bot-bottle relies on: allowlist, block answers, CONNECT, Go's method
tokens, DNS/SSRF, redirects, rate limit, timeouts, compression, response cap, SSE.
v2.3.0 sources: internal/proxy/forward.go, proxy.go, sse.go, internal/scanner/scanner.go."""

from __future__ import annotations

import json
import re
import socket
import ssl
import time

import pytest

from conftest import BASE, config, header, tls_client_context

BLOCK_HEADERS = {"content-type", "x-content-type-options", "date", "content-length"}


def assert_block(status, headers, body, want_status, text):
    assert (status, body.decode()) == (want_status, text + "\n")
    names = {k.lower() for k, _ in headers}
    assert names == BLOCK_HEADERS, headers            # v2.3.0: no X-Pipelock-Block-Reason*
    assert header(headers, "Content-Type") == "text/plain; charset=utf-8"
    assert header(headers, "X-Content-Type-Options") == "nosniff"


def test_allowed_request_reaches_origin_with_headers_cleaned(start, origin):
    """forward.go:1149-1156: hop-by-hop, X-Forwarded-*/Via and X-Pipelock-Agent are removed."""
    pl = start(BASE)
    status, headers, body = pl.request("GET", "http://allowed.test/echo?q=1", headers={
        "X-Custom": "kept", "X-Forwarded-For": "1.2.3.4", "Via": "1.1 evil",
        "Connection": "keep-alive, X-Hop", "X-Hop": "dropped", "X-Pipelock-Agent": "spoof"})
    assert status == 200
    seen = json.loads(body)
    got = {k.lower(): v for k, v in seen["headers"]}
    assert got["x-custom"] == "kept" and got["host"] == "allowed.test"
    for gone in ("x-forwarded-for", "via", "x-hop", "connection", "x-pipelock-agent"):
        assert gone not in got, gone
    assert len(origin.seen()) == 1
    ev = pl.wait_event("forward_http", url="http://allowed.test/echo?q=1")
    assert ev, pl.entries()
    e = ev[0]
    # edition.ResolveAgentIdentity: the self-declared X-Pipelock-Agent names the agent in logs
    assert (e["level"], e["method"], e["status_code"], e["size_bytes"], e["agent"]) == \
        ("info", "GET", 200, len(body), "spoof")
    assert e["request_id"].startswith("req-") and isinstance(e["duration_ms"], (int, float))
    assert e["message"] == "forward proxy request" and "client_ip" in e and "time" in e


def test_https_absolute_form_is_fetched_over_tls(start, origin):
    pl = start(BASE)
    status, _, body = pl.request("GET", "https://other.allowed.test/echo")
    assert status == 200 and json.loads(body)["path"] == "/echo"
    assert origin.seen()[0]["scheme"] == "https"


@pytest.mark.parametrize("host,allowed", [
    ("allowed.test", True), ("a.allowed.test", True), ("b.a.allowed.test", True),
    ("ALLOWED.TEST", True), ("notallowed.test", False), ("denied.test", False),
])
def test_wildcard_allowlist_matches_apex_and_subdomains(start, host, allowed):
    pl = start(BASE)
    status, headers, body = pl.request("GET", f"http://{host}/x")
    if allowed:
        assert status == 200, body
    else:
        assert_block(status, headers, body, 403, f"blocked: domain not in allowlist: {host.lower()}")
        ev = pl.wait_event("blocked")
        assert ev and ev[0]["scanner"] == "allowlist" and ev[0]["mitre_technique"] == "T1071.001"
        assert ev[0]["reason"] == f"domain not in allowlist: {host}"


def test_balanced_mode_does_not_enforce_the_allowlist(start):
    pl = start({**BASE, "mode": "balanced", "trusted_domains": ["denied.test"] + BASE["trusted_domains"]})
    assert pl.request("GET", "http://denied.test/x")[0] == 200


def test_connect_tunnel_to_allowed_host_and_refusal(start, origin):
    pl = start(BASE)
    s = pl.raw(b"CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test:443\r\n\r\n")
    assert s.recv(100).startswith(b"HTTP/1.1 200 Connection Established\r\n\r\n")
    tls = tls_client_context().wrap_socket(s, server_hostname="allowed.test")
    tls.sendall(b"GET /echo HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n")
    assert tls.recv(100).startswith(b"HTTP/1.1 200")
    tls.close()
    c = pl.conn()
    c.request("CONNECT", "denied.test:443")
    r = c.getresponse()
    assert (r.status, r.read()) == (403, b"CONNECT blocked: domain not in allowlist: denied.test\n")
    assert pl.wait_event("tunnel_close")


def test_connect_with_mismatched_sni_is_closed(start, origin):
    """forward.go:414-421 verifySNI: the ClientHello's SNI must name the CONNECT host."""
    pl = start(BASE)
    s = pl.raw(b"CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test:443\r\n\r\n")
    assert s.recv(100).startswith(b"HTTP/1.1 200")
    ctx = tls_client_context()
    with pytest.raises((ssl.SSLError, OSError)):
        tls = ctx.wrap_socket(s, server_hostname="other.allowed.test")
        tls.sendall(b"GET / HTTP/1.1\r\nHost: other.allowed.test\r\n\r\n")
        if not tls.recv(10):
            raise OSError("closed")
    assert not origin.seen()


def read_response(s) -> bytes:
    """One whole response: its head, then Content-Length bytes of body (or up to the close).
    A single recv can end between the head and the body Go writes after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = [int(v) for k, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:])
              if k.strip().lower() == b"content-length"]
    while not length or len(body) < length[0]:
        chunk = s.recv(4096)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def test_any_method_token_reaches_health_and_a_pipelined_connect_tunnels(start, origin):
    """Go's net/http accepts any RFC 7230 token as a method (issue 10's raw-pipe probe)."""
    pl = start(BASE)
    s = pl.raw(b"123 /health HTTP/1.1\r\nHost: x\r\n\r\n"
               b"CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test:443\r\n\r\n")
    data = b""
    while b"Connection Established" not in data:
        chunk = s.recv(4096)
        assert chunk, data
        data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b'"status":"healthy"' in data
    tls = tls_client_context().wrap_socket(s, server_hostname="allowed.test")
    tls.sendall(b"GET /echo HTTP/1.1\r\nHost: allowed.test\r\nConnection: close\r\n\r\n")
    assert tls.recv(100).startswith(b"HTTP/1.1 200")
    tls.close()
    assert len(origin.seen()) == 1


@pytest.mark.parametrize("line", [b"CONNECT\tallowed.test:443\tHTTP/1.1", b"GET /health HTTP/9",
                                  b"GE T /health HTTP/1.1", b"GET  /health HTTP/1.1"])
def test_malformed_request_lines_get_400(start, line):
    pl = start(BASE)
    s = pl.raw(line + b"\r\nHost: x\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1.1 400 Bad Request\r\n") or data.startswith(b"HTTP/1.1 505"), data


def test_missing_host_header_is_400(start):
    pl = start(BASE)
    s = pl.raw(b"GET /health HTTP/1.1\r\n\r\n")
    assert read_response(s).endswith(b"400 Bad Request: missing required Host header")


def test_dns_failure_blocks(start):
    pl = start(config(api_allowlist=BASE["api_allowlist"] + ["nosuch.allowed.test"]))
    status, headers, body = pl.request("GET", "http://nosuch.allowed.test/x")
    assert status == 403
    # the rest is Go's resolver error ("... on 127.0.0.11:53: no such host" or "i/o timeout")
    assert body.decode().startswith(
        "blocked: SSRF check failed: DNS resolution error for nosuch.allowed.test: lookup nosuch.allowed.test")
    assert pl.wait_event("blocked", scanner="ssrf")


def test_names_with_a_trailing_dot_and_any_case_resolve_and_verify(start):
    """net.DefaultResolver.LookupHost (scanner.go:821): the release binary is a static
    CGO_ENABLED=0 build, so Go's own resolver reads /etc/hosts first and compares absolute,
    lower-case names: `Hosts-Only.Allowed.Test.` finds a `hosts-only.allowed.test` line (the
    addon passes the agent's host as written, e.g. `ALLOWED.TEST.`). glibc's files backend does
    not strip the dot; the double must not behave like it."""
    ip = socket.gethostbyname("allowed.test")          # the upstream container
    pl = start(BASE, extra_hosts=[f"hosts-only.allowed.test:{ip}"])
    for host in ("hosts-only.allowed.test", "Hosts-Only.Allowed.Test.", "ALLOWED.TEST."):
        status, _, body = pl.request("GET", f"http://{host}/x")
        assert status == 200 and body.decode().endswith(" /x\n"), (host, status, body)
    # over TLS the dot is dropped from the SNI and ignored when the certificate is verified
    # (crypto/tls hostnameInSNI, crypto/x509 matchHostnames)
    status, _, body = pl.request("GET", "https://Other.Allowed.Test./echo")
    assert status == 200 and json.loads(body)["path"] == "/echo", (status, body)


def test_private_address_blocked_unless_trusted_or_ip_allowlisted(start):
    pl = start(BASE)
    status, headers, body = pl.request("GET", "http://internal.example/x")
    m = re.fullmatch(r"blocked: SSRF blocked: internal\.example resolves to internal IP (\S+)\n",
                     body.decode())
    assert status == 403 and m, body
    ip = m.group(1)
    net = ".".join(ip.split(".")[:2]) + ".0.0/16"
    pl2 = start(config(ssrf={"ip_allowlist": [net]}))
    assert pl2.request("GET", "http://internal.example/x")[0] == 200
    pl3 = start({**BASE, "trusted_domains": ["internal.example"]})
    assert pl3.request("GET", "http://internal.example/x")[0] == 200


def test_redirects_are_followed_inside_and_each_hop_is_checked(start, origin):
    pl = start(BASE)
    status, _, body = pl.request("GET", "http://allowed.test/redirect?n=4")
    assert status == 200 and json.loads(body)["path"] == "/echo"
    assert [r["path"] for r in origin.seen()][-1] == "/echo" and len(origin.seen()) == 5
    hops = pl.wait_event("redirect")
    assert [e["hop"] for e in hops] == [1, 2, 3, 4], hops
    assert hops[0]["original_url"] == "http://allowed.test/redirect?n=4"
    origin.reset()
    status, _, body = pl.request("GET", "http://allowed.test/redirect?n=5")
    assert (status, body) == (502, b"forward proxy fetch failed\n")   # proxy.go:489 max 5
    status, headers, body = pl.request(
        "GET", "http://allowed.test/redirect-to?url=http://denied.test/secret")
    assert_block(status, headers, body, 403,
                 "blocked: redirect blocked: domain not in allowlist: denied.test")


def test_redirect_methods_follow_go_rules(start, origin):
    pl = start(BASE)
    status, _, body = pl.request("POST", "http://allowed.test/redirect?n=1&code=307", body=b"hello")
    seen = json.loads(body)
    assert (status, seen["method"], seen["body_len"]) == (200, "POST", 5)
    status, _, body = pl.request("POST", "http://allowed.test/redirect?n=1&code=302", body=b"hello")
    seen = json.loads(body)
    assert (status, seen["method"], seen["body_len"]) == (200, "GET", 0)


def test_rate_limit_defaults_to_60_per_minute_per_registrable_domain(start):
    pl = start(BASE)
    for i in range(60):
        host = "a.allowed.test" if i % 2 else "other.allowed.test"
        assert pl.request("HEAD", f"http://{host}/r{i}")[0] == 200, i
    status, headers, body = pl.request("GET", "http://allowed.test/r60")
    assert_block(status, headers, body, 429, "blocked: rate limit exceeded for allowed.test")
    assert pl.request("GET", "http://api.anthropic.com/api/hello")[0] == 200   # another domain
    ev = pl.wait_event("blocked", scanner="ratelimit")
    assert ev and ev[0]["mitre_technique"] == "T1030"


def test_rate_limit_setting_and_zero_means_default(start):
    pl = start(config(fetch_proxy={"monitoring": {"max_requests_per_minute": 5}}))
    codes = [pl.request("GET", f"http://allowed.test/r{i}")[0] for i in range(6)]
    assert codes == [200] * 5 + [429]
    pl0 = start(config(fetch_proxy={"monitoring": {"max_requests_per_minute": 0}}))
    codes = [pl0.request("HEAD", f"http://allowed.test/r{i}")[0] for i in range(61)]
    assert codes == [200] * 60 + [429]


def _read_stream(resp):
    """Read an SSE response; returns (events as (time, data)), clean end flag)."""
    events, buf = [], b""
    t0 = time.monotonic()
    try:
        while True:
            chunk = resp.read1(65536)
            if not chunk:
                return events, True
            buf += chunk
            while b"\n\n" in buf:
                ev, buf = buf.split(b"\n\n", 1)
                events.append((time.monotonic() - t0, ev.decode()))
    except Exception:
        return events, False


def test_timeout_cuts_a_stream_with_a_clean_end(start):
    """http.Client.Timeout (proxy.go:487) covers the body: the stream ends at timeout_seconds
    with a normal chunked terminator, so the client sees an ordinary end."""
    pl = start(config(fetch_proxy={"timeout_seconds": 3}))
    c = pl.conn()
    t0 = time.monotonic()
    c.request("GET", "http://allowed.test/sse?n=12&interval_ms=500")
    r = c.getresponse()
    assert r.status == 200
    events, clean = _read_stream(r)
    took = time.monotonic() - t0
    assert clean and 2.5 <= took <= 5.0, (took, events)
    assert 4 <= len(events) < 12, events
    ev = pl.wait_event("blocked", scanner="sse_stream")
    assert ev and "Client.Timeout" in ev[0]["reason"], pl.entries()


def test_timeout_while_buffering_a_response_and_before_headers(start):
    pl = start(config(fetch_proxy={"timeout_seconds": 3}))
    status, headers, body = pl.request("GET", "http://allowed.test/slow-body?seconds=6")
    assert_block(status, headers, body, 403, "blocked: response read error")
    status, _, body = pl.request("GET", "http://allowed.test/slow-headers?seconds=6")
    assert (status, body) == (502, b"forward proxy fetch failed\n")


def test_compressed_responses_are_blocked_and_accept_encoding_is_passed(start, origin):
    pl = start(BASE)
    status, headers, body = pl.request("GET", "http://allowed.test/gzip")
    assert_block(status, headers, body, 403, "blocked: compressed response cannot be scanned")
    status, headers, body = pl.request("GET", "http://allowed.test/gzip-sse")
    assert_block(status, headers, body, 403, "blocked: compressed sse_stream response cannot be scanned")
    status, headers, body = pl.request("GET", "http://allowed.test/accept-encoding",
                                       headers={"Accept-Encoding": "gzip, deflate"})
    assert status == 403                                  # the client's Accept-Encoding went upstream
    status, _, body = pl.request("GET", "http://allowed.test/accept-encoding",
                                 headers={"Accept-Encoding": "identity"})
    assert (status, body) == (200, b"plain hello\n")
    status, _, body = pl.request("GET", "http://allowed.test/accept-encoding")
    assert (status, body) == (200, b"plain hello\n")     # no transparent gzip (DisableCompression)


def test_response_is_cut_silently_at_max_response_mb(start):
    pl = start(config(fetch_proxy={"max_response_mb": 1}))
    status, headers, body = pl.request("GET", "http://allowed.test/bytes?n=3000000")
    assert status == 200 and len(body) == 1024 * 1024
    assert header(headers, "Content-Length") is None and header(headers, "Transfer-Encoding") == "chunked"
    ev = pl.wait_event("forward_http")
    assert ev and ev[0]["size_bytes"] == 1024 * 1024


def test_sse_events_stream_as_they_come_and_size_bytes_is_zero(start):
    pl = start(BASE)
    c = pl.conn()
    c.request("GET", "http://allowed.test/sse?n=6&interval_ms=400&comment=1")
    r = c.getresponse()
    assert r.status == 200 and r.getheader("Content-Type") == "text/event-stream"
    events, clean = _read_stream(r)
    assert clean and len(events) == 6, events
    assert events[0][0] < 1.0 and events[-1][0] > 1.5                  # not buffered
    # internal/mcp/a2a_scan.go writeSSEEvent: comments dropped, fields re-emitted
    assert events[0][1].startswith("event: tick\ndata: {")
    ev = pl.wait_event("forward_http")
    assert ev and ev[0]["size_bytes"] == 0 and ev[0]["status_code"] == 200


def test_sse_injection_ends_the_stream_in_block_mode_and_is_logged_in_warn_mode(start):
    pl = start(BASE)     # sse_streaming.action defaults to block
    c = pl.conn()
    c.request("GET", "http://allowed.test/sse?n=6&interval_ms=100&inject_at=3")
    events, clean = _read_stream(c.getresponse())
    assert clean and len(events) == 3, events
    ev = pl.wait_event("blocked", scanner="sse_stream")
    assert ev and ev[0]["reason"].startswith("sse stream finding: injection: Prompt Injection")
    pl2 = start(config(response_scanning={"sse_streaming": {"action": "warn"}}))
    c = pl2.conn()
    c.request("GET", "http://allowed.test/sse?n=6&interval_ms=100&inject_at=3&secret_at=4")
    events, clean = _read_stream(c.getresponse())
    assert clean and len(events) == 6
    an = pl2.wait_event("anomaly", scanner="sse_stream")
    reasons = [e["reason"] for e in an]
    assert any(r.startswith("sse stream finding: injection: Prompt Injection") for r in reasons), an
    assert any(r.startswith("sse stream finding: dlp: GitHub Token") for r in reasons), an


def test_sse_secret_ends_the_stream_in_block_mode(start):
    pl = start(BASE)
    c = pl.conn()
    c.request("GET", "http://allowed.test/sse?n=6&interval_ms=100&secret_at=2")
    events, clean = _read_stream(c.getresponse())
    assert clean and len(events) == 2
    ev = pl.wait_event("blocked", scanner="sse_stream")
    assert ev and ev[0]["reason"] == "sse stream finding: dlp: GitHub Token"


def test_response_injection_is_logged_in_warn_mode_and_blocked_in_block_mode(start):
    pl = start(BASE)
    status, _, body = pl.request("GET", "http://allowed.test/inject-page")
    assert status == 200 and b"Ignore all previous" in body
    ev = pl.wait_event("response_scan")
    assert ev and ev[0]["action"] == "warn" and "Prompt Injection" in ev[0]["patterns"]
    pl2 = start(config(response_scanning={"action": "block"}))
    status, headers, body = pl2.request("GET", "http://allowed.test/inject-page")
    assert_block(status, headers, body, 403, "blocked: response contains injection")


def test_response_framing_follows_gos_server(start):
    """copyResponseHeaders (forward.go:1753) drops Content-Length; Go's server then sets it for
    a small body written at once (<= 2 KiB) and uses chunked encoding above that."""
    pl = start(BASE)
    status, headers, body = pl.request("GET", "http://allowed.test/bytes?n=1000")
    assert status == 200 and header(headers, "Content-Length") == "1000" and len(body) == 1000
    status, headers, body = pl.request("GET", "http://allowed.test/bytes?n=5000")
    assert header(headers, "Content-Length") is None and header(headers, "Transfer-Encoding") == "chunked"
    assert header(headers, "Content-Type") == "application/octet-stream" and len(body) == 5000


def test_explain_blocks_adds_a_hint_header(start):
    pl = start({**BASE, "explain_blocks": True})
    status, headers, body = pl.request("GET", "http://denied.test/x")
    assert status == 403 and header(headers, "X-Pipelock-Hint") == \
        "Domain not on the allowlist. In strict mode, only allowlisted domains are reachable."


def test_high_entropy_subdomain_is_blocked_before_dns(start):
    pl = start(BASE)
    label = "k7q9zm2lp4vb8nc3xr5w"          # 20 distinct characters: 4.32 bits
    status, _, body = pl.request("GET", f"http://{label}.allowed.test/x")
    assert (status, body.decode()) == (
        403, f'blocked: high entropy subdomain label "{label}" (4.32 > 4.00 threshold)\n')


def test_connect_headers_are_scanned(start):
    pl = start(config(request_body_scanning={"action": "block"}))
    from conftest import API_KEY
    s = pl.raw(b"CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test:443\r\n"
               b"Proxy-Authorization: Bearer " + API_KEY.encode() + b"\r\n\r\n")
    data = read_response(s)
    assert data.startswith(b"HTTP/1.1 403 Forbidden\r\n") and data.endswith(b"CONNECT blocked: header DLP match\n")


def test_config_file_change_is_reloaded(start, docker):
    """internal/config/reload.go: a change of the file (fsnotify) or SIGHUP re-reads it."""
    pl = start({**BASE, "api_allowlist": ["allowed.test"]})
    assert pl.request("GET", "http://other.allowed.test/x")[0] == 403
    new = json.dumps({**BASE, "api_allowlist": ["allowed.test", "other.allowed.test"]}).encode()
    docker.put_file(pl.cid, "/etc/pipelock", "pipelock.yaml", new)
    docker.kill(pl.cid, "HUP")
    assert pl.wait_event("config_reload", timeout=10, status="success"), pl.entries()
    assert pl.request("GET", "http://other.allowed.test/x")[0] == 200
    docker.put_file(pl.cid, "/etc/pipelock", "pipelock.yaml", b'{"surprise": 1}')
    docker.kill(pl.cid, "HUP")
    time.sleep(1.5)
    assert "config reload failed" in pl.stderr()
    assert pl.request("GET", "http://other.allowed.test/x")[0] == 200      # old config kept


def test_sse_event_size_limit(start):
    """sse_generic.go:148-162: an event over max_event_bytes (64 KiB default) ends the stream in
    block mode and is dropped (the stream goes on) in warn mode."""
    pl = start(BASE)
    c = pl.conn()
    c.request("GET", "http://allowed.test/sse?n=4&interval_ms=50&big_at=2&big_bytes=70000")
    events, clean = _read_stream(c.getresponse())
    assert clean and len(events) == 2
    ev = pl.wait_event("blocked", scanner="sse_stream")
    assert ev and ev[0]["reason"].startswith("sse stream finding: sse event exceeds max_event_bytes")
    pl2 = start(config(response_scanning={"sse_streaming": {"action": "warn"}}))
    c = pl2.conn()
    c.request("GET", "http://allowed.test/sse?n=4&interval_ms=50&big_at=2&big_bytes=70000")
    events, clean = _read_stream(c.getresponse())
    assert clean and [json.loads(e.split("data: ", 1)[1])["i"] for _, e in events] == [0, 1, 3]
    pl3 = start(config(response_scanning={"sse_streaming": {"max_event_bytes": 100000}}))
    c = pl3.conn()
    c.request("GET", "http://allowed.test/sse?n=4&interval_ms=50&big_at=2&big_bytes=70000")
    events, clean = _read_stream(c.getresponse())
    assert clean and len(events) == 4


def test_sse_scanning_off_passes_bytes_through(start):
    """sse_generic.go:122-123 + 258-283: with sse_streaming.enabled false the stream is relayed
    verbatim (comments kept), flushed per read."""
    pl = start(config(response_scanning={"sse_streaming": {"enabled": False}}))
    c = pl.conn()
    c.request("GET", "http://allowed.test/sse?n=3&interval_ms=300&comment=1&inject_at=1")
    events, clean = _read_stream(c.getresponse())
    assert clean and [e for _, e in events].count(": keep-alive comment") == 3
    assert len(events) == 6 and events[0][0] < 0.5


def test_response_scanning_off_buffers_sse_and_core_patterns_block(start):
    """With response_scanning.enabled false the SSE branch is skipped (forward.go:1282-1286) but
    the core response patterns keep ResponseScanningEnabled() true (response.go:458-463): the
    stream is buffered like any response and a core match blocks (ResponseAction() is block)."""
    pl = start(config(response_scanning={"enabled": False}))
    c = pl.conn()
    t0 = time.monotonic()
    c.request("GET", "http://allowed.test/sse?n=4&interval_ms=500")
    r = c.getresponse()
    first = time.monotonic() - t0
    body = r.read()
    assert r.status == 200 and first >= 1.4 and body.count(b"event: tick") == 4
    status, headers, body = pl.request("GET", "http://allowed.test/inject-page")
    assert_block(status, headers, body, 403, "blocked: response contains injection")


def test_keep_alive_chunked_body_and_expect_continue(start, origin):
    """Go's server: several requests on one connection; a chunked request body is sent on
    chunked (r.Clone keeps TransferEncoding although forward.go:1011-1016 re-wraps the body);
    `Expect: 100-continue` is answered when the handler reads the body."""
    pl = start(BASE)
    c = pl.conn()
    for i in range(3):
        c.request("GET", f"http://allowed.test/echo?i={i}")
        assert c.getresponse().read() and True
    c.request("POST", "http://allowed.test/echo", body=iter([b"hello ", b"chunked ", b"world"]),
              encode_chunked=True, headers={"Content-Type": "text/plain"})
    seen = json.loads(c.getresponse().read())
    got = {k.lower(): v for k, v in seen["headers"]}
    assert seen["body_len"] == 19 and got.get("transfer-encoding") == "chunked"
    s = pl.raw(b"POST http://allowed.test/echo HTTP/1.1\r\nHost: allowed.test\r\nContent-Length: 5\r\n"
               b"Content-Type: text/plain\r\nExpect: 100-continue\r\n\r\n")
    assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    s.sendall(b"hello")
    assert s.recv(4096).startswith(b"HTTP/1.1 200 OK\r\n")
