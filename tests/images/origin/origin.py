#!/usr/bin/env python3
"""The "fake internet" origin server for bot-bottle's tests (standard library only).

One process serves the same handlers over HTTPS (certificate with SANs for every host
below, signed by the test CA; tests/images/build.sh makes it) and over plain HTTP. It
records every accepted connection and every request it sees, so tests can prove WHO
reached the origin (only pipelock may; mitmproxy and the agent never do) and WHAT arrived
(headers and bodies: the credential value the model API saw, for example).

Hosts (the Host header, without port, picks the handler):
  api.anthropic.com       the fake Anthropic API (fake_anthropic.py: /api/hello,
                          /v1/messages streamed and not, count_tokens, models).
  statsig.anthropic.com   telemetry: 200 {"success": true} to anything (fake_anthropic.py).
  git.allowed.test        git smart HTTP with HTTP Basic auth (git_server.py).
  anything else           (allowed.test, denied.test, other.allowed.test, plain.test, ...)
                          the generic endpoints:
    *    /echo       JSON {"method", "path", "headers", "body", "body_len", "peer", "scheme"}.
    GET  /stream     text/event-stream: N events (?n=5) spaced ?interval_ms=300 apart, each
                     written and flushed as produced (chunked transfer encoding). Each
                     event's data is its index and the server's monotonic send time.
    POST /upload     reads any size body, answers JSON {"len", "sha256"}.
    GET  /bytes      ?n=BYTES of 'x' (for throughput checks).
    *    anything else: 200 text/plain "hello from <host> <path>\n".

Control endpoints (any host, any listener; never recorded):
  GET    /__seen        JSON {"requests": [...], "connections": [...]}; each request has
                        method, path, host, headers, body (utf-8, replaced) or body_sha256
                        when larger than 1 MiB, body_len (bytes as received), peer, scheme;
                        a body sent with Content-Encoding gzip or deflate is recorded
                        decoded, with body_encoding and decoded_len. Each connection has
                        peer, scheme. Filters: ?host=api.anthropic.com&path=/v1/messages
                        (path is a prefix; host compared without port).
  POST   /__reset       forget everything recorded so far (the settings stay).
  GET    /__config      the current settings: {"api": {...}, "git": {...}}.
  POST   /__config      merge a JSON object into the settings, e.g.
                        {"api": {"keys": ["sk-ant-api03-..."], "duration_s": 40,
                        "interval_ms": 500, "script": "tool_use"},
                        "git": {"username": "x-access-token", "password": "..."}};
                        unknown sections or keys -> 400. Answers the new settings.
  DELETE /__config      back to the defaults (plus --config / ORIGIN_CONFIG).
  GET    /__git         the git repositories: refs, log, files on main (git_server.py).
  POST   /__git/reset   recreate the repositories (git.repos) with their one commit.
The settings of each section and their defaults are in fake_anthropic.py (api) and
git_server.py (git). Starting settings: --config JSON or the ORIGIN_CONFIG environment
variable (same shape as POST /__config), e.g.
  docker run -e ORIGIN_CONFIG='{"api": {"keys": ["sk-ant-api03-..."]}}' <origin image>
From a test, the simplest control path is inside the origin container:
  docker exec <origin> curl -sS -X POST --data-binary @- http://127.0.0.1/__config

Usage: origin.py [--https HOST:PORT] [--http HOST:PORT] [--control HOST:PORT]
                 [--config JSON] [--git-root DIR] --cert LEAF.pem --key KEY.pem
The optional --control listener (plain HTTP) serves the same handlers but records neither
its connections nor its requests, so a test can read /__seen without adding itself to
what it inspects.
"""

import argparse
import copy
import gzip
import hashlib
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import zlib

import fake_anthropic
import git_server

BODY_RECORD_LIMIT = 1024 * 1024


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


class Settings:
    """The fake hosts' settings: defaults, then the start config, then POST /__config."""

    DEFAULTS = {"api": fake_anthropic.DEFAULTS, "git": git_server.DEFAULTS}

    def __init__(self):
        self.lock = threading.Lock()
        self.start = {}
        self.current = copy.deepcopy(self.DEFAULTS)

    @classmethod
    def merged(cls, base: dict, update) -> dict:
        if not isinstance(update, dict):
            raise ValueError("settings must be a JSON object")
        out = copy.deepcopy(base)
        for section, values in update.items():
            if section not in cls.DEFAULTS:
                raise ValueError(f"unknown section {section!r} (known: {sorted(cls.DEFAULTS)})")
            if not isinstance(values, dict):
                raise ValueError(f"{section}: must be a JSON object")
            for key, value in values.items():
                if key not in cls.DEFAULTS[section]:
                    raise ValueError(f"unknown key {section}.{key} (known: {sorted(cls.DEFAULTS[section])})")
                out[section][key] = value
        for key in ("keys", "repos"):
            for section in out:
                v = out[section].get(key, [])
                if not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
                    raise ValueError(f"{section}.{key}: must be a list of strings")
        if out["api"].get("tool_input") is not None and not isinstance(out["api"]["tool_input"], dict):
            raise ValueError("api.tool_input: must be a JSON object or null")
        if out["api"]["script"] not in ("text", "tool_use"):
            raise ValueError("api.script: must be \"text\" or \"tool_use\"")
        return out

    def set_start(self, update: dict):
        with self.lock:
            self.current = self.merged(self.DEFAULTS, update)
            self.start = update

    def update(self, update: dict) -> dict:
        with self.lock:
            self.current = self.merged(self.current, update)
            return copy.deepcopy(self.current)

    def restore(self) -> dict:
        with self.lock:
            self.current = self.merged(self.DEFAULTS, self.start)
            return copy.deepcopy(self.current)

    def get(self) -> dict:
        with self.lock:
            return copy.deepcopy(self.current)


SETTINGS = Settings()
GIT = None  # git_server.GitServer, made by serve()


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

    def _control(self, path, query, body):
        """Answers the /__* endpoints; False when path is not one of them."""
        if path == "/__seen":
            snap = RECORDER.snapshot()
            host = (query.get("host") or [None])[0]
            prefix = (query.get("path") or [None])[0]
            if host:
                snap["requests"] = [r for r in snap["requests"] if bare_host(r["host"]) == host.lower()]
            if prefix:
                snap["requests"] = [r for r in snap["requests"] if r["path"].startswith(prefix)]
            self._json(200, snap)
            return True
        if path == "/__reset":
            RECORDER.reset()
            self._json(200, {"reset": True})
            return True
        if path == "/__config":
            if self.command == "GET":
                self._json(200, SETTINGS.get())
                return True
            if self.command == "DELETE":
                self._json(200, SETTINGS.restore())
                return True
            if self.command in ("POST", "PUT"):
                try:
                    new = SETTINGS.update(json.loads(body or b"{}"))
                except ValueError as e:
                    self._json(400, {"error": str(e)})
                    return True
                self._json(200, new)
                return True
            self._json(405, {"error": "GET, POST or DELETE"})
            return True
        if path == "/__git":
            if GIT is None:
                self._json(503, {"error": "git server not running"})
                return True
            self._json(200, GIT.state())
            return True
        if path == "/__git/reset":
            if GIT is None:
                self._json(503, {"error": "git server not running"})
                return True
            GIT.init(SETTINGS.get()["git"]["repos"])
            self._json(200, GIT.state())
            return True
        return False

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
        encoding = (self.headers.get("Content-Encoding") or "").strip().lower()
        if encoding:
            try:
                body = decode_body(body, encoding)
                item["body_encoding"] = encoding
                item["decoded_len"] = len(body)
            except ValueError:
                pass  # recorded as it came
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
        if path.startswith("/__") and self._control(path, query, body):
            return
        if self.server.record:
            self._record(body)
        host = bare_host(self.headers.get("Host"))
        if fake_anthropic.serves(host):
            settings = SETTINGS.get()["api"]
            return fake_anthropic.handle(self, host, path, query, body, settings, decode_body)
        if git_server.serves(host):
            if GIT is None:
                return self._send(503, "git server not running\n")
            return GIT.handle(self, path, url.query, body, SETTINGS.get()["git"], self.server.verbose)
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


def decode_body(body: bytes, encoding: str) -> bytes:
    """A request body sent with Content-Encoding gzip or deflate, decoded; ValueError for
    another coding or a broken stream."""
    try:
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if encoding == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate
    except (OSError, EOFError, zlib.error) as e:
        raise ValueError(f"broken {encoding} body: {e}") from e
    if encoding == "identity":
        return body
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


def bare_host(host):
    """Host header value -> lower-case name without port or trailing dot."""
    host = (host or "").strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    return host.rstrip(".")


def parse_addr(s):
    host, _, port = s.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


def serve(https=None, http_=None, cert=None, key=None, verbose=False, control=None,
          config=None, git_root=None):
    """Start the servers in daemon threads; returns the list of Server objects."""
    global GIT
    SETTINGS.set_start(config or {})
    try:
        GIT = git_server.GitServer(git_root)
        GIT.init(SETTINGS.get()["git"]["repos"])
    except (OSError, git_server.subprocess.CalledProcessError) as e:
        GIT = None
        print(json.dumps({"origin": "git server disabled", "error": str(e)}), flush=True)
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
    ap.add_argument("--config", default=os.environ.get("ORIGIN_CONFIG") or "{}",
                    help="starting settings, JSON (default: $ORIGIN_CONFIG)")
    ap.add_argument("--git-root", default=None, help="where the bare repositories live, emptied at start (default: a new temp dir)")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    try:
        config = json.loads(a.config)
        Settings.merged(Settings.DEFAULTS, config)
    except ValueError as e:
        ap.error(f"--config / ORIGIN_CONFIG: {e}")
    servers = serve(a.https, a.http, a.cert, a.key, a.verbose, a.control, config, a.git_root)
    print(json.dumps({"origin": "listening", "addresses": [list(s.server_address[:2]) for s in servers]}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
