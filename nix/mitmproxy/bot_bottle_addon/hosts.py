"""Host names and addresses: normalising, pipelock's allowlist matching, IP literals in any notation, HOST:PORT, and the targets the agent may never reach; pure, no I/O (never resolves a name).

The addon never resolves a name the agent chose (a lookup would leave the bottle as DNS), so
"a name for a sidecar" is judged from the name alone: sidecar names (also `NAME.network`),
single labels (Docker's container names and IDs), localhost, and every IP literal.
"""

import ipaddress
import re
import socket

from .refusal import Refusal, host_mismatch, internal_target, ip_literal

HOST_PATTERN = re.compile(r"^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")


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
    # (inet_aton parses text; it does no lookup).
    if h and re.fullmatch(r"[0-9a-fA-FxX.]+", h) and h[0].isdigit():
        try:
            socket.inet_aton(h)
            return True
        except OSError:
            pass
    return False


def target_refusal(host: str, port: int | None, sidecars: frozenset[str], own_hostname: str) -> Refusal | None:
    """CONNECT targets and request hosts that must never be used: they could reach a
    sidecar (pipelock's raw listener, mitmproxy itself) or Docker's internal names.
    `own_hostname` is mitmproxy's own (normalised) host name."""
    h = norm_host(host)
    where = f"{h}:{port}" if port else h
    if is_ip_literal(h):
        return ip_literal(where)
    first = h.split(".", 1)[0]
    if (h in sidecars or first in sidecars or "." not in h or h == "localhost"
            or h.endswith(".localhost") or h == own_hostname):
        return internal_target(where)
    return None


def host_header_refusal(host_header: str, header_host: str, header_port: int | None,
                        host: str, port: int | None) -> Refusal | None:
    """The URL pipelock judges is the connection's target (CONNECT authority or absolute
    URL). A Host header naming another host (`header_host`/`header_port`, parsed from it)
    would let a client talk to one host while pipelock judged another (domain fronting)."""
    if norm_host(header_host) != norm_host(host) or (header_port is not None and header_port != port):
        return host_mismatch(host_header, host, port)
    return None
