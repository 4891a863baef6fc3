"""Known values (credentials' real values, guarded secrets): where a request is searched for them (URL, header names and values, a Basic header decoded, the body; each percent-decoded), the refusal a hit gets, and their redaction from logged text; pure, no I/O.
"""

import base64
import binascii
import re

from .config import Credential, Known
from .encodings import BODY_DECODE_DEPTH, URL_DECODE_DEPTH, percent_decodings
from .refusal import Refusal, credential_leak, secret_leak

HEADER_NAME_RE = re.compile(rb"[A-Za-z0-9-]{1,40}")  # a header name quoted in a refusal (no %-forms)


def known_places(url: bytes, header_fields, body: bytes):
    """(label, bytes) for everything a known value is searched in, lazily: the URL, every
    header name and value (`header_fields`: (name, value) byte pairs as received), a Basic
    header's user:password, the body; each raw and percent-/form-decoded
    (percent_decodings). Labels end up in the refusal and the log: they quote a header's
    name only when it is plain letters, digits and `-`."""
    yield "URL", url
    for d in percent_decodings(url, URL_DECODE_DEPTH):
        yield "URL", d
    for name, value in header_fields:
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


def find_known(known: list[Known], places) -> tuple[Known, str] | None:
    """The first known value found in `places` (known_places), with the place's label."""
    if not known:
        return None
    for where, data in places:
        for k in known:
            for f in k.forms:
                if f in data:
                    return k, where
    return None


def leak_refusal(known: Known, where: str, credentials: list[Credential]) -> Refusal:
    """The refusal of a request that carries a known value."""
    if known.kind == "credential":
        c = next(x for x in credentials if x.name == known.name)
        return credential_leak(known.name, where, c.header, c.hosts)
    return secret_leak(known.name, where)


def redact(text: str | None, known: list[Known]) -> str | None:
    """Known values never reach the log, even when the agent put one in a path, a host or
    a header a refusal quotes, percent-encoded included: then the text is logged decoded,
    with `<NAME>` for the value."""
    if not known or not text:
        return text
    text = _replace_known(text, known)
    for _ in range(8):  # each round removes at least one value
        hit = None
        for d in percent_decodings(text, URL_DECODE_DEPTH):
            r = _replace_known(d, known)
            if r != d:
                hit = r
                break
        if hit is None:
            break
        text = hit
    return text


def _replace_known(text: str, known: list[Known]) -> str:
    for k in known:
        for f in k.forms:
            s = f.decode("utf-8")  # every form is UTF-8 (the raw value) or ASCII
            if s in text:
                text = text.replace(s, f"<{k.name}>")
    return text
