"""bot-bottle's mitmproxy addon: hand every decrypted request to pipelock for a verdict.

Loaded with `mitmdump -s bottle_verdict.py` (see nix/image-contract.json, section
"mitmproxy"). The same file is used by the Nix image and by the tests. docs/addon.md is
the reference (config schema, request log schema, refusals, guarantees, measurements).

Why: mitmproxy's upstream mode sends https flows to an upstream proxy as CONNECT tunnels
and re-encrypts them, so pipelock would only see a tunnel. This addon instead re-targets
each decrypted request at pipelock's plain-HTTP listener in absolute form, e.g.

    POST https://api.example.com/v1/messages HTTP/1.1     (to pipelock's listener)
    Host: api.example.com

and pipelock's answer goes back to the client unchanged and streamed.

Options:
  --set bottle_config=PATH      the addon config file (JSON, schema v1, docs/addon.md);
                                `env:NAME` reads the same JSON from environment variable NAME.
  --set bottle_pipelock=H:P     legacy/test only, used when bottle_config is unset.
  --set bottle_max_body=BYTES   legacy/test only, with bottle_pipelock.
Neither set -> every request is refused 502, nothing is sent anywhere.

What it guarantees (docs/addon.md has the reasons and the tests that show each):
- mitmproxy opens a server connection only to pipelock, and only for an HTTP request this
  addon re-targeted there (`server_connect`); raw TCP/UDP relaying is off (rawtcp=false),
  so no byte mitmproxy has not parsed as HTTP is ever relayed.
- CONNECT (and requests) to a sidecar, an IP literal, a single-label name or localhost are
  refused before any connection.
- Request bodies are buffered (pipelock must judge them whole), each up to max_body_bytes,
  all together up to a memory budget; over either -> refusal, the rest of the body is read
  and dropped, never buffered.
- Credentials: a placeholder becomes the real value only on the credential's bound hosts in
  its declared header; a real credential value or a guarded secret found anywhere the addon
  did not put it -> refusal before anything is sent; headers pipelock skips are scanned here.
- Requests to pipelock ask for `Accept-Encoding: identity`.
- One JSON log line per request on stdout (flushed); mitmdump's own flow output is off.
- pipelock unreachable -> 502 naming pipelock ("... bot-bottle fails closed, the request
  was not sent"), from the connection error path (no probe connection).
"""

# No `from __future__ import annotations`: mitmproxy loads scripts outside sys.modules,
# where dataclasses cannot resolve string annotations.
import asyncio
import base64
import binascii
import hashlib
import ipaddress
import json
import logging
import os
import re
import socket
import sys
import time
import unicodedata
import urllib.parse
import zlib
from dataclasses import dataclass, field

from mitmproxy import ctx, exceptions, http
from mitmproxy.net.http import url as mitm_url

log = logging.getLogger("bottle_verdict")

CONFIG_VERSION = 1
LEGACY_MAX_BODY = 16 * 1024 * 1024
BUDGET_FACTOR = 4  # default memory budget for buffered request bodies = 4 x max_body_bytes
MIN_SCAN_LEN = 8  # known values shorter than this are not searched for (false positives)
REASON_MAX = 300
PIPELOCK_RESOLVE_TTL = 5.0  # seconds a resolved pipelock address is reused
META = "bot_bottle"  # flow.metadata key of this addon's per-flow state
PIPELOCK_DOWN_MARK = "bot-bottle fails closed, the request was not sent"
HEADER_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
HEADER_NAME_RE = re.compile(rb"[A-Za-z0-9-]{1,40}")  # a header name quoted in a refusal (no %-forms)
HOST_PATTERN = re.compile(r"^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)

# pipelock v2.3.0's default DLP patterns, verbatim: internal/config/defaults.go (tag v2.3.0,
# commit 7a3b7de), the line number is the first field (the last entry: core.go). pipelock compiles each with a (?i)
# prefix (scanner.New); three have post-match validators (internal/scanner/validate.go).
# The addon applies them to the headers pipelock is told to skip (ignore_headers), which
# pipelock would otherwise have scanned with exactly these patterns.
PIPELOCK_DEFAULT_DLP_PATTERNS = [
    (71, 'Anthropic API Key', r'''sk-ant-[a-zA-Z0-9\-_]{10,}''', 'critical', None),
    (72, 'OpenAI API Key', r'''sk-proj-[a-zA-Z0-9\-_]{10,}''', 'critical', None),
    (73, 'OpenAI Service Key', r'''sk-svcacct-[a-zA-Z0-9\-]{10,}''', 'critical', None),
    (74, 'Fireworks API Key', r'''fw_[a-zA-Z0-9]{24,}''', 'critical', None),
    (75, 'Google API Key', r'''AIza[0-9A-Za-z\-_]{35}''', 'high', None),
    (76, 'Google OAuth Client Secret', r'''GOCSPX-[A-Za-z0-9_\-]{28,}''', 'critical', None),
    (78, 'Stripe Key', r'''[sr]k[-_](live|test)[-_][a-zA-Z0-9]{20,}''', 'critical', None),
    (80, 'Stripe Webhook Secret', r'''whsec_[a-zA-Z0-9_\-]{20,}''', 'critical', None),
    (83, 'GitHub Token', r'''gh[pousr]_[A-Za-z0-9_]{36,}''', 'critical', None),
    (84, 'GitHub Fine-Grained PAT', r'''github_pat_[a-zA-Z0-9_]{36,}''', 'critical', None),
    (86, 'GitLab PAT', r'''glpat-[a-zA-Z0-9\-_]{20,}''', 'critical', None),
    (92, 'AWS Access ID', r'''(AKIA|A3T|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16,}''', 'critical', None),
    (96, 'AWS Secret Key', r'''(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY|secret.?access.?key|SecretAccessKey)\s*["'=:\s]{1,5}\s*[A-Za-z0-9/+=]{40}''', 'critical', None),
    (97, 'Google OAuth Token', r'''ya29\.[a-zA-Z0-9_-]{20,}''', 'critical', None),
    (100, 'Slack Token', r'''xox[bpras]-[0-9a-zA-Z-]{15,}''', 'critical', None),
    (101, 'Slack App Token', r'''xapp-[0-9]+-[A-Za-z0-9_]+-[0-9]+-[a-f0-9]+''', 'critical', None),
    (102, 'Discord Bot Token', r'''[MN][A-Za-z0-9]{23,}\.[A-Za-z0-9\-_]{6}\.[A-Za-z0-9\-_]{27,}''', 'critical', None),
    (105, 'Twilio API Key', r'''SK[a-f0-9]{32}''', 'high', None),
    (106, 'SendGrid API Key', r'''SG\.[a-zA-Z0-9_-]{22}\.[a-zA-Z0-9_-]{43}''', 'critical', None),
    (107, 'Mailgun API Key', r'''key-[a-zA-Z0-9]{32}''', 'high', None),
    (111, 'New Relic API Key', r'''NRAK-[A-Z0-9]{27,}''', 'critical', None),
    (114, 'Hugging Face Token', r'''hf_[A-Za-z0-9]{20,}''', 'critical', None),
    (115, 'Databricks Token', r'''dapi[a-z0-9]{30,}''', 'critical', None),
    (116, 'Replicate API Token', r'''r8_[A-Za-z0-9]{20,}''', 'critical', None),
    (117, 'Together AI Key', r'''tok_[a-z0-9]{40,}''', 'critical', None),
    (119, 'Pinecone API Key', r'''pcsk_[a-zA-Z0-9]{36,}''', 'critical', None),
    (121, 'Groq API Key', r'''gsk_[a-zA-Z0-9]{48,}''', 'critical', None),
    (123, 'xAI API Key', r'''xai-[a-zA-Z0-9\-_]{80,}''', 'critical', None),
    (127, 'DigitalOcean Token', r'''dop_v1_[a-f0-9]{64}''', 'critical', None),
    (128, 'HashiCorp Vault Token', r'''hvs\.[a-zA-Z0-9]{23,}''', 'critical', None),
    (129, 'Vercel Token', r'''(?:vercel|vc[piark])_[a-zA-Z0-9]{24,}''', 'critical', None),
    (130, 'Supabase Service Key', r'''sb_secret_[a-zA-Z0-9_-]{20,}''', 'critical', None),
    (133, 'npm Token', r'''npm_[A-Za-z0-9]{36,}''', 'critical', None),
    (134, 'PyPI Token', r'''pypi-[A-Za-z0-9_-]{16,}''', 'critical', None),
    (137, 'Linear API Key', r'''lin_api_[a-zA-Z0-9]{40,}''', 'high', None),
    (138, 'Notion API Key', r'''ntn_[a-zA-Z0-9]{40,}''', 'high', None),
    (139, 'Sentry Auth Token', r'''sntrys_[a-zA-Z0-9]{40,}''', 'high', None),
    (142, 'Private Key Header', r'''-----BEGIN\s+(RSA\s+|EC\s+|DSA\s+|OPENSSH\s+)?PRIVATE\s+KEY-----''', 'critical', None),
    (143, 'JWT Token', r'''(ey[a-zA-Z0-9_\-=]{10,}\.){2}[a-zA-Z0-9_\-=]{10,}''', 'high', None),
    (148, 'Bitcoin WIF Private Key', r'''(?:5[1-9A-HJ-NP-Za-km-z]{50}|[KL][1-9A-HJ-NP-Za-km-z]{51})''', 'critical', 'wif'),
    (151, 'Extended Private Key', r'''[xyzt]prv[1-9A-HJ-NP-Za-km-z]{107,108}''', 'critical', None),
    (154, 'Ethereum Private Key', r'''0x[0-9a-f]{64}\b''', 'critical', None),
    (162, 'Social Security Number', r'''\b\d{3}-\d{2}-\d{4}\b''', 'low', None),
    (163, 'Google OAuth Client ID', r'''[0-9]{6,}-[0-9A-Za-z_]{32}\.apps\.googleusercontent\.com''', 'medium', None),
    (184, 'Credential in URL', r'''(?m)(?:^|[?&;])\s*(?:password|passwd|secret|token|apikey|api_key|api-key)\s*=\s*[^\s&]{4,}''', 'high', None),
    (196, 'Environment Variable Secret', r'''(?-i:[A-Z][A-Z0-9]*[_-](?:SECRET(?:[_-]ACCESS)?[_-]?KEY|SECRET|PASSWORD|PASSWD|TOKEN|API[_-]?KEY))\b\s*=\s*\S{8,}''', 'high', None),
    (205, 'Credit Card Number', r'''\b\d{4}(?:[- ]?\d){11,15}\b''', 'medium', 'luhn'),
    (206, 'IBAN', r'''\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b''', 'medium', 'mod97'),
    # pipelock's immutable core floor (internal/scanner/core.go, scanCoreDLP) repeats most of
    # the above and adds this one (core.go:68): 56 entries there, 49 distinct names here.
    (68, 'GCP Service Account Key', r'''"type"\s*:\s*"service_account"''', 'critical', None),
]


# ---------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------
class ConfigError(ValueError):
    def __init__(self, where: str, msg: str):
        super().__init__(f"{where}: {msg}")
        self.where = where


def parse_hostport(value: str) -> tuple[str, int]:
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


def norm_host(host: str) -> str:
    return host.strip().strip("[]").lower().rstrip(".")


def host_matches(pattern: str, host: str) -> bool:
    """pipelock's allowlist semantics: `*.d` = any subdomain of d AND d itself."""
    host = norm_host(host)
    if pattern.startswith("*."):
        apex = pattern[2:]
        return host == apex or host.endswith("." + apex)
    return host == pattern


def is_ip_literal(host: str) -> bool:
    h = host.strip().strip("[]").split("%", 1)[0].rstrip(".")
    try:
        ipaddress.ip_address(h)
        return True
    except ValueError:
        pass
    # Non-canonical IPv4 that C resolvers accept: 127.1, 2130706433, 0x7f.0.0.1, 0177.0.0.1
    if h and re.fullmatch(r"[0-9a-fA-FxX.]+", h) and h[0].isdigit():
        try:
            socket.inet_aton(h)
            return True
        except OSError:
            pass
    return False


def path_without_query_values(path: str) -> str:
    base, sep, query = path.partition("?")
    if not sep:
        return base
    keys = []
    for part in query.split("&"):
        if not part:
            continue
        k, eq, _ = part.partition("=")
        keys.append(k + ("=" if eq else ""))
    return base + "?" + "&".join(keys)


def refusal(status: int, code: str, what: str, todo: str, **headers: str) -> http.Response:
    """The addon's own refusal (design.md "The addon's own refusals")."""
    body = f"blocked: bot-bottle: {what}; {todo}\n".encode()
    h = {"Content-Type": "text/plain; charset=utf-8", "X-Bot-Bottle-Block-Reason": code}
    h.update({k.replace("_", "-"): v for k, v in headers.items()})
    return http.Response.make(status, body, h)


class BadEncoding(Exception):
    """A request body the addon cannot decode: (status, code, what, todo) of its refusal."""


def decode_request_body(encoding: str, body: bytes, limit: int) -> bytes:
    """The body of a request sent with `Content-Encoding: gzip` or `deflate`, decoded, at
    most `limit` bytes (a compressed bomb is refused, not inflated). pipelock refuses any
    compressed body (it cannot scan one), and Claude Code gzips its request bodies at
    times: decoded here, the body is scanned by this addon and by pipelock like any other."""
    coding = encoding.strip().lower()
    if coding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif coding == "deflate":
        wbits = zlib.MAX_WBITS  # zlib-wrapped, as RFC 9110 means it ...
    else:
        raise BadEncoding(415, "unsupported_encoding",
                          f"the request body uses Content-Encoding {encoding!r}, which neither bot-bottle nor "
                          "pipelock can scan", "send it uncompressed, or gzip- or deflate-encoded")
    out = b""
    for attempt in (wbits, -zlib.MAX_WBITS):  # ... or raw deflate, as some clients send it
        d = zlib.decompressobj(attempt)
        try:
            out = d.decompress(body, limit + 1)
            if len(out) > limit:
                raise BadEncoding(413, "body_too_large",
                                  f"the request body decompresses to more than the bottle's limit of {limit} "
                                  "bytes", "send a smaller body (or raise egress.max_request_mb in your manifest)")
            if not d.eof or d.unused_data:
                raise zlib.error("truncated or trailing data")
            return out
        except zlib.error:
            if coding != "deflate" or attempt != wbits:
                break
    raise BadEncoding(400, "bad_encoding",
                      f"the request body is not valid {coding} data", "send it uncompressed, or encoded correctly")


# Bodies at least this big are decoded and searched in a worker thread; smaller ones
# inline (a thread hop costs more than their search, and most requests are small).
OFF_LOOP_BYTES = 256 * 1024


async def off_loop(size: int, fn, *args):
    """`fn(*args)`, in a worker thread when `size` says it will take a while, so other flows
    (a streaming answer) do not stall meanwhile."""
    if size >= OFF_LOOP_BYTES:
        return await asyncio.to_thread(fn, *args)
    return fn(*args)


# ---------------------------------------------------------------------------------------
# known values (credentials' real values, guarded secrets) in their encoded forms
# ---------------------------------------------------------------------------------------
def _b64_cores(value: bytes, alphabet_url: bool) -> set[bytes]:
    """The base64 text that `value` contributes at any of the 3 byte alignments inside a
    longer base64 stream (characters that depend on neighbouring bytes dropped). At offset 0
    this is a prefix of the value's own encoding, padded or not."""
    out = set()
    n = len(value)
    for k in (0, 1, 2):
        enc = base64.b64encode(b"\0" * k + value + b"\0\0")
        if alphabet_url:
            enc = enc.translate(bytes.maketrans(b"+/", b"-_"))
        first = -(-8 * k // 6)  # ceil
        last = (8 * (k + n)) // 6
        core = enc[first:last]
        if len(core) >= MIN_SCAN_LEN:
            out.add(core)
    return out


def encoded_forms(value: str) -> list[bytes]:
    raw = value.encode()
    forms = {raw, raw.hex().encode(), raw.hex().upper().encode()}
    for q in (urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)):
        forms.add(q.encode())
        forms.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), q).encode())
    forms |= _b64_cores(raw, False) | _b64_cores(raw, True)
    forms.add(base64.b32encode(raw).rstrip(b"="))
    return sorted((f for f in forms if f), key=len, reverse=True)


def percent_decodings(data, depth: int):
    """The distinct percent-decodings of `data` (bytes or str), `depth` levels deep: at each
    level %XX is decoded as in a URL (RFC 3986: `+` stays `+`) and, when the text has a `+`,
    also as a form (`+` is a space). Both, because pipelock's iterative decoding turns an
    encoded `+` into a space (a value with `+` escapes it) and a form's `+` is a space.
    Lazy and depth-first: at most `depth` decoded copies exist at once (bodies are large)."""
    if depth <= 0:
        return
    if isinstance(data, bytes):
        pct, plus, space, unquote = b"%", b"+", b" ", urllib.parse.unquote_to_bytes
    else:
        pct, plus, space = "%", "+", " "

        def unquote(t):
            return urllib.parse.unquote(t, errors="surrogateescape")
    for form in (False, True):
        if form and plus not in data:
            continue
        if not form and pct not in data:
            continue
        out = unquote(data.replace(plus, space) if form else data)
        if out != data:
            yield out
            yield from percent_decodings(out, depth - 1)


URL_DECODE_DEPTH = 3  # URL, header values and names: small, decoded up to 3 times
BODY_DECODE_DEPTH = 2  # bodies (up to max_body_bytes): once or twice


@dataclass
class Known:
    kind: str  # "credential" | "guarded"
    name: str
    forms: list[bytes]


@dataclass
class Credential:
    name: str
    env: str
    hosts: list[str]
    header: str  # lower case
    scheme: str | None  # None | "bearer" | "basic"
    placeholder: str
    value: str = field(repr=False)

    def bound_to(self, host: str) -> bool:
        return any(host_matches(p, host) for p in self.hosts)


@dataclass
class Config:
    pipelock: tuple[str, int] | None
    max_body: int
    budget: int
    sidecars: frozenset[str] = frozenset()
    credentials: list[Credential] = field(default_factory=list)
    guarded: list[tuple[str, str]] = field(default_factory=list, repr=False)
    unscanned: frozenset[str] = frozenset()
    known: list[Known] = field(default_factory=list, repr=False)
    source: str = ""

    @property
    def pipelock_text(self) -> str:
        return f"{self.pipelock[0]}:{self.pipelock[1]}" if self.pipelock else "(not configured)"


def _expect(cond: bool, where: str, msg: str):
    if not cond:
        raise ConfigError(where, msg)


def _pos_int(data: dict, key: str, required: bool, default=None) -> int:
    if key not in data or data[key] is None:
        _expect(not required, key, "is required")
        return default
    v = data[key]
    _expect(isinstance(v, int) and not isinstance(v, bool) and v > 0, key,
            f"must be a positive integer, got {v!r}")
    return v


def _env_value(environ, var: str, where: str) -> str:
    _expect(isinstance(var, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var or "") is not None,
            where, f"must be an environment variable name, got {var!r}")
    value = environ.get(var)
    _expect(value is not None, where, f"environment variable {var} is not set in mitmproxy's environment")
    _expect(value != "", where, f"environment variable {var} is empty")
    return value


def parse_config(data, environ, source: str = "") -> Config:
    """Validate the addon config (design.md schema v1). Raises ConfigError(field, msg)."""
    _expect(isinstance(data, dict), "(top level)", "must be a JSON object")
    known_keys = {"version", "pipelock", "max_body_bytes", "body_budget_bytes", "sidecars",
                  "credentials", "guarded", "unscanned_headers"}
    unknown = sorted(set(data) - known_keys)
    _expect(not unknown, unknown[0] if unknown else "", "unknown key")
    _expect("version" in data, "version", "is required")
    _expect(data["version"] == CONFIG_VERSION and not isinstance(data["version"], bool), "version",
            f"must be {CONFIG_VERSION}, got {data['version']!r}")
    pl = data.get("pipelock")
    _expect(isinstance(pl, str) and pl.strip() != "", "pipelock", "is required (HOST:PORT)")
    try:
        pipelock = parse_hostport(pl)
    except ValueError as e:
        raise ConfigError("pipelock", str(e)) from None
    max_body = _pos_int(data, "max_body_bytes", True)
    budget = _pos_int(data, "body_budget_bytes", False, BUDGET_FACTOR * max_body)
    _expect(budget >= max_body, "body_budget_bytes", f"must be at least max_body_bytes ({max_body})")

    sidecars = data.get("sidecars", [])
    _expect(isinstance(sidecars, list), "sidecars", "must be a list of host names")
    sc = set()
    for i, s in enumerate(sidecars):
        _expect(isinstance(s, str) and HOST_PATTERN.fullmatch(norm_host(s)) is not None
                and not s.startswith("*"), f"sidecars[{i}]", f"must be a host name, got {s!r}")
        sc.add(norm_host(s))
    sc.add(norm_host(pipelock[0]))

    creds = []
    seen_names = set()
    raw_creds = data.get("credentials", [])
    _expect(isinstance(raw_creds, list), "credentials", "must be a list")
    for i, c in enumerate(raw_creds):
        w = f"credentials[{i}]"
        _expect(isinstance(c, dict), w, "must be an object")
        extra = sorted(set(c) - {"name", "env", "hosts", "header", "scheme", "placeholder", "username"})
        _expect(not extra, f"{w}.{extra[0] if extra else ''}", "unknown key")
        name = c.get("name")
        _expect(isinstance(name, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name or "") is not None,
                f"{w}.name", f"must be a variable-like name, got {name!r}")
        _expect(name not in seen_names, f"{w}.name", f"duplicate credential name {name}")
        seen_names.add(name)
        value = _env_value(environ, c.get("env"), f"{w}.env")
        hosts = c.get("hosts")
        _expect(isinstance(hosts, list) and hosts, f"{w}.hosts", "must be a non-empty list")
        hs = []
        for j, h in enumerate(hosts):
            ok = isinstance(h, str) and HOST_PATTERN.fullmatch(norm_host(h)) is not None and h.strip() != "*"
            _expect(ok, f"{w}.hosts[{j}]", f"must be a host name or *.domain, got {h!r}")
            hs.append(norm_host(h))
        header = c.get("header")
        _expect(isinstance(header, str) and HEADER_TOKEN.fullmatch(header or "") is not None,
                f"{w}.header", f"must be an HTTP header name, got {header!r}")
        scheme = c.get("scheme")
        _expect(scheme is None or (isinstance(scheme, str) and scheme.lower() in ("bearer", "basic")),
                f"{w}.scheme", f'must be null, "Bearer" or "Basic", got {scheme!r}')
        placeholder = c.get("placeholder")
        _expect(isinstance(placeholder, str) and placeholder.strip() != "" and placeholder == placeholder.strip()
                and not any(ch in placeholder for ch in "\r\n\0"),
                f"{w}.placeholder", "must be a non-empty single-line string without surrounding spaces")
        _expect(scheme is None or scheme.lower() != "basic" or ":" not in placeholder,
                f"{w}.placeholder", "must not contain ':' for the Basic scheme")
        _expect(placeholder != value, f"{w}.placeholder", f"equals the real value in ${c.get('env')}")
        username = c.get("username")
        _expect(username is None or isinstance(username, str), f"{w}.username", "must be a string or null")
        creds.append(Credential(name, c["env"], hs, header.lower(), scheme.lower() if scheme else None,
                                placeholder, value))

    guarded = []
    raw_g = data.get("guarded", [])
    _expect(isinstance(raw_g, list), "guarded", "must be a list")
    for i, g in enumerate(raw_g):
        w = f"guarded[{i}]"
        _expect(isinstance(g, dict), w, "must be an object")
        extra = sorted(set(g) - {"name", "env"})
        _expect(not extra, f"{w}.{extra[0] if extra else ''}", "unknown key")
        name = g.get("name")
        _expect(isinstance(name, str) and name != "", f"{w}.name", "must be a non-empty string")
        guarded.append((name, _env_value(environ, g.get("env"), f"{w}.env")))

    uh = data.get("unscanned_headers", [])
    _expect(isinstance(uh, list), "unscanned_headers", "must be a list of header names")
    for i, h in enumerate(uh):
        _expect(isinstance(h, str) and HEADER_TOKEN.fullmatch(h or "") is not None,
                f"unscanned_headers[{i}]", f"must be an HTTP header name, got {h!r}")
    unscanned = frozenset(h.lower() for h in uh)
    for i, c in enumerate(creds):
        _expect(c.header in unscanned, f"credentials[{i}].header",
                f"{c.header} must also be listed in unscanned_headers (pipelock's ignore_headers); "
                "otherwise pipelock blocks the injected value")

    known = []
    for c in creds:
        if len(c.value) >= MIN_SCAN_LEN:
            known.append(Known("credential", c.name, encoded_forms(c.value)))
    for name, value in guarded:
        if len(value) >= MIN_SCAN_LEN:
            known.append(Known("guarded", name, encoded_forms(value)))
    return Config(pipelock, max_body, budget, frozenset(sc), creds, guarded, unscanned, known, source)


def load_config_option(value: str, environ) -> Config:
    if value.startswith("env:"):
        var = value[4:]
        text = environ.get(var)
        if text is None:
            raise ConfigError("bottle_config", f"environment variable {var} is not set")
        source = f"${var}"
    else:
        try:
            with open(value, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise ConfigError("bottle_config", f"cannot read {value}: {e.strerror}") from None
        source = value
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ConfigError("bottle_config", f"{source} is not valid JSON: {e}") from None
    return parse_config(data, environ, source)


# ---------------------------------------------------------------------------------------
# DLP of the headers pipelock skips
# ---------------------------------------------------------------------------------------
def _luhn(s: str) -> bool:
    d = [int(c) for c in s if c.isdigit()]
    n = len(d)
    if n < 15 or n > 19:
        return False
    p4 = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]
    ok = {4: n in (16, 19), 5: 1 <= d[1] <= 5 and n == 16,
          3: (n == 15) if d[1] in (4, 7) else (3528 <= p4 <= 3589 and 16 <= n <= 19),
          6: (p4 == 6011 or 6440 <= p4 <= 6499 or d[1] == 5) and n in (16, 19),
          2: 2221 <= p4 <= 2720 and n == 16}.get(d[0], False)
    if not ok:
        return False
    total = 0
    for i, x in enumerate(reversed(d)):
        if i % 2:
            x *= 2
            x -= 9 if x > 9 else 0
        total += x
    return total % 10 == 0


def _mod97(s: str) -> bool:  # pipelock also checks the per-country length table
    c = re.sub(r"[ -]", "", s).upper()
    if not 15 <= len(c) <= 34:
        return False
    r = c[4:] + c[:4]
    try:
        return int("".join(str(int(ch, 36)) for ch in r)) % 97 == 1
    except ValueError:
        return False


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _wif(s: str) -> bool:
    try:
        n = 0
        for ch in s:
            n = n * 58 + _B58.index(ch)
    except ValueError:
        return False
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    raw = b"\0" * (len(s) - len(s.lstrip("1"))) + raw
    if len(raw) < 5:
        return False
    body, check = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] != check or body[0] != 0x80:
        return False
    payload = body[1:]
    return len(payload) == 32 or (len(payload) == 33 and payload[32] == 1)


VALIDATORS = {"luhn": _luhn, "mod97": _mod97, "wif": _wif}
COMPILED_PATTERNS = [(name, re.compile(rx, re.IGNORECASE), VALIDATORS.get(val))
                     for _line, name, rx, _sev, val in PIPELOCK_DEFAULT_DLP_PATTERNS]


def dlp_texts(value: str) -> list[str]:
    """The forms of a header value that are matched against the patterns: as sent,
    normalised (NFKC, zero-width characters removed), percent-/form-decoded, and each
    base64/hex-looking token decoded (e.g. the user:password of `Basic ...`)."""
    v = unicodedata.normalize("NFKC", value).translate(ZERO_WIDTH)
    out = [value, v]
    out.extend(percent_decodings(v, URL_DECODE_DEPTH))
    for tok in re.findall(r"[A-Za-z0-9+/_=-]{12,}", v):
        out.extend(_decodings(tok))
    return list(dict.fromkeys(out))  # an ASCII value is its own NFKC form: match it once


def _decodings(tok: str) -> list[str]:
    out = []
    t = tok.rstrip("=")
    for alt in (None, b"-_"):
        try:
            raw = base64.b64decode(t + "=" * (-len(t) % 4), altchars=alt, validate=True)
        except (binascii.Error, ValueError):
            continue
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", tok):
        try:
            out.append(bytes.fromhex(tok).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            pass
    return out


def dlp_match(value: str) -> str | None:
    for text in dlp_texts(value):
        for name, rx, validator in COMPILED_PATTERNS:
            for m in rx.finditer(text):
                if validator is None or validator(m.group(0)):
                    return name
    return None


# ---------------------------------------------------------------------------------------
# mitmproxy internals this addon relies on (checked at load; a mismatch stops mitmproxy)
# ---------------------------------------------------------------------------------------
_GATE = None  # the BottleVerdict instance that sees request body chunks


def install_patches(addon) -> None:
    """Two small wrappers around mitmproxy 12 internals, because no public hook does it:
    1. HttpStream.state_consume_request_body: every request body chunk passes through
       BottleVerdict.on_body_chunk, which counts it against the per-request limit and the
       memory budget and can drop it (the refused request's body is read, not buffered).
    2. ConnectionHandler.server_event: when a connection to pipelock fails, the error text
       the client gets (mitmproxy's 502) is the addon's fail-closed wording, which the
       server_connect_error hook put on the connection, instead of the bare OS error."""
    global _GATE
    _GATE = addon
    from mitmproxy.proxy import events as mevents
    from mitmproxy.proxy import server as mserver
    from mitmproxy.proxy.layers import http as mhttp

    stream_cls = mhttp.HttpStream
    orig_consume = stream_cls.state_consume_request_body
    if not getattr(orig_consume, "_bot_bottle", False):
        def state_consume_request_body(self, event):
            if isinstance(event, mhttp.RequestData) and _GATE is not None:
                if not _GATE.on_body_chunk(self.flow, self.request_body_buf, len(event.data)):
                    return
            yield from orig_consume(self, event)

        state_consume_request_body._bot_bottle = True
        stream_cls.state_consume_request_body = state_consume_request_body

    handler_cls = mserver.ConnectionHandler
    orig_event = handler_cls.server_event
    if not getattr(orig_event, "_bot_bottle", False):
        async def server_event(self, event):
            if isinstance(event, mevents.OpenConnectionCompleted) and isinstance(event.reply, str):
                err = getattr(event.command.connection, "error", None)
                if isinstance(err, str) and PIPELOCK_DOWN_MARK in err:
                    event.reply = err
            return await orig_event(self, event)

        server_event._bot_bottle = True
        handler_cls.server_event = server_event


# ---------------------------------------------------------------------------------------
# per-flow state
# ---------------------------------------------------------------------------------------
@dataclass
class FlowState:
    t0: float
    ts: float
    method: str = ""
    scheme: str | None = None
    host: str = ""
    port: int | None = None
    path: str | None = None
    refused: tuple[str, str] | None = None  # (code, message) of the addon's own refusal
    discard: bool = False  # body chunks are dropped (the request is refused)
    buffered: int = 0  # bytes of this request's body counted against the budget
    body_len: int = 0  # request body bytes handed to pipelock
    bytes_down: int = 0
    credentials: list[str] = field(default_factory=list)
    retargeted: bool = False
    logged: bool = False


def state(flow) -> FlowState:
    st = flow.metadata.get(META)
    if st is None:
        now = time.time()
        st = FlowState(t0=time.monotonic(), ts=flow.request.timestamp_start or now)
        flow.metadata[META] = st
    return st


# ---------------------------------------------------------------------------------------
# the addon
# ---------------------------------------------------------------------------------------
class BottleVerdict:
    def __init__(self) -> None:
        self.cfg: Config | None = None
        self.buffered_total = 0
        self.tickets: dict[str, set[str]] = {}
        self.hostname = norm_host(socket.gethostname())
        # pipelock's resolved address (host, port, resolved at): a new server connection to
        # an IP skips mitmproxy's per-connection name lookup (an executor hop, and a DNS
        # round trip to Docker's resolver in a bottle).
        self.pl_resolved: tuple[str, int, float] | None = None

    # -- options -------------------------------------------------------------------------
    def load(self, loader) -> None:
        loader.add_option("bottle_config", str, "",
                          "Path of the bot-bottle addon config (JSON, docs/addon.md); env:NAME reads it "
                          "from an environment variable.")
        loader.add_option("bottle_pipelock", str, "",
                          "Legacy/tests: pipelock's listener as HOST:PORT when bottle_config is unset.")
        loader.add_option("bottle_max_body", int, LEGACY_MAX_BODY,
                          "Legacy/tests: largest request body with bottle_pipelock.")
        install_patches(self)
        # stdout carries the request log and mitmproxy's own log lines: line by line, at once
        # (a pipe, e.g. `docker logs`, would otherwise hold them in a 8 KiB buffer).
        try:
            sys.stdout.reconfigure(line_buffering=True)
        except (AttributeError, ValueError):
            pass

    def configure(self, updated: set[str]) -> None:
        opts = ctx.options
        if updated & {"bottle_config", "bottle_pipelock", "bottle_max_body"}:
            self.cfg = self._load_config(opts.bottle_config, opts.bottle_pipelock, opts.bottle_max_body)
        # Options that would let mitmproxy talk to origins itself, relay bytes it has not
        # parsed as HTTP, or print flows on stdout (which carries the request log).
        want = {"connection_strategy": "lazy", "upstream_cert": False, "rawtcp": False,
                "http3": False, "websocket": False, "stream_large_bodies": None,
                "onboarding": False, "flow_detail": 0}
        fix = {k: v for k, v in want.items() if hasattr(opts, k) and getattr(opts, k) != v}
        if fix:
            log.info("bottle_verdict: forcing %s", ", ".join(f"{k}={v}" for k, v in fix.items()))
            opts.update(**fix)
        for name in ("ignore_hosts", "allow_hosts", "tcp_hosts", "udp_hosts"):
            if getattr(opts, name, None):
                raise exceptions.OptionsError(f"bottle_verdict: {name} must stay empty (it would bypass pipelock)")
        if opts.mode and any(not m.startswith("regular") for m in opts.mode):
            raise exceptions.OptionsError(f"bottle_verdict: only regular proxy mode is supported, got {opts.mode}")

    def _load_config(self, path: str, legacy_pipelock: str, legacy_max: int) -> Config | None:
        if path:
            if legacy_pipelock:
                raise exceptions.OptionsError("bottle_verdict: set bottle_config or bottle_pipelock, not both")
            try:
                return load_config_option(path, os.environ)
            except ConfigError as e:
                src = "" if e.where == "bottle_config" else f" ({path})"
                raise exceptions.OptionsError(f"bottle_config{src}: {e}") from None
        if legacy_pipelock:
            if legacy_max <= 0:
                raise exceptions.OptionsError("bottle_max_body must be positive")
            try:
                pl = parse_hostport(legacy_pipelock)
            except ValueError as e:
                raise exceptions.OptionsError(f"bottle_pipelock: {e}") from None
            return Config(pl, legacy_max, BUDGET_FACTOR * legacy_max, frozenset({norm_host(pl[0])}),
                          source="bottle_pipelock")
        return None

    def running(self) -> None:
        c = self.cfg
        if c is None:
            log.warning("bottle_verdict: no bottle_config; every request will be refused 502")
            return
        log.info("bottle_verdict: judging every request at pipelock %s (config %s; max body %d bytes, "
                 "body budget %d bytes; %d sidecars; credentials %s; guarded %s; unscanned headers %s)",
                 c.pipelock_text, c.source, c.max_body, c.budget, len(c.sidecars),
                 ",".join(x.name for x in c.credentials) or "-",
                 ",".join(n for n, _ in c.guarded) or "-", ",".join(sorted(c.unscanned)) or "-")
        for kind, name, value in ([("credential", x.name, x.value) for x in c.credentials]
                                  + [("guarded", n, v) for n, v in c.guarded]):
            if len(value) < MIN_SCAN_LEN:
                log.warning("bottle_verdict: %s %s is shorter than %d characters; it is not searched for "
                            "in requests", kind, name, MIN_SCAN_LEN)

    # -- target checks ---------------------------------------------------------------------
    def target_refusal(self, host: str, port: int | None) -> http.Response | None:
        """CONNECT targets and request hosts that must never be used: they could reach a
        sidecar (pipelock's raw listener, mitmproxy itself) or Docker's internal names."""
        h = norm_host(host)
        where = f"{h}:{port}" if port else h
        if is_ip_literal(h):
            return refusal(403, "ip_literal", f"{where} is an IP address; bot-bottle only lets requests to host "
                           "names through (pipelock judges names)", "use the host name")
        sidecars = self.cfg.sidecars if self.cfg else frozenset()
        first = h.split(".", 1)[0]
        if (h in sidecars or first in sidecars or "." not in h or h == "localhost"
                or h.endswith(".localhost") or h == self.hostname):
            return refusal(403, "internal_target", f"{where} names this bottle's own sidecars or an internal "
                           "(single-label, localhost) host, which the agent may not reach",
                           "use a fully qualified host name from the bottle's allowlist")
        return None

    # -- CONNECT ---------------------------------------------------------------------------
    def http_connect(self, flow: http.HTTPFlow) -> None:
        st = state(flow)
        req = flow.request
        st.method, st.host, st.port = "CONNECT", req.host, req.port
        if req.headers.get(":protocol"):
            resp = refusal(403, "websocket_unsupported", "WebSocket over HTTP/2 CONNECT is refused (pipelock "
                           "cannot inspect WebSocket traffic)", "use plain HTTP requests")
        else:
            resp = self.target_refusal(req.host, req.port)
        if resp is not None:
            flow.response = resp
            st.refused = (resp.headers["X-Bot-Bottle-Block-Reason"], resp.text.strip())
            self._emit(flow)

    # -- HTTP ------------------------------------------------------------------------------
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        # Keep the whole body: pipelock must judge it before anything is sent; a streamed
        # request would open the server connection before the `request` hook.
        req.stream = False
        st = state(flow)
        st.method, st.scheme, st.host, st.port = req.method, req.scheme, req.host, req.port
        st.path = req.path
        if flow.response is not None:
            st.discard = True
            return
        resp = self._early_refusal(flow)
        if resp is not None:
            self._refuse(flow, resp)

    def _early_refusal(self, flow) -> http.Response | None:
        req = flow.request
        if self.cfg is None:
            return refusal(502, "not_configured", "mitmproxy has no bottle_config, so there is no pipelock to "
                           "judge requests; the request was not sent", "restart the bottle")
        if self._is_upgrade(req):
            return refusal(403, "websocket_unsupported", "WebSocket and other protocol upgrades are refused "
                           "(pipelock cannot inspect them)", "use plain HTTP requests")
        if req.method.upper() == "CONNECT":
            return refusal(403, "nested_connect", "CONNECT inside a tunnel is refused", "send the request itself")
        resp = self.target_refusal(req.host, req.port)
        if resp is not None:
            return resp
        # The URL pipelock judges is the connection's target (CONNECT authority or absolute
        # URL). A Host header naming another host would let a client talk to one host while
        # pipelock judged another (domain fronting).
        host_header = req.host_header
        if host_header:
            try:
                hh_host, hh_port = mitm_url.parse_authority(host_header, check=False)
            except ValueError:
                hh_host, hh_port = host_header, None
            if norm_host(hh_host) != norm_host(req.host) or (hh_port is not None and hh_port != req.port):
                return refusal(421, "host_mismatch", f"the Host header {host_header!r} does not match the "
                               f"connection target {req.host}:{req.port}", "send Host equal to the URL's host")
        length = req.headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > self.cfg.max_body:
            return self._too_large(int(length))
        return None

    def on_body_chunk(self, flow, buf, n: int) -> bool:
        """Called by the patched mitmproxy for every request body chunk before it is
        buffered. False = drop the chunk (the request is or becomes refused)."""
        st = flow.metadata.get(META)
        if st is None or self.cfg is None:
            return True
        if st.discard:
            return False
        size = len(buf) + n
        if size > self.cfg.max_body:
            self._refuse(flow, self._too_large(size, exact=False))
            buf.clear()
            return False
        if self.buffered_total + n > self.cfg.budget:
            self._refuse(flow, refusal(
                503, "memory_budget", f"mitmproxy is already holding {self.buffered_total} bytes of request "
                f"bodies, its budget is {self.cfg.budget} bytes", "retry when other uploads have finished",
                Retry_After="2"))
            buf.clear()
            return False
        self.buffered_total += n
        st.buffered += n
        return True

    def _release(self, flow) -> None:
        st = flow.metadata.get(META)
        if st is not None and st.buffered:
            self.buffered_total -= st.buffered
            st.buffered = 0

    def _refuse(self, flow, resp: http.Response) -> None:
        st = state(flow)
        flow.response = resp
        st.refused = (resp.headers["X-Bot-Bottle-Block-Reason"], resp.text.strip())
        st.discard = True
        self._release(flow)

    async def request(self, flow: http.HTTPFlow) -> None:
        st = state(flow)
        if flow.response is not None:
            self._release(flow)
            return  # refused above (or answered by another addon)
        req = flow.request
        cfg = self.cfg
        body = req.raw_content or b""
        if len(body) > cfg.max_body:  # defensive; on_body_chunk refuses first
            return self._refuse(flow, self._too_large(len(body)))
        # 0. a compressed body is decoded first: found secrets hide in it, and pipelock
        #    refuses what it cannot scan. Off the event loop: other flows keep streaming.
        encoding = req.headers.get("content-encoding", "")
        if encoding and encoding.strip().lower() != "identity" and body:
            try:
                body = await off_loop(len(body), decode_request_body, encoding, body, cfg.max_body)
            except BadEncoding as e:
                return self._refuse(flow, refusal(*e.args))
            del req.headers["content-encoding"]
            req.content = body  # sets content-length to the decoded size
        elif encoding:
            del req.headers["content-encoding"]
        # 1. found secrets: known values anywhere, before anything is injected (a large body
        #    takes a while: off the event loop)
        hit = await off_loop(len(body), self._find_known, req, body)
        if hit is not None:
            known, where = hit
            if known.kind == "credential":
                c = next(x for x in cfg.credentials if x.name == known.name)
                resp = refusal(403, "credential_leak", f"the request carries the real value of credential "
                               f"{known.name} ({where}), which the agent must never hold",
                               f"send the placeholder in ${known.name} instead; bot-bottle puts the real value "
                               f"into the {c.header} header of requests to {', '.join(c.hosts)}")
            else:
                resp = refusal(403, "secret_leak", f"the request carries the value of the bottle's secret "
                               f"{known.name} ({where})", "do not send this secret anywhere")
            return self._refuse(flow, resp)
        # 2. which declared headers get a real value
        plan = self._injection_plan(req)
        # 3. headers pipelock skips: pipelock v2.3.0's default patterns, unless injected here
        for name, value in req.headers.items(multi=True):
            lname = name.lower()
            if lname not in cfg.unscanned or lname in plan:
                continue
            text = value
            for c in cfg.credentials:
                text = text.replace(c.placeholder, "")
            pattern = dlp_match(text)
            if pattern:
                return self._refuse(flow, refusal(
                    403, "header_dlp", f"the {name} header contains a secret ({pattern}) and bot-bottle did not "
                    "put it there", "do not send credentials yourself; declare them as bottle credentials"))
        # 4. inject, ask for identity encoding, re-target at pipelock
        for lname, (cred, new_value) in plan.items():
            req.headers[lname] = new_value
            st.credentials.append(cred.name)
        req.headers["accept-encoding"] = "identity"
        st.body_len = len(body)
        host_header = req.host_header
        absolute = req.url  # e.g. https://api.example.com/v1/messages?x=1
        target_scheme, target_host, target_port = req.scheme, req.host, req.port
        ph, pp = await self._pipelock_address()
        req.scheme = "http"
        req.host = ph  # the setter also rewrites Host/:authority ...
        req.port = pp
        req.path = absolute  # ... absolute-form request target
        req.host_header = host_header or mitm_url.hostport(target_scheme, target_host, target_port)
        st.retargeted = True
        self.tickets.setdefault(flow.client_conn.id, set()).add(flow.id)

    async def _pipelock_address(self) -> tuple[str, int]:
        host, port = self.cfg.pipelock
        r = self.pl_resolved
        if r is not None and time.monotonic() - r[2] < PIPELOCK_RESOLVE_TTL:
            return r[0], r[1]
        if is_ip_literal(host):
            return host, port
        try:
            infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM), 5)
            ip = infos[0][4][0]
        except (OSError, asyncio.TimeoutError, IndexError):
            return host, port  # mitmproxy's own connect then fails with the worded error
        self.pl_resolved = (ip, port, time.monotonic())
        return ip, port

    def _is_pipelock(self, addr) -> bool:
        if addr is None or self.cfg is None or self.cfg.pipelock is None:
            return False
        a = (addr[0], addr[1])
        r = self.pl_resolved
        return a == self.cfg.pipelock or (r is not None and a == (r[0], r[1]))

    def _injection_plan(self, req) -> dict:
        """header (lower case) -> (credential, new value), for credentials bound to this
        https request's host whose declared header carries exactly the placeholder form."""
        plan = {}
        if req.scheme != "https":
            return plan
        for c in self.cfg.credentials:
            if c.header in plan or not c.bound_to(req.host):
                continue
            values = req.headers.get_all(c.header)
            if len(values) != 1:
                continue
            v = values[0].strip()
            new = None
            if c.scheme is None:
                if v == c.placeholder:
                    new = c.value
            elif c.scheme == "bearer":  # `Bearer <p>`, or `token <p>` (GitHub's gh): prefix kept
                kind, _, token = v.partition(" ")
                if kind.lower() in ("bearer", "token") and token.strip() == c.placeholder:
                    new = f"{kind} {c.value}"
            else:  # basic
                kind, _, b64 = v.partition(" ")
                if kind.lower() == "basic":
                    try:
                        user, sep, password = base64.b64decode(b64.strip(), validate=True).decode().partition(":")
                    except (binascii.Error, ValueError, UnicodeDecodeError):
                        sep = ""
                    if sep and password == c.placeholder:
                        new = "Basic " + base64.b64encode(f"{user}:{c.value}".encode()).decode()
            if new is not None:
                plan[c.header] = (c, new)
        return plan

    def _find_known(self, req, body: bytes):
        known = self.cfg.known
        if not known:
            return None
        for where, data in self._known_places(req, body):
            for k in known:
                for f in k.forms:
                    if f in data:
                        return k, where
        return None

    @staticmethod
    def _known_places(req, body: bytes):
        """(label, bytes) for everything a known value is searched in, lazily: the URL, every
        header name and value, a Basic header's user:password, the body; each raw and
        percent-/form-decoded (percent_decodings). Labels end up in the refusal and the
        log: they quote a header's name only when it is plain letters, digits and `-`."""
        url = req.url.encode("utf-8", "surrogateescape")
        yield "URL", url
        for d in percent_decodings(url, URL_DECODE_DEPTH):
            yield "URL", d
        for name, value in req.headers.fields:
            yield "a header name", name
            for d in percent_decodings(name, URL_DECODE_DEPTH):
                yield "a header name", d
            label = f"header {name.decode('latin-1')}" if HEADER_NAME_RE.fullmatch(name) else "a header"
            yield label, value
            for d in percent_decodings(value, URL_DECODE_DEPTH):
                yield label, d
            kind, _, rest = value.strip().partition(b" ")
            if kind.lower() == b"basic":
                try:
                    dec = base64.b64decode(rest.strip() + b"==")
                except (binascii.Error, ValueError):
                    continue
                yield label + " (Basic, decoded)", dec
                for d in percent_decodings(dec, URL_DECODE_DEPTH):
                    yield label + " (Basic, decoded)", d
        if body:
            yield "body", body
            yield from (("body", d) for d in percent_decodings(body, BODY_DECODE_DEPTH))

    def _too_large(self, size: int, exact: bool = True) -> http.Response:
        what = f"{size} bytes" if exact else f"more than {self.cfg.max_body} bytes"
        return refusal(413, "body_too_large", f"the request body ({what}) exceeds the bottle's limit of "
                       f"{self.cfg.max_body} bytes (egress.max_request_mb)",
                       "send a smaller body, or raise egress.max_request_mb in the bottle's manifest")

    @staticmethod
    def _is_upgrade(req: http.Request) -> bool:
        if req.headers.get("upgrade", ""):
            return True  # any Upgrade (websocket, h2c, ...): refuse, never pass through
        return req.method.upper() == "CONNECT" and bool(req.headers.get(":protocol"))

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        st = state(flow)
        self._release(flow)
        if st.retargeted:
            # The request has been handed to pipelock: its body is no longer needed.
            flow.request.data.content = b""
        resp = flow.response
        if resp is None or st.refused is not None:
            return
        if self._maybe_pipelock_verdict(resp):
            return  # small text answer: buffered, so the log can quote it
        counter = st

        def count(data: bytes) -> bytes:
            counter.bytes_down += len(data)
            return data

        resp.stream = count

    @staticmethod
    def _maybe_pipelock_verdict(resp: http.Response) -> bool:
        if resp.status_code not in (403, 429, 502):
            return False
        if not resp.headers.get("content-type", "").lower().startswith("text/plain"):
            return False
        length = resp.headers.get("content-length", "")
        return length.isdigit() and int(length) <= 8192

    def response(self, flow: http.HTTPFlow) -> None:
        self._emit(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        self._release(flow)
        self._emit(flow)

    def _end_ticket(self, flow) -> None:
        t = self.tickets.get(flow.client_conn.id)
        if t is not None:
            t.discard(flow.id)
            if not t:
                self.tickets.pop(flow.client_conn.id, None)

    # -- the request log ---------------------------------------------------------------------
    def _emit(self, flow: http.HTTPFlow) -> None:
        st = state(flow)
        self._end_ticket(flow)
        if st.logged:
            return
        st.logged = True
        resp = flow.response
        status = resp.status_code if resp is not None else None
        verdict, by, code, reason = "allowed", None, None, None
        bytes_down = st.bytes_down
        if resp is not None and not callable(resp.stream) and resp.raw_content is not None \
                and flow.request.method.upper() != "HEAD":
            bytes_down = len(resp.raw_content)
        if st.refused is not None:
            verdict, by = "refused", "bot-bottle"
            code, reason = st.refused
        elif flow.error is not None:
            msg = flow.error.msg
            if PIPELOCK_DOWN_MARK in msg:
                verdict, by, code = "failed", "bot-bottle", "pipelock_unreachable"
            elif "HTTP CONNECT request even though it is not running in regular" in msg:
                verdict, by, code = "refused", "bot-bottle", "nested_connect"
            else:
                verdict, code = "failed", "connection_error"
            reason = msg
        elif resp is not None and not callable(resp.stream) and status in (403, 429, 502):
            text = (resp.raw_content or b"").decode("utf-8", "replace")
            first = text.split("\n", 1)[0]
            if status == 502 and first.strip() == "forward proxy fetch failed":
                verdict, by, code, reason = "failed", "pipelock", "fetch_failed", first
            elif first.startswith("blocked: ") or first.startswith("CONNECT blocked: "):
                verdict, by, code, reason = "blocked", "pipelock", pipelock_reason_code(first), first
        line = {
            "bot_bottle": "request", "v": 1,
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(st.ts)) + f".{int(st.ts * 1000) % 1000:03d}Z",
            "id": flow.id, "method": st.method or flow.request.method,
            "scheme": st.scheme, "host": self._redact(st.host or flow.request.host), "port": st.port,
            "path": self._redact(path_without_query_values(st.path)) if st.path is not None else None,
            "status": status, "verdict": verdict, "by": by, "reason_code": code,
            "reason": self._redact(reason)[:REASON_MAX] if reason else reason,
            "credential": ",".join(st.credentials) or None,
            "bytes_up": st.body_len if verdict == "allowed" or (verdict == "failed" and by != "bot-bottle") else 0,
            "bytes_down": bytes_down,
            "duration_ms": round((time.monotonic() - st.t0) * 1000, 1),
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    def _redact(self, text: str) -> str:
        """Known values never reach the log, even when the agent put one in a path, a host or
        a header a refusal quotes, percent-encoded included: then the text is logged decoded,
        with `<NAME>` for the value."""
        if not self.cfg or not self.cfg.known or not text:
            return text
        text = self._replace_known(text)
        for _ in range(8):  # each round removes at least one value
            hit = None
            for d in percent_decodings(text, URL_DECODE_DEPTH):
                r = self._replace_known(d)
                if r != d:
                    hit = r
                    break
            if hit is None:
                break
            text = hit
        return text

    def _replace_known(self, text: str) -> str:
        for k in self.cfg.known:
            for f in k.forms:
                s = f.decode("utf-8")  # every form is UTF-8 (the raw value) or ASCII
                if s in text:
                    text = text.replace(s, f"<{k.name}>")
        return text

    # -- connections -----------------------------------------------------------------------
    def server_connect(self, data) -> None:
        """The single door out: a connection to pipelock, for a request re-targeted there."""
        server = data.server
        addr = server.address
        tickets = self.tickets.get(data.client.id)
        if not self._is_pipelock(addr) or not tickets:
            server.error = (
                f"bot-bottle: mitmproxy connects only to pipelock, and only for an HTTP request it re-targeted "
                f"there; refused a connection to {addr[0] if addr else '?'}:{addr[1] if addr else '?'}")
            log.warning("bottle_verdict: %s", server.error)
            return
        tickets.pop()

    def server_connect_error(self, data) -> None:
        if not self._is_pipelock(data.server.address):
            return
        self.pl_resolved = None  # resolve again next time (pipelock may have a new address)
        err = str(data.server.error or "")
        if PIPELOCK_DOWN_MARK in err or err.startswith("bot-bottle:"):
            return
        data.server.error = f"pipelock at {self.cfg.pipelock_text} is unreachable ({err}); {PIPELOCK_DOWN_MARK}"
        log.warning("bottle_verdict: %s", data.server.error)

    def client_disconnected(self, client) -> None:
        self.tickets.pop(client.id, None)

    # -- non-HTTP (unreachable with rawtcp=false; kept as a backstop) -----------------------
    def tcp_start(self, flow) -> None:
        log.warning("bottle_verdict: killing non-HTTP TCP flow to %s", flow.server_conn.address)
        flow.kill()

    def udp_start(self, flow) -> None:
        log.warning("bottle_verdict: killing UDP flow to %s", flow.server_conn.address)
        flow.kill()

    def websocket_start(self, flow) -> None:
        flow.kill()


def pipelock_reason_code(text: str) -> str:
    """A stable code for a pipelock v2.3.0 block text (internal/proxy/forward.go,
    internal/proxy/bodyscan.go, internal/scanner/scanner.go)."""
    t = text.lower()
    table = [
        ("domain not in allowlist", "allowlist"), ("domain blocked", "allowlist"),
        ("request header contains secret", "header_dlp"),
        ("request body exceeds max_body_bytes", "body_too_large"),
        ("compressed", "compressed"), ("content-encoding", "compressed"),
        ("request body contains secret", "body_dlp"),
        ("environment variable leak", "env_leak"),
        ("rate limit exceeded", "rate_limit"),
        ("ssrf check failed: dns", "dns"), ("ssrf blocked", "ssrf"),
        ("response", "response_scan"),
        ("dlp match", "url_dlp"), ("high entropy", "url_dlp"), ("url length", "url_dlp"),
        ("crlf", "url_dlp"), ("path traversal", "url_dlp"),
    ]
    for needle, code in table:
        if needle in t:
            return code
    return "other"


addons = [BottleVerdict()]
