"""The model lane's part of the addon config (`allowlist`, `model_lane`; docs/addon.md): ModelLane, Provider, Login and their parser (every error names the field); pure, no I/O.
"""

import re
from dataclasses import dataclass

from ..hosts import HOST_PATTERN, host_matches, norm_host, parse_hostport

HEADER_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
DEFAULT_CACHE_BYTES = 32 * 1024 * 1024


class ModelLaneError(ValueError):
    """An invalid `allowlist` or `model_lane` entry; `where` is the whole field path."""

    def __init__(self, where: str, msg: str):
        super().__init__(f"{where}: {msg}")
        self.where = where
        self.msg = msg


@dataclass(frozen=True)
class Login:
    host: str  # normalised host name
    path: str  # absolute path, compared without the query


@dataclass(frozen=True)
class Provider:
    name: str
    hosts: tuple[str, ...]  # normalised host patterns
    identity_headers: tuple[str, ...]  # lower case
    login: tuple[Login, ...]

    def serves(self, host: str) -> bool:
        return any(host_matches(p, host) for p in self.hosts)


@dataclass(frozen=True)
class ModelLane:
    pipelock: tuple[str, int]
    providers: tuple[Provider, ...]
    web_search: bool = False
    server_hosts: tuple[str, ...] = ()
    cache_bytes: int = DEFAULT_CACHE_BYTES

    @property
    def pipelock_text(self) -> str:
        return f"{self.pipelock[0]}:{self.pipelock[1]}"

    def provider_for(self, host: str) -> Provider | None:
        return next((p for p in self.providers if p.serves(host)), None)

    def login_for(self, host: str, path: str) -> Provider | None:
        """The provider whose login (OAuth token) endpoint this request is, if any."""
        h = norm_host(host)
        p = path.split("?", 1)[0].split("#", 1)[0]
        for prov in self.providers:
            if any(lg.host == h and lg.path == p for lg in prov.login):
                return prov
        return None


def _expect(cond: bool, where: str, msg: str):
    if not cond:
        raise ModelLaneError(where, msg)


def _host_list(value, where: str, wildcard: bool = True) -> tuple[str, ...]:
    _expect(isinstance(value, list), where, "must be a list of host names")
    out = []
    for i, h in enumerate(value):
        ok = (isinstance(h, str) and HOST_PATTERN.fullmatch(norm_host(h)) is not None and h.strip() != "*"
              and (wildcard or not h.strip().startswith("*")))
        _expect(ok, f"{where}[{i}]", f"must be a host name{' or *.domain' if wildcard else ''}, got {h!r}")
        out.append(norm_host(h))
    return tuple(out)


def parse_allowlist(data: dict) -> tuple[str, ...]:
    """The bottle's whole egress allowlist (`allowlist`, optional, default empty)."""
    return _host_list(data.get("allowlist", []), "allowlist")


def _keys(obj, where: str, allowed: set[str]):
    _expect(isinstance(obj, dict), where, "must be an object")
    extra = sorted(set(obj) - allowed)
    _expect(not extra, f"{where}.{extra[0] if extra else ''}", "unknown key")


def _provider(p, w: str) -> Provider:
    _keys(p, w, {"name", "hosts", "identity_headers", "login"})
    name = p.get("name")
    _expect(isinstance(name, str) and re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name or "") is not None,
            f"{w}.name", f"must be a lower-case name, got {name!r}")
    _expect("hosts" in p, f"{w}.hosts", "is required")
    hosts = _host_list(p["hosts"], f"{w}.hosts")
    _expect(len(hosts) > 0, f"{w}.hosts", "must not be empty")
    ih = p.get("identity_headers", [])
    _expect(isinstance(ih, list), f"{w}.identity_headers", "must be a list of header names")
    for i, h in enumerate(ih):
        _expect(isinstance(h, str) and HEADER_TOKEN.fullmatch(h or "") is not None,
                f"{w}.identity_headers[{i}]", f"must be an HTTP header name, got {h!r}")
    logins = p.get("login", [])
    _expect(isinstance(logins, list), f"{w}.login", "must be a list")
    out = []
    for i, lg in enumerate(logins):
        lw = f"{w}.login[{i}]"
        _keys(lg, lw, {"host", "path"})
        host = lg.get("host")
        _expect(isinstance(host, str) and HOST_PATTERN.fullmatch(norm_host(host)) is not None
                and not host.strip().startswith("*"), f"{lw}.host", f"must be a host name, got {host!r}")
        path = lg.get("path")
        _expect(isinstance(path, str) and path.startswith("/") and "?" not in path and " " not in path,
                f"{lw}.path", f"must be an absolute path without a query, got {path!r}")
        out.append(Login(norm_host(host), path))
    return Provider(name, hosts, tuple(h.lower() for h in ih), tuple(out))


def parse_model_lane(value) -> ModelLane | None:
    """The `model_lane` key: None when absent or null (no model lane: every request takes the
    web lane, as before the model lane existed)."""
    if value is None:
        return None
    w = "model_lane"
    _keys(value, w, {"pipelock", "providers", "web_search", "server_hosts", "cache_bytes"})
    pl = value.get("pipelock")
    _expect(isinstance(pl, str) and pl.strip() != "", f"{w}.pipelock", "is required (HOST:PORT)")
    try:
        pipelock = parse_hostport(pl)
    except ValueError as e:
        raise ModelLaneError(f"{w}.pipelock", str(e)) from None
    provs = value.get("providers")
    _expect(isinstance(provs, list) and provs, f"{w}.providers", "must be a non-empty list")
    providers = tuple(_provider(p, f"{w}.providers[{i}]") for i, p in enumerate(provs))
    names = [p.name for p in providers]
    _expect(len(set(names)) == len(names), f"{w}.providers", "provider names must be unique")
    ws = value.get("web_search", False)
    _expect(isinstance(ws, bool), f"{w}.web_search", f"must be true or false, got {ws!r}")
    server_hosts = _host_list(value.get("server_hosts", []), f"{w}.server_hosts")
    cb = value.get("cache_bytes", DEFAULT_CACHE_BYTES)
    _expect(isinstance(cb, int) and not isinstance(cb, bool) and cb >= 0, f"{w}.cache_bytes",
            f"must be a non-negative integer, got {cb!r}")
    return ModelLane(pipelock, providers, ws, server_hosts, cb)
