"""Credential injection plan: which declared header of a request gets which credential's real value, over a plain list of header pairs; pure, no I/O.
"""

import base64
import binascii

from .config import Credential


def injection_plan(scheme: str, host: str, headers: list[tuple[str, str]],
                   credentials: list[Credential]) -> dict[str, tuple[Credential, str]]:
    """header (lower case) -> (credential, new value), for credentials bound to this
    https request's host whose declared header carries exactly the placeholder form:
    `<p>` (no scheme), `Bearer <p>` or `token <p>` (the word kept as sent: GitHub's gh sends
    `token`), `Basic base64(user:<p>)` (re-encoded with the same user). A header that
    appears more than once is left alone. `headers` are (name, value) pairs as received."""
    plan: dict[str, tuple[Credential, str]] = {}
    if scheme != "https":
        return plan
    for c in credentials:
        if c.header in plan or not c.bound_to(host):
            continue
        # ASCII case-insensitive, as mitmproxy's Headers.get_all (a non-ASCII name never matches)
        values = [v for n, v in headers if n.isascii() and n.lower() == c.header]
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
