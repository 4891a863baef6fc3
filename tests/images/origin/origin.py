#!/usr/bin/env python3
"""The "fake internet" origin server for bot-bottle's tests (standard library only).

One process serves the same handlers over HTTPS (certificate with SANs for
allowed.test, denied.test, other.allowed.test, signed by the test CA) and over plain
HTTP. It records every accepted connection and every request it sees, so tests can
prove WHO reached the origin (only pipelock may; mitmproxy and the agent never do).

Endpoints (any Host):
  GET  /__seen     JSON {"requests": [...], "connections": [...]}; each request has
                   method, path, host, headers, body (utf-8, replaced) or body_sha256 +
                   body_len when large, peer, scheme; each connection has peer, scheme.
  POST /__reset    forget everything recorded so far.
  *    /echo       JSON {"method", "path", "headers", "body", "body_len", "peer", "scheme"}.
  GET  /stream     text/event-stream: N events (?n=5) spaced ?interval_ms=300 apart, each
                   written and flushed as produced (chunked transfer encoding). Each event's
                   data is its index and the server's monotonic send time.
  POST /upload     reads any size body, answers JSON {"len", "sha256"}.
  GET  /bytes      ?n=BYTES of 'x' (for throughput checks).
  *    anything else: 200 text/plain "hello from <host> <path>\n".

Usage: origin.py [--https HOST:PORT] [--http HOST:PORT] [--control HOST:PORT]
                 --cert LEAF.pem --key KEY.pem
The /__* endpoints are not recorded. The optional --control listener (plain HTTP) serves
the same handlers but records neither its connections nor its requests, so a test can
read /__seen without adding itself to what it inspects.
"""

import argparse
import hashlib
import http.server
import json
import socket
import ssl
import sys
import threading
import time
import urllib.parse

BODY_RECORD_LIMIT = 64 * 1024


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.connections = []

    def add_request(self, item):
        with self.lock:
            self.requests.append(item)

    def add_connection(self, item):
        with self.lock:
            self.connections.append(item)

    def snapshot(self):
        with self.lock:
            return {"requests": list(self.requests), "connections": list(self.connections)}

    def reset(self):
        with self.lock:
            self.requests.clear()
            self.connections.clear()


RECORDER = Recorder()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bot-bottle-test-origin/1"

    def log_message(self, fmt, *args):  # quiet; tests read /__seen instead
        if getattr(self.server, "verbose", False):
            sys.stderr.write("origin: " + (fmt % args) + "\n")

    # -- helpers -------------------------------------------------------------------
    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until blank line
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        if n <= 0:
            return b""
        buf = bytearray()
        while len(buf) < n:
            part = self.rfile.read(min(1 << 20, n - len(buf)))
            if not part:
                break
            buf += part
        return bytes(buf)

    def _send(self, status, body, ctype="text/plain; charset=utf-8", extra=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status, obj):
        self._send(status, json.dumps(obj, indent=1, sort_keys=True) + "\n", "application/json")

    def _record(self, body):
        peer = self.client_address[0]
        item = {
            "method": self.command,
            "path": self.path,
            "host": self.headers.get("Host"),
            "headers": [[k, v] for k, v in self.headers.items()],
            "peer": peer,
            "scheme": self.server.scheme,
            "body_len": len(body),
        }
        if len(body) <= BODY_RECORD_LIMIT:
            item["body"] = body.decode("utf-8", "replace")
        else:
            item["body_sha256"] = hashlib.sha256(body).hexdigest()
        RECORDER.add_request(item)

    # -- dispatch ----------------------------------------------------------------
    def _handle(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query)
        body = self._read_body()
        if path == "/__seen":
            return self._json(200, RECORDER.snapshot())
        if path == "/__reset":
            RECORDER.reset()
            return self._json(200, {"reset": True})
        if self.server.record:
            self._record(body)
        if path == "/echo":
            return self._json(200, {
                "method": self.command,
                "path": self.path,
                "headers": [[k, v] for k, v in self.headers.items()],
                "body": body.decode("utf-8", "replace"),
                "body_len": len(body),
                "peer": self.client_address[0],
                "scheme": self.server.scheme,
            })
        if path == "/upload":
            return self._json(200, {"len": len(body), "sha256": hashlib.sha256(body).hexdigest()})
        if path == "/bytes":
            n = int(query.get("n", ["1024"])[0])
            return self._send(200, b"x" * n, "application/octet-stream")
        if path == "/stream":
            n = int(query.get("n", ["5"])[0])
            interval = int(query.get("interval_ms", ["300"])[0]) / 1000.0
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(n):
                if i:
                    time.sleep(interval)
                event = f"event: tick\ndata: {json.dumps({'i': i, 't': time.monotonic()})}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return
        host = self.headers.get("Host", "")
        return self._send(200, f"hello from {host} {self.path}\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _handle


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, scheme, ssl_ctx=None, verbose=False, record=True):
        self.scheme = scheme
        self.record = record
        self.ssl_ctx = ssl_ctx
        self.verbose = verbose
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.address_family = family
        super().__init__(addr, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle/delayed-ACK stalls
        if self.record:
            RECORDER.add_connection({"peer": addr[0], "scheme": self.scheme})
        return sock, addr

    def finish_request(self, request, client_address):
        # TLS handshake in the worker thread, not in the accept loop.
        if self.ssl_ctx is not None:
            try:
                request.settimeout(30)
                request = self.ssl_ctx.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (OSError, ssl.SSLError):
                return
        super().finish_request(request, client_address)


def parse_addr(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


def serve(https=None, http_=None, cert=None, key=None, verbose=False, control=None):
    """Start the servers in daemon threads; returns the list of Server objects."""
    servers = []
    if https:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["http/1.1"])
        servers.append(Server(parse_addr(https), "https", ctx, verbose))
    if http_:
        servers.append(Server(parse_addr(http_), "http", None, verbose))
    if control:
        servers.append(Server(parse_addr(control), "http", None, verbose, record=False))
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    return servers


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--https", default="0.0.0.0:443")
    ap.add_argument("--http", default="0.0.0.0:80")
    ap.add_argument("--control", default=None)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    servers = serve(a.https, a.http, a.cert, a.key, a.verbose, a.control)
    print(json.dumps({"origin": "listening", "addresses": [list(s.server_address[:2]) for s in servers]}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
