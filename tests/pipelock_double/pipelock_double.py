#!/usr/bin/env python3
"""pipelock TEST DOUBLE for bot-bottle's tests. NOT pipelock. The product never uses it.

No registry reachable from this project's machines serves the real pipelock binary, so
tests that need one run this stand-in, which follows the contract written down in
shared/facts/pipelock.md (the subset bot-bottle relies on). Python 3 standard library
only. It is installed as /usr/local/bin/pipelock in the bot-bottle-test/pipelock-double
image so that the image contract's command works unchanged:

    pipelock run --config /etc/pipelock/pipelock.yaml --listen 0.0.0.0:8888
    pipelock healthcheck --addr HOST:PORT          (exit 0 when /health says 200)

What it implements
- Config: read as JSON (the product renders JSON, which is valid YAML; real YAML syntax
  is refused with a clear error). Unknown keys are a startup error at the top level and
  inside the sections listed in KNOWN_KEYS, like pipelock's strict parsing.
- `mode`: strict (only `api_allowlist` hosts pass; a non-empty list is required),
  balanced (any host; DLP still applies), audit (log only). `--mode` overrides.
  `*.x` in the allowlist matches any subdomain of x AND the apex x.
- `enforce: false`: log verdicts but let everything through.
- `forward_proxy.enabled` (default false): absolute-form requests and CONNECT are
  answered 405 unless it is true.
- Absolute-form `http://` and `https://` requests: checked, then fetched by the double
  itself (TLS verified against the system bundle plus $SSL_CERT_FILE if set); the response
  is streamed back as it arrives (chunked passthrough, so server-sent events are not
  buffered). Upstream connections are pooled per origin.
- `CONNECT host:port`: allowlist-checked, then an opaque tunnel.
- DLP: `dlp.scan_env` (default true) treats values in the double's OWN environment of at
  least `dlp.min_env_secret_length` (default 16) characters with Shannon entropy >= 3.0
  bits/char as secrets (well-known non-secret variables such as PATH are skipped, see
  ENV_NOT_SECRET); a secret found raw, URL-encoded, base64 (standard/URL-safe, padded or
  not) or hex in the URL, header values or body blocks the request. `dlp.patterns`
  ([{name, regex, severity}]) and, with `dlp.include_defaults` (default true), a few
  built-in patterns (GitHub token, AWS access key id, Anthropic API key, private key
  block). The URL is always scanned; headers when `request_body_scanning.scan_headers`
  (default true), the body when `request_body_scanning.enabled` (default true). A header
  or body match blocks only with `request_body_scanning.action: block` (default warn,
  which logs); a URL match always blocks.
- Rate limit: only when `fetch_proxy.monitoring.max_requests_per_minute` is set
  explicitly (per destination host, sliding 60 s window) -> 429 `rate_limit`. (Real
  pipelock defaults to 60/min; the double does not, so benchmarks are not throttled.)
- Blocks: 403 (429 for rate limits), `Content-Type: text/plain; charset=utf-8`, body
  `blocked: <reason>\\n`, headers X-Pipelock-Block-Reason (domain_blocklist, dlp_match,
  rate_limit), X-Pipelock-Block-Reason-Version: 1, X-Pipelock-Block-Severity,
  X-Pipelock-Block-Retry.
- Upstream failure (DNS, connect, TLS, reset): 502 `forward proxy fetch failed`.
- `GET /health` (origin-form, on the listener): 200 JSON
  {"status": "healthy", "forward_proxy_enabled": ..., "mode": ..., "double": true}.
- One JSON line per allowed/blocked/failed request on stdout (`logging.include_allowed`
  and `logging.include_blocked`, both default true): method, url, headers, body (or
  body_sha256 + body_len above 64 KiB), client, verdict, status, reason.
- SIGHUP re-reads the config.

What it does NOT implement (differences from pipelock that tests must not rely on)
- NO SSRF protection: private, loopback and Docker addresses are allowed as destinations
  (the test "internet" lives on private Docker addresses). `trusted_domains` and `ssrf`
  are accepted and ignored.
- No /fetch, /metrics, MCP or WebSocket proxying, response scanning, TLS interception,
  config reload on file change (SIGHUP only), YAML syntax.

Test-only environment knobs (never set in the image; tests set them as needed)
- PIPELOCK_DOUBLE_WAIT_FOR="name1,name2": while any of these host names does not
  resolve, /health answers 503 {"status": "waiting", "unresolved": [...]} (so a launcher
  waiting for pipelock's health also waits for the test network to be wired). Requests
  are still served meanwhile.
- PIPELOCK_DOUBLE_SOURCE_ADDR=IP: bind outbound (upstream) sockets to this local address,
  so a test on one host can tell the double's connections to an origin from anyone else's.
These variables and PIPELOCK_DOUBLE_* in general are never treated as secrets.
"""

import argparse
import base64
import binascii
import hashlib
import http.client
import http.server
import json
import math
import os
import re
import select
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from collections import Counter, deque

KNOWN_KEYS = {
    None: {"version", "mode", "enforce", "api_allowlist", "forward_proxy", "dlp",
           "request_body_scanning", "logging", "trusted_domains", "ssrf", "fetch_proxy",
           "tls_interception"},
    "forward_proxy": {"enabled", "max_tunnel_seconds", "idle_timeout_seconds", "sni_verification"},
    "dlp": {"include_defaults", "scan_env", "min_env_secret_length", "patterns"},
    "request_body_scanning": {"enabled", "action", "scan_headers"},
    "logging": {"format", "output", "include_allowed", "include_blocked"},
    "ssrf": {"ip_allowlist"},
    "fetch_proxy": {"listen", "timeout_seconds", "monitoring"},
}
PATTERN_KEYS = {"name", "regex", "severity"}

DEFAULT_PATTERNS = [
    {"name": "GitHub Token", "regex": r"gh[pousr]_[A-Za-z0-9]{36,}", "severity": "critical"},
    {"name": "AWS Access Key ID", "regex": r"(?:AKIA|ASIA)[0-9A-Z]{16}", "severity": "critical"},
    {"name": "Anthropic API Key", "regex": r"sk-ant-[A-Za-z0-9_\-]{20,}", "severity": "critical"},
    {"name": "Private Key", "regex": r"-----BEGIN [A-Z ]*PRIVATE KEY-----", "severity": "critical"},
]

ENV_NOT_SECRET = {
    "PATH", "HOME", "HOSTNAME", "PWD", "OLDPWD", "LANG", "LANGUAGE", "TERM", "SHELL", "USER",
    "LOGNAME", "SHLVL", "SSL_CERT_FILE", "SSL_CERT_DIR", "TZ", "_", "VIRTUAL_ENV", "PYTHONPATH",
    "PYTHONHOME", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "MAIL", "TMPDIR",
}
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization",
              "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade"}
BODY_LOG_LIMIT = 64 * 1024
MAX_BODY = 512 * 1024 * 1024


class ConfigError(Exception):
    pass


def entropy(s):
    counts = Counter(s)
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


class Config:
    def __init__(self, path, mode_override=None):
        self.path = path
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError as e:
            raise ConfigError(f"cannot read config {path}: {e}")
        try:
            data = json.loads(raw or b"{}")
        except ValueError as e:
            raise ConfigError(f"config {path}: the pipelock test double only parses JSON "
                              f"(valid YAML); got: {e}")
        if not isinstance(data, dict):
            raise ConfigError(f"config {path}: top level must be a mapping")
        self._check_keys(data)
        self.raw = data
        self.version = data.get("version", 1)
        self.mode = mode_override or data.get("mode", "balanced")
        if self.mode not in ("strict", "balanced", "audit"):
            raise ConfigError(f"invalid mode {self.mode!r}")
        self.enforce = bool(data.get("enforce", True))
        self.allowlist = [str(h).lower().rstrip(".") for h in (data.get("api_allowlist") or [])]
        if self.mode == "strict" and not self.allowlist:
            raise ConfigError("strict mode requires a non-empty api_allowlist")
        fp = data.get("forward_proxy") or {}
        self.forward_proxy = bool(fp.get("enabled", False))
        self.max_tunnel_seconds = float(fp.get("max_tunnel_seconds") or 300)
        self.idle_timeout = float(fp.get("idle_timeout_seconds") or 120)
        dlp = data.get("dlp") or {}
        self.min_env = int(dlp.get("min_env_secret_length", 16))
        self.patterns = []
        pats = list(DEFAULT_PATTERNS) if dlp.get("include_defaults", True) else []
        for p in dlp.get("patterns") or []:
            if not isinstance(p, dict) or set(p) - PATTERN_KEYS or "regex" not in p:
                raise ConfigError(f"dlp.patterns: bad entry {p!r} (keys: name, regex, severity)")
            pats.append(p)
        for p in pats:
            try:
                self.patterns.append((p.get("name", "custom"), re.compile(p["regex"]),
                                      p.get("severity", "high")))
            except re.error as e:
                raise ConfigError(f"dlp pattern {p.get('name')!r}: {e}")
        self.secrets = self._env_secrets() if dlp.get("scan_env", True) else []
        rbs = data.get("request_body_scanning") or {}
        self.scan_body = bool(rbs.get("enabled", True))
        self.scan_headers = bool(rbs.get("scan_headers", True))
        self.body_action = rbs.get("action", "warn")
        if self.body_action not in ("warn", "block"):
            raise ConfigError(f"request_body_scanning.action must be warn or block, got {self.body_action!r}")
        log = data.get("logging") or {}
        self.log_allowed = bool(log.get("include_allowed", True))
        self.log_blocked = bool(log.get("include_blocked", True))
        fetch = data.get("fetch_proxy") or {}
        mon = fetch.get("monitoring") or {}
        self.rate_limit = mon.get("max_requests_per_minute")
        self.timeout = float(fetch.get("timeout_seconds") or 60)

    @staticmethod
    def _check_keys(data):
        unknown = set(data) - KNOWN_KEYS[None]
        if unknown:
            raise ConfigError(f"unknown config key(s): {', '.join(sorted(unknown))}")
        for section, keys in KNOWN_KEYS.items():
            if section is None or section not in data or data[section] is None:
                continue
            if not isinstance(data[section], dict):
                raise ConfigError(f"{section} must be a mapping")
            unknown = set(data[section]) - keys
            if unknown:
                raise ConfigError(f"unknown config key(s) in {section}: {', '.join(sorted(unknown))}")

    def _env_secrets(self):
        out = []
        for name, value in os.environ.items():
            if name in ENV_NOT_SECRET or name.startswith(("PIPELOCK_DOUBLE_", "LC_")):
                continue
            if len(value) < self.min_env or entropy(value) < 3.0:
                continue
            forms = {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value),
                     value.encode().hex()}
            b = value.encode()
            for enc in (base64.b64encode(b), base64.urlsafe_b64encode(b)):
                e = enc.decode()
                forms.add(e)
                forms.add(e.rstrip("="))
            out.append((name, sorted(forms, key=len, reverse=True)))
        return out

    def host_allowed(self, host):
        host = host.lower().rstrip(".")
        if self.mode != "strict":
            return True
        for pat in self.allowlist:
            if pat.startswith("*."):
                apex = pat[2:]
                if host == apex or host.endswith("." + apex):
                    return True
            elif host == pat:
                return True
        return False


class RateLimiter:
    def __init__(self):
        self.lock = threading.Lock()
        self.hits = {}

    def allow(self, host, limit):
        now = time.monotonic()
        with self.lock:
            q = self.hits.setdefault(host, deque())
            while q and now - q[0] > 60:
                q.popleft()
            if len(q) >= int(limit):
                return False
            q.append(now)
            return True


class Pool:
    """Idle upstream connections per (scheme, host, port)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.idle = {}

    def get(self, key):
        with self.lock:
            lst = self.idle.get(key)
            if lst:
                return lst.pop()
        return None

    def put(self, key, conn):
        with self.lock:
            self.idle.setdefault(key, []).append(conn)


class Block(Exception):
    def __init__(self, status, reason_code, message, severity="high", retry="false"):
        self.status, self.reason_code, self.message = status, reason_code, message
        self.severity, self.retry = severity, retry


class State:
    config = None
    ssl_ctx = None
    pool = Pool()
    limiter = RateLimiter()
    log_lock = threading.Lock()


def make_ssl_ctx():
    ctx = ssl.create_default_context()
    extra = os.environ.get("SSL_CERT_FILE")
    if extra and os.path.exists(extra):
        ctx.load_verify_locations(cafile=extra)
    return ctx


def log(event):
    event = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "component": "pipelock-double", **event}
    with State.log_lock:
        sys.stdout.write(json.dumps(event, sort_keys=True) + "\n")
        sys.stdout.flush()


def body_for_log(body):
    if len(body) <= BODY_LOG_LIMIT:
        return {"body": body.decode("utf-8", "replace"), "body_len": len(body)}
    return {"body_sha256": hashlib.sha256(body).hexdigest(), "body_len": len(body)}


class SourceAddrHTTPConnection(http.client.HTTPConnection):
    pass


def new_upstream(scheme, host, port, timeout):
    src = os.environ.get("PIPELOCK_DOUBLE_SOURCE_ADDR")
    source_address = (src, 0) if src else None
    if scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=State.ssl_ctx,
                                           source_address=source_address)
    return http.client.HTTPConnection(host, port, timeout=timeout, source_address=source_address)


def health_status():
    names = [n.strip() for n in os.environ.get("PIPELOCK_DOUBLE_WAIT_FOR", "").split(",") if n.strip()]
    unresolved = []
    for n in names:
        try:
            socket.getaddrinfo(n, None)
        except OSError:
            unresolved.append(n)
    cfg = State.config
    if unresolved:
        return 503, {"status": "waiting", "unresolved": unresolved, "double": True}
    return 200, {"status": "healthy", "forward_proxy_enabled": cfg.forward_proxy,
                 "mode": cfg.mode, "version": "test-double", "double": True}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pipelock-test-double"

    def log_message(self, fmt, *args):
        pass

    # -- small helpers -------------------------------------------------------------
    def _plain(self, status, text, extra=None, close=False):
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status, obj):
        body = (json.dumps(obj) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _block(self, b, url, body):
        cfg = State.config
        if cfg.log_blocked:
            log({"event": "blocked", "verdict": "block", "method": self.command, "url": url,
                 "headers": [[k, v] for k, v in self.headers.items()], "client": self.client_address[0],
                 "status": b.status, "reason": b.reason_code, "message": b.message, **body_for_log(body)})
        self._plain(b.status, f"blocked: {b.message}\n", {
            "X-Pipelock-Block-Reason": b.reason_code,
            "X-Pipelock-Block-Reason-Version": "1",
            "X-Pipelock-Block-Severity": b.severity,
            "X-Pipelock-Block-Retry": b.retry,
        })

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        buf = bytearray()
        while len(buf) < n:
            part = self.rfile.read(min(1 << 20, n - len(buf)))
            if not part:
                raise ValueError("client closed during body")
            buf += part
        return bytes(buf)

    # -- checks --------------------------------------------------------------------
    def _check(self, host, url, body):
        """Raise Block if the request must not pass. Returns list of warnings."""
        cfg = State.config
        warnings = []
        enforcing = cfg.enforce and cfg.mode != "audit"

        def verdict(b):
            if enforcing:
                raise b
            warnings.append(b.message)

        if not cfg.host_allowed(host):
            verdict(Block(403, "domain_blocklist", f"domain not in allowlist: {host}", "high"))
        # DLP: URL (always blocks), headers, body (block only with action=block)
        places = [("URL", urllib.parse.unquote(url) + "\n" + url, True)]
        if cfg.scan_headers:
            hdrs = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
            places.append(("request header", hdrs, cfg.body_action == "block"))
        if cfg.scan_body and body:
            places.append(("request body", body.decode("utf-8", "replace"), cfg.body_action == "block"))
        for where, text, blocks in places:
            hit = self._dlp(text)
            if hit:
                name, severity = hit
                b = Block(403, "dlp_match", f"{where} contains secret: {name}", severity)
                if blocks:
                    verdict(b)
                else:
                    warnings.append(b.message)
        if cfg.rate_limit is not None and not State.limiter.allow(host.lower(), cfg.rate_limit):
            verdict(Block(429, "rate_limit", f"rate limit exceeded for {host}", "medium", "true"))
        return warnings

    def _dlp(self, text):
        cfg = State.config
        for name, rx, severity in cfg.patterns:
            if rx.search(text):
                return name, severity
        for name, forms in cfg.secrets:
            for f in forms:
                if f in text:
                    return f"environment variable {name}", "critical"
        return None

    # -- request entry points --------------------------------------------------------
    def do_CONNECT(self):
        cfg = State.config
        if not cfg.forward_proxy:
            return self._plain(405, "forward proxy is disabled\n", close=True)
        host, _, port = self.path.rpartition(":")
        host = host.strip("[]")
        try:
            port = int(port)
        except ValueError:
            return self._plain(400, "bad CONNECT target\n", close=True)
        try:
            self._check(host, f"{host}:{port}", b"")
        except Block as b:
            self.close_connection = True
            return self._block(b, self.path, b"")
        try:
            src = os.environ.get("PIPELOCK_DOUBLE_SOURCE_ADDR")
            upstream = socket.create_connection((host, port), timeout=cfg.timeout,
                                                source_address=(src, 0) if src else None)
        except OSError as e:
            log({"event": "error", "method": "CONNECT", "url": self.path, "error": str(e),
                 "client": self.client_address[0], "status": 502})
            return self._plain(502, "forward proxy fetch failed\n", close=True)
        if cfg.log_allowed:
            log({"event": "allowed", "verdict": "allow", "method": "CONNECT", "url": self.path,
                 "headers": [[k, v] for k, v in self.headers.items()], "client": self.client_address[0],
                 "status": 200})
        self.send_response(200, "Connection Established")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        client = self.connection
        deadline = time.monotonic() + cfg.max_tunnel_seconds
        socks = [client, upstream]
        try:
            while time.monotonic() < deadline:
                r, _, _ = select.select(socks, [], [], cfg.idle_timeout)
                if not r:
                    break
                for s in r:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is client else client).sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()

    def _handle(self):
        cfg = State.config
        if not self.path.startswith(("http://", "https://")):
            return self._local()
        if not cfg.forward_proxy:
            return self._plain(405, "forward proxy is disabled\n")
        url = self.path
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        try:
            body = self._read_body()
        except ValueError as e:
            return self._plain(400, f"bad request body: {e}\n", close=True)
        try:
            warnings = self._check(host, url, body)
        except Block as b:
            return self._block(b, url, body)
        if cfg.log_allowed:
            log({"event": "allowed", "verdict": "allow", "method": self.command, "url": url,
                 "headers": [[k, v] for k, v in self.headers.items()], "client": self.client_address[0],
                 "warnings": warnings, **body_for_log(body)})
        self._forward(parts, body)

    def _forward(self, parts, body):
        cfg = State.config
        scheme = parts.scheme
        port = parts.port or (443 if scheme == "https" else 80)
        host = parts.hostname
        key = (scheme, host, port)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        headers = []
        for k, v in self.headers.items():
            if k.lower() in HOP_BY_HOP or k.lower() in ("host", "content-length"):
                continue
            headers.append((k, v))
        default_port = 443 if scheme == "https" else 80
        headers.insert(0, ("Host", host if port == default_port else f"{host}:{port}"))
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers.append(("Content-Length", str(len(body))))
        idempotent = self.command in ("GET", "HEAD", "OPTIONS")
        resp = conn = None
        for attempt in (0, 1):
            conn = State.pool.get(key)
            reused = conn is not None
            if conn is None:
                conn = new_upstream(scheme, host, port, cfg.timeout)
            try:
                conn.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v)
                conn.endheaders(body if body else None)
                resp = conn.getresponse()
                break
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                if reused and idempotent and attempt == 0:
                    continue  # stale pooled connection; nothing was answered
                log({"event": "error", "method": self.command, "url": self.path, "error": repr(e),
                     "client": self.client_address[0], "status": 502})
                return self._plain(502, "forward proxy fetch failed\n")
        # Stream the response back.
        try:
            self.send_response_only(resp.status, resp.reason)
            has_len = False
            for k, v in resp.getheaders():
                lk = k.lower()
                if lk in HOP_BY_HOP:
                    continue
                if lk == "content-length":
                    has_len = True
                self.send_header(k, v)
            no_body = self.command == "HEAD" or resp.status in (204, 304) or 100 <= resp.status < 200
            chunked = not has_len and not no_body
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            if not no_body:
                while True:
                    data = resp.read1(65536)
                    if not data:
                        break
                    if chunked:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    else:
                        self.wfile.write(data)
                    self.wfile.flush()
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
            else:
                resp.read()
        except (OSError, http.client.HTTPException) as e:
            log({"event": "error", "method": self.command, "url": self.path, "error": repr(e),
                 "client": self.client_address[0], "stage": "response"})
            conn.close()
            self.close_connection = True
            return
        if resp.will_close or not resp.isclosed():
            conn.close()
        else:
            State.pool.put(key, conn)

    def _local(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/health":
            status, obj = health_status()
            return self._json(status, obj)
        return self._plain(404, "not found (pipelock test double)\n")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _handle


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers and body are separate writes
        return sock, addr


def cmd_run(args):
    try:
        State.config = Config(args.config, args.mode)
    except ConfigError as e:
        print(f"pipelock (test double): config error: {e}", file=sys.stderr)
        return 2
    State.ssl_ctx = make_ssl_ctx()

    def reload(*_):
        try:
            State.config = Config(args.config, args.mode)
            log({"event": "config_reloaded", "path": args.config})
        except ConfigError as e:
            log({"event": "config_reload_failed", "error": str(e)})

    signal.signal(signal.SIGHUP, reload)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    if ":" in host:
        Server.address_family = socket.AF_INET6
    srv = Server((host, int(port)), Handler)
    log({"event": "listening", "listen": args.listen, "mode": State.config.mode,
         "enforce": State.config.enforce, "forward_proxy_enabled": State.config.forward_proxy,
         "allowlist": State.config.allowlist, "env_secrets": [n for n, _ in State.config.secrets]})
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def cmd_healthcheck(args):
    host, _, port = args.addr.rpartition(":")
    try:
        c = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=5)
        c.request("GET", "/health")
        ok = c.getresponse().status == 200
    except OSError:
        ok = False
    return 0 if ok else 1


def main(argv=None):
    ap = argparse.ArgumentParser(prog="pipelock", description="pipelock TEST DOUBLE (not pipelock)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--config", required=True)
    r.add_argument("--listen", default="127.0.0.1:8888")
    r.add_argument("--mode", choices=["strict", "balanced", "audit"])
    h = sub.add_parser("healthcheck")
    h.add_argument("--addr", default="127.0.0.1:8888")
    sub.add_parser("version")
    args = ap.parse_args(argv)
    if args.cmd == "run":
        return cmd_run(args)
    if args.cmd == "healthcheck":
        return cmd_healthcheck(args)
    print("pipelock test double (bot-bottle tests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
