"""Secrets hidden in a request body's encoded runs (hex, `\\x` hex, base64 in both alphabets, base32, percent-encoding, nested up to 3 layers as pipelock decodes): found by the known-value search and pipelock v2.3.0's default patterns on the printable text of the decoded forms, whatever the content type; pure, no I/O.

Why: pipelock scans an `application/octet-stream` (or any unknown type) body as one text
and decodes it only when the whole text, or a part between `/ ? & = space` delimiters, is
one encoding (internal/scanner/text_dlp.go, decodeAndMatchRecursive and
decodeTextSegments, tag v2.3.0): a hex-encoded key with bytes around it passed. The addon
finds every encoded run wherever it sits and decodes it.
"""

import base64
import binascii
import re
import urllib.parse

from .config import Credential, Known
from .dlp import COMPILED_PATTERNS
from .known_values import leak_refusal
from .refusal import Refusal, encoded_secret

MAX_DEPTH = 3  # layers decoded, as pipelock's maxDecodeDepth (text_dlp.go:253)
MIN_DECODED = 8  # decoded forms shorter than this are not searched
MAX_DECODED_TOTAL = 64 * 1024 * 1024  # bytes decoded per body, all layers (a bound on work)

HEX_RUN = re.compile(rb"(?:[0-9a-fA-F]{2}){12,}")
ESCAPED_HEX_RUN = re.compile(rb"(?:\\x[0-9a-fA-F]{2}){8,}")
B64_RUN = re.compile(rb"[A-Za-z0-9+/_-]{16,}={0,2}")
B32_RUN = re.compile(rb"(?:[A-Z2-7]{16,}|[a-z2-7]{16,})={0,6}")
PCT_RUN = re.compile(rb"(?:%[0-9A-Fa-f]{2}|[A-Za-z0-9._~+/=:-]){12,}")
# What a secret is written in: printable ASCII. A decoded form is searched in its runs of
# these (like strings(1)): the random bytes of a decoded image or archive are skipped.
PRINTABLE_RUN = re.compile(rb"[\x20-\x7e\t\r\n]{8,}")


def _b64(run: bytes) -> list[bytes]:
    core = run.rstrip(b"=")
    std, url = re.search(rb"[+/]", core) is not None, re.search(rb"[-_]", core) is not None
    if std and url:
        return []  # both alphabets at once: not one base64 text
    if len(core) % 4 == 1:
        core = core[:-1]  # a run that ends mid-character: decode what is whole
    try:
        return [base64.b64decode(core + b"=" * (-len(core) % 4), altchars=b"-_" if url else None,
                                 validate=True)]
    except (binascii.Error, ValueError):
        return []


def _b32(run: bytes) -> list[bytes]:
    core = run.rstrip(b"=").upper()
    core = core[: len(core) - len(core) % 8] if len(core) % 8 in (1, 3, 6) else core
    try:
        return [base64.b32decode(core + b"=" * (-len(core) % 8))]
    except (binascii.Error, ValueError):
        return []


def _layer(data: bytes):
    """(encoding, decoded) for every encoded run in `data`, one layer deep."""
    for m in HEX_RUN.finditer(data):
        yield "hex", bytes.fromhex(m.group(0).decode())
    for m in ESCAPED_HEX_RUN.finditer(data):
        yield "hex", bytes.fromhex(m.group(0).replace(b"\\x", b"").decode())
    for m in B64_RUN.finditer(data):
        for d in _b64(m.group(0)):
            yield "base64", d
    for m in B32_RUN.finditer(data):
        for d in _b32(m.group(0)):
            yield "base32", d
    for m in PCT_RUN.finditer(data):
        run = m.group(0)
        if run.count(b"%") >= 4:
            yield "percent-encoding", urllib.parse.unquote_to_bytes(run)


def decoded_forms(data: bytes, depth: int = MAX_DEPTH, label: str = ""):
    """(how it was decoded, e.g. `base64 then hex`, decoded bytes), depth-first, up to
    `depth` layers; the raw `data` itself is not one of them."""
    budget = [MAX_DECODED_TOTAL]

    def walk(d: bytes, level: int, how: str):
        for enc, decoded in _layer(d):
            if len(decoded) < MIN_DECODED or budget[0] <= 0:
                continue
            budget[0] -= len(decoded)
            out = b"\n".join(PRINTABLE_RUN.findall(decoded))
            if len(out) < MIN_DECODED:
                continue
            name = f"{how} then {enc}" if how else enc
            yield name, out
            if level + 1 < depth:
                yield from walk(out, level + 1, name)

    yield from walk(data, 0, label)


def pattern_in(data: bytes) -> str | None:
    """The first of pipelock's default patterns (with its validator) that `data` matches."""
    text = data.decode("latin-1")
    for name, rx, validator in COMPILED_PATTERNS:
        for m in rx.finditer(text):
            if validator is None or validator(m.group(0)):
                return name
    return None


def encoded_secret_refusal(body: bytes, known: list[Known], credentials: list[Credential]) -> Refusal | None:
    """The refusal of a body with a secret in one of its decoded forms: a known value
    (credential_leak / secret_leak, the place says how it was encoded) or one of pipelock's
    default patterns (encoded_secret). The secret itself is never quoted."""
    if not body:
        return None
    for how, data in decoded_forms(body):
        for k in known:
            if any(f in data for f in k.forms):
                return leak_refusal(k, f"body, {how}", credentials)
        name = pattern_in(data)
        if name:
            return encoded_secret(name, how)
    return None
