"""The way out of an allowlist block: pipelock's `blocked: domain not in allowlist: <host>` answer gains a second line naming the host and the command the person running the bottle can use to allow it live (`bottle allow-host <id> <host>`), short enough for a model to relay; pure, no I/O.
"""

BLOCK_PREFIX = "blocked: domain not in allowlist: "
# pipelock also refuses a redirect to a host off the allowlist (proxy.go CheckRedirect)
REDIRECT_PREFIX = "blocked: redirect blocked: domain not in allowlist: "


def blocked_host(text: str) -> str | None:
    """The host of a pipelock v2.3.0 allowlist block (internal/scanner/scanner.go
    checkAllowlist: `domain not in allowlist: <host>`), else None."""
    first = text.split("\n", 1)[0].strip()
    for prefix in (BLOCK_PREFIX, REDIRECT_PREFIX):
        if first.startswith(prefix):
            host = first[len(prefix):].strip()
            if host and " " not in host:
                return host
    return None


def hint_text(text: str, bottle_id: str | None) -> str | None:
    """pipelock's answer with the hint line, or None when it is not an allowlist block or the
    bottle's id is unknown (then the answer passes unchanged)."""
    host = blocked_host(text)
    if host is None or not bottle_id:
        return None
    first = text.split("\n", 1)[0].rstrip()
    return (f"{first}\nbot-bottle: {host} is not on this bottle's allowlist; the person running the "
            f"bottle can allow it with: bottle allow-host {bottle_id} {host}\n")
