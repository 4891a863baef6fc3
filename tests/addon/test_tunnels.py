"""Issue 10.1: mitmproxy never relays bytes it has not parsed as HTTP, and never opens a
connection to pipelock except for an HTTP request the addon re-targeted there.

pipelock here is a RecordingListener (conftest.py): it records every connection and the
raw bytes it received. The agent's probes from the issue:
- CONNECT <pipelock's name>:<port> (and every other way to name it: IP literals in any
  notation, localhost, its container-ID-like or network-qualified names), then bytes that
  mitmproxy does not parse as HTTP: the tab-separated `CONNECT\tallowed.test:443\tHTTP/1.1`
  and `123 /health HTTP/1.1` followed by a pipelined CONNECT (Go's server accepts both);
- a nested CONNECT inside a tunnel to an allowed host.
Each must be refused at the CONNECT (an X-Bot-Bottle-Block-Reason refusal) and the fake
pipelock must see NO connection at all.
"""

import socket
import ssl
import time

import pytest

from conftest import MITM_NAME, PIPELOCK_NAME

RAW_PAYLOADS = {
    "tab-separated-connect": b"CONNECT\tallowed.test:443\tHTTP/1.1\r\nHost: allowed.test:443\r\n\r\n",
    "numeric-method-then-connect": (b"123 /health HTTP/1.1\r\nHost: x\r\n\r\n"
                                    b"CONNECT allowed.test:443 HTTP/1.1\r\nHost: allowed.test:443\r\n\r\n"),
}


def connect(mitm, target: str, timeout=5.0) -> tuple[socket.socket, bytes]:
    s = socket.create_connection(("127.0.0.1", mitm.port), timeout=timeout)
    s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    return s, read_head(s)


def read_head(s) -> bytes:
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(rest) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        return head + b"\r\n\r\n" + rest
    except (OSError, socket.timeout):
        return data


def drain(s, timeout=2.0) -> bytes:
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (OSError, socket.timeout):
        pass
    return data


@pytest.fixture
def sidecar_mitm(start_mitm, recording_listener):
    return start_mitm(recording_listener.addr, name="mitm-rec")


def pipelock_names(port: int) -> list[str]:
    return [
        f"{PIPELOCK_NAME}:{port}",
        f"{PIPELOCK_NAME.upper()}.:{port}",  # case and trailing dot
        f"{PIPELOCK_NAME}.bot-bottle-net-0123:{port}",  # Docker's name.network form
        f"{MITM_NAME}:8080",
        f"127.0.0.1:{port}", f"127.1:{port}", f"2130706433:{port}", f"0x7f.0.0.1:{port}",
        f"0177.0.0.1:{port}", f"[::1]:{port}", f"[::ffff:127.0.0.1]:{port}", f"172.18.0.3:{port}",
        f"localhost:{port}", f"pipelock.localhost:{port}", f"0123456789ab:{port}",  # container-ID-like
    ]


@pytest.mark.parametrize("payload", sorted(RAW_PAYLOADS))
def test_connect_to_pipelock_refused_and_nothing_reaches_it(sidecar_mitm, recording_listener, origin, payload):
    port = recording_listener.port
    for target in pipelock_names(port):
        s, head = connect(sidecar_mitm, target)
        assert head.startswith(b"HTTP/1.1 403 "), (target, head)
        assert b"X-Bot-Bottle-Block-Reason: " in head, (target, head)
        assert b"\r\n\r\nblocked: bot-bottle: " in head, (target, head)
        # the agent goes on as if the tunnel were open: the raw bytes must go nowhere
        try:
            s.sendall(RAW_PAYLOADS[payload])
        except OSError:
            pass
        drain(s, 1.0)  # (a top-level CONNECT to allowed.test that follows is an ordinary, intercepted tunnel)
        s.close()
    time.sleep(0.5)
    assert recording_listener.connections == [], recording_listener.connections
    assert origin.seen()["connections"] == []


def test_refusal_codes_name_the_reason(sidecar_mitm, recording_listener):
    port = recording_listener.port
    for target, code in [(f"{PIPELOCK_NAME}:{port}", b"internal_target"), (f"127.0.0.1:{port}", b"ip_literal"),
                         (f"[::1]:{port}", b"ip_literal"), ("localhost:80", b"internal_target")]:
        s, head = connect(sidecar_mitm, target)
        s.close()
        assert b"X-Bot-Bottle-Block-Reason: " + code in head, (target, head)
    lines = sidecar_mitm.wait_lines(4)
    assert [(x["method"], x["verdict"], x["by"]) for x in lines[-4:]] == [("CONNECT", "refused", "bot-bottle")] * 4
    assert recording_listener.connections == []


def test_absolute_form_request_to_pipelock_refused(sidecar_mitm, recording_listener):
    """Plain-HTTP proxy requests (no CONNECT) naming a sidecar are refused the same way."""
    s = socket.create_connection(("127.0.0.1", sidecar_mitm.port), timeout=5)
    target = f"{PIPELOCK_NAME}:{recording_listener.port}"
    s.sendall(f"GET http://{target}/health HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    head = read_head(s)
    s.close()
    assert head.startswith(b"HTTP/1.1 403") and b"X-Bot-Bottle-Block-Reason: internal_target" in head, head
    time.sleep(0.3)
    assert recording_listener.connections == []


@pytest.mark.parametrize("payload", sorted(RAW_PAYLOADS))
def test_raw_bytes_in_allowed_tunnel_never_reach_pipelock_raw(sidecar_mitm, recording_listener, origin, payload):
    """In a tunnel to an allowed host, the same bytes are parsed as HTTP or refused: what
    reaches pipelock is only ever an absolute-form request the addon re-targeted, never a
    CONNECT and never raw bytes."""
    s, head = connect(sidecar_mitm, "allowed.test:443")
    assert head.startswith(b"HTTP/1.1 200"), head
    s.sendall(RAW_PAYLOADS[payload])
    drain(s, 2.0)
    s.close()
    time.sleep(0.5)
    for raw in recording_listener.connections:
        first = raw.split(b"\r\n", 1)[0]
        method, target, version = first.split(b" ")
        assert target.startswith((b"http://", b"https://")), raw
        assert method != b"CONNECT" and b"\t" not in first and version == b"HTTP/1.1", raw
    assert not any(b"CONNECT" in raw for raw in recording_listener.connections), recording_listener.connections
    assert origin.seen()["connections"] == []


def test_nested_connect_refused(sidecar_mitm, recording_listener, origin):
    """CONNECT inside a TLS tunnel to an allowed host (the inner target: pipelock)."""
    s, head = connect(sidecar_mitm, "allowed.test:443")
    assert head.startswith(b"HTTP/1.1 200")
    ctx = ssl.create_default_context(cafile=str(sidecar_mitm.ca))
    t = ctx.wrap_socket(s, server_hostname="allowed.test")
    target = f"{PIPELOCK_NAME}:{recording_listener.port}"
    t.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    t.settimeout(5)
    data = drain(t, 3.0)
    t.close()
    assert not data.startswith(b"HTTP/1.1 200"), data
    assert data.startswith(b"HTTP/1.1 4"), data
    time.sleep(0.3)
    assert recording_listener.connections == []
    assert origin.seen()["connections"] == []
    lines = [x for x in sidecar_mitm.wait_lines(1) if x["method"] == "CONNECT" and x["host"] == PIPELOCK_NAME]
    assert lines and lines[-1]["verdict"] == "refused" and lines[-1]["reason_code"] == "nested_connect", lines


def test_nested_connect_plaintext_tunnel_refused(sidecar_mitm, recording_listener, origin):
    s, head = connect(sidecar_mitm, "allowed.test:80")
    assert head.startswith(b"HTTP/1.1 200")
    target = f"{PIPELOCK_NAME}:{recording_listener.port}"
    s.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    data = drain(s, 3.0)
    s.close()
    assert data.startswith(b"HTTP/1.1 4"), data
    time.sleep(0.3)
    assert recording_listener.connections == []


def test_rawtcp_forced_off_even_if_enabled(start_mitm, recording_listener, origin):
    """Started with rawtcp=true (and the contract's lazy/upstream_cert sets missing), the
    addon still forces raw TCP off: non-HTTP bytes in a tunnel reach nothing."""
    m = start_mitm(recording_listener.addr, "--set", "rawtcp=true", "--set", "connection_strategy=eager",
                   name="mitm-rawtcp", contract_sets=False)
    s, head = connect(m, "allowed.test:443")
    assert head.startswith(b"HTTP/1.1 200")
    s.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
    drain(s, 2.0)
    s.close()
    time.sleep(0.3)
    assert recording_listener.connections == []
    assert origin.seen()["connections"] == []
    assert "rawtcp=False" in m.err.read_text() + m.out.read_text()


def test_only_retargeted_requests_get_a_server_connection(sidecar_mitm, recording_listener):
    """An ordinary request through the tunnel does reach the fake pipelock: exactly one
    connection, carrying the absolute-form request (the door is not simply shut)."""
    s, head = connect(sidecar_mitm, "allowed.test:80")
    assert head.startswith(b"HTTP/1.1 200")
    s.sendall(b"GET /x?y=1 HTTP/1.1\r\nHost: allowed.test:80\r\n\r\n")
    resp = read_head(s)
    s.close()
    assert resp.startswith(b"HTTP/1.1 403") and resp.endswith(b"blocked: recording listener\n"), resp
    time.sleep(0.3)
    assert len(recording_listener.connections) == 1
    assert recording_listener.connections[0].startswith(b"GET http://allowed.test/x?y=1 HTTP/1.1\r\n"), \
        recording_listener.connections
