"""Secrets hidden in a request body's encoded runs (hex, `\\x` hex, base64 in both alphabets, base32, percent-encoding, nested up to 3 layers as pipelock decodes): found by the known-value search and pipelock v2.3.0's default patterns on the printable text of the decoded forms, whatever the content type; pure, no I/O.

Why: pipelock scans an `application/octet-stream` (or any unknown type) body as one text
and decodes it only when the whole text, or a part between `/ ? & = space` delimiters, is
one encoding (internal/scanner/text_dlp.go, decodeAndMatchRecursive and
decodeTextSegments, tag v2.3.0): a hex-encoded key with bytes around it passed. The addon
finds every encoded run wherever it sits and decodes it. The model lane's redaction
(model_lane/redact.py) decodes the runs of each text string with the same code (runs(),
run_forms(), and wrapped_runs() for runs wrapped in lines) and replaces a run whose decoded
text holds a secret.
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
    std, url = b"+" in core or b"/" in core, b"-" in core or b"_" in core
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


# Where each kind of run can be, found fast (a pattern that starts with one character class
# or a literal skips ahead in C; HEX_RUN, B32_RUN and PCT_RUN start with a group and are tried
# at every offset): each run pattern is then matched only inside these spans, which holds every
# match it has in the whole text (its characters are all in the span's class), so the runs
# found are exactly the patterns' own, in the same order.
HEX_SPAN = re.compile(rb"[0-9a-fA-F]{24,}")
ESCAPED_HEX_START = re.compile(rb"\\x[0-9a-fA-F]{2}")
B32_SPAN = re.compile(rb"[A-Za-z2-7]{16,}=*")
PCT_SPAN = re.compile(rb"[A-Za-z0-9._~+/=:%-]{12,}")
PCT_ESCAPE = re.compile(rb"%[0-9A-Fa-f]{2}")


def _within(rx, span_rx, data: bytes):
    for sp in span_rx.finditer(data):
        yield from rx.finditer(data, sp.start(), sp.end())


def _escaped_hex(data: bytes):
    pos = 0
    while True:
        m = ESCAPED_HEX_START.search(data, pos)
        if m is None:
            return
        run = ESCAPED_HEX_RUN.match(data, m.start())
        if run is None:
            pos = m.start() + 1
            continue
        yield run
        pos = run.end()


def runs(data: bytes, min_escapes: int = 4):
    """(start, end, encoding, decoded) of every encoded run in `data`, one layer deep: the
    matches of HEX_RUN, ESCAPED_HEX_RUN, B64_RUN, B32_RUN and PCT_RUN (`min_escapes` or more
    `%XX`; the model lane takes 1), in that order. Runs of different encodings may overlap (a
    hex run is a base64 run too)."""
    for m in _within(HEX_RUN, HEX_SPAN, data):
        yield m.start(), m.end(), "hex", bytes.fromhex(m.group(0).decode())
    for m in _escaped_hex(data):
        yield m.start(), m.end(), "hex", bytes.fromhex(m.group(0).replace(b"\\x", b"").decode())
    for m in B64_RUN.finditer(data):
        for d in _b64(m.group(0)):
            yield m.start(), m.end(), "base64", d
    for m in _within(B32_RUN, B32_SPAN, data):
        for d in _b32(m.group(0)):
            yield m.start(), m.end(), "base32", d
    if len(PCT_ESCAPE.findall(data)) < min_escapes:
        return
    for sp in PCT_SPAN.finditer(data):
        if sp.group(0).count(b"%") < min_escapes:
            continue
        for m in PCT_RUN.finditer(data, sp.start(), sp.end()):
            run = m.group(0)
            if run.count(b"%") >= min_escapes:
                yield m.start(), m.end(), "percent-encoding", urllib.parse.unquote_to_bytes(run)


# Encoded text wrapped in lines, as `base64` and `base32` (76 characters a line), `xxd -p` (60)
# and PEM bodies (64) write it, also as Claude Code's Read shows a file (each line after its
# number and a tab or an arrow, `?` in the model lane's ASCII view): two lines or more, all but
# the last of 40 characters or more. Decoded as one run on the model lane (wrapped_runs; the
# web lane decodes the lines one by one, as runs()).
LINE_NO = rb"(?: *[0-9]+[\t?])?"
WRAPPED_LINE = re.compile(rb"(?m)^" + LINE_NO + rb"([A-Za-z0-9+/_=-]{40,})\r?$")
LAST_LINE = re.compile(LINE_NO + rb"([A-Za-z0-9+/_=-]+)\r?(?:\n|$)")
HEX_TEXT = re.compile(rb"[0-9a-fA-F]+")
B32_TEXT = re.compile(rb"(?:[A-Z2-7]+|[a-z2-7]+)=*")


def wrapped_runs(data: bytes):
    """(start, end, encoding, decoded) of every run of `data` wrapped in lines, decoded
    without its line breaks (and line numbers): as hex, base64 and base32, each it can be."""
    lines = list(WRAPPED_LINE.finditer(data))
    i = 0
    while i < len(lines):
        group = [lines[i]]
        while i + 1 < len(lines) and lines[i + 1].start() == group[-1].end() + 1:
            i += 1
            group.append(lines[i])
        i += 1
        spans = [m.span(1) for m in group]
        variants = [spans] if len(spans) > 1 else []
        last = LAST_LINE.match(data, group[-1].end() + 1) if group[-1].end() < len(data) else None
        if last is not None and (i == len(lines) or lines[i].start() != last.start()):
            variants.append(spans + [last.span(1)])  # the last line, or a word after the run
        for v in variants:
            text = b"".join(data[a:b] for a, b in v)
            start, end = v[0][0], v[-1][1]
            if HEX_TEXT.fullmatch(text):
                yield start, end, "hex", bytes.fromhex(text[: len(text) - len(text) % 2].decode())
            for d in _b64(text):
                yield start, end, "base64", d
            if B32_TEXT.fullmatch(text):
                for d in _b32(text):
                    yield start, end, "base32", d


def printable(decoded: bytes) -> bytes:
    """The printable text of decoded bytes: its PRINTABLE_RUNs, one a line."""
    return b"\n".join(PRINTABLE_RUN.findall(decoded))


class Budget:
    """Bytes left to decode (all layers), shared by every walk over one body or string."""

    __slots__ = ("left",)

    def __init__(self, left: int = MAX_DECODED_TOTAL):
        self.left = left


def _walk(found, level: int, how: str, depth: int, budget: Budget, min_escapes: int = 4):
    """(how, printable text) of each decoded run in `found` (runs() of some data), then of
    the runs inside it, depth-first, down to `depth` layers in all."""
    for _s, _e, enc, decoded in found:
        if len(decoded) < MIN_DECODED or budget.left <= 0:
            continue
        budget.left -= len(decoded)
        out = printable(decoded)
        if len(out) < MIN_DECODED:
            continue
        name = f"{how} then {enc}" if how else enc
        yield name, out
        if level + 1 < depth:
            yield from _walk(runs(out, min_escapes), level + 1, name, depth, budget, min_escapes)


def decoded_forms(data: bytes, depth: int = MAX_DEPTH, label: str = ""):
    """(how it was decoded, e.g. `base64 then hex`, decoded bytes), depth-first, up to
    `depth` layers; the raw `data` itself is not one of them."""
    yield from _walk(runs(data), 0, label, depth, Budget())


def run_forms(found, budget: Budget, depth: int = MAX_DEPTH, min_escapes: int = 1):
    """(start, end, [(how, printable text), ...]) of each run in `found` (runs() or
    wrapped_runs() of some text, in that order) whose decoded forms, its own and those
    nested in it down to `depth` layers, are long enough to search; the model lane replaces
    such a run whole when a form holds a secret."""
    for run in found:
        forms = list(_walk((run,), 0, "", depth, budget, min_escapes))
        if forms:
            yield run[0], run[1], forms


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
