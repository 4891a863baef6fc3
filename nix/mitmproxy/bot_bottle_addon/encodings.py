"""Encodings: a request body's Content-Encoding decoded (gzip/deflate, bombs refused), the percent/form decodings of a text, and the encoded forms a known value may hide in; pure, no I/O.
"""

import base64
import re
import urllib.parse
import zlib

from .refusal import Refusal, bad_encoding, decoded_too_large, unsupported_encoding

MIN_SCAN_LEN = 8  # known values shorter than this are not searched for (false positives)
URL_DECODE_DEPTH = 3  # URL, header values and names: small, decoded up to 3 times
BODY_DECODE_DEPTH = 2  # bodies (up to max_body_bytes): once or twice


class BadEncoding(Exception):
    """A request body the addon cannot decode; args[0] is its Refusal."""

    @property
    def refusal(self) -> Refusal:
        return self.args[0]


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
        raise BadEncoding(unsupported_encoding(encoding))
    out = b""
    for attempt in (wbits, -zlib.MAX_WBITS):  # ... or raw deflate, as some clients send it
        d = zlib.decompressobj(attempt)
        try:
            out = d.decompress(body, limit + 1)
            if len(out) > limit:
                raise BadEncoding(decoded_too_large(limit))
            if not d.eof or d.unused_data:
                raise zlib.error("truncated or trailing data")
            return out
        except zlib.error:
            if coding != "deflate" or attempt != wbits:
                break
    raise BadEncoding(bad_encoding(coding))


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
    """Every form `value` is searched for, longest first: raw, hex (lower, upper),
    percent-encoded (upper and lower hex, `+` for spaces or not), base64 (both alphabets, all
    three alignments), base32."""
    raw = value.encode()
    forms = {raw, raw.hex().encode(), raw.hex().upper().encode()}
    for q in (urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)):
        forms.add(q.encode())
        forms.add(re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), q).encode())
    forms |= _b64_cores(raw, False) | _b64_cores(raw, True)
    forms.add(base64.b32encode(raw).rstrip(b"="))
    return sorted((f for f in forms if f), key=len, reverse=True)
