"""The addon config (schema v1, docs/addon.md): Config/Credential/Known, parse_config (every error names the field), and the mitmdump options that select it; pure, the one I/O is load_config_option reading the config file the option names.

Real values come only from the environment handed in (`environ`); they are never part of an
error message or a repr.
"""

import json
import re
from dataclasses import dataclass, field

from .encodings import MIN_SCAN_LEN, encoded_forms
from .git_push import PushPolicy, PushPolicyError, parse_policy
from .host_labels import HostLabels
from .hosts import HOST_PATTERN, host_matches, norm_host, parse_hostport
from .model_lane.config import ModelLane, ModelLaneError, parse_allowlist, parse_model_lane
from .rules import Rule, RulesError, parse_rules

CONFIG_VERSION = 1
LEGACY_MAX_BODY = 16 * 1024 * 1024
BUDGET_FACTOR = 4  # default memory budget for buffered request bodies = 4 x max_body_bytes
HEADER_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class ConfigError(ValueError):
    """An invalid config; `where` is the field (e.g. `credentials[0].env`), first in the text."""

    def __init__(self, where: str, msg: str):
        super().__init__(f"{where}: {msg}")
        self.where = where


class OptionError(ValueError):
    """The mitmdump options do not select a usable config; the text is the whole message."""


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
    rules: list[Rule] = field(default_factory=list)  # per-host method/path rules (rules.py)
    git_push: PushPolicy | None = None  # which refs a git push may update (git_push.py)
    allowlist: tuple[str, ...] = ()  # the bottle's whole egress allowlist at launch (the model lane's egress checks)
    model_lane: ModelLane | None = None  # None: no model lane, every request takes the web lane
    bottle_id: str | None = None  # named in the allowlist block's hint (allowlist_hint.py)
    # names under the allowlist's wildcard entries that carry data, and the new-name cap
    host_labels: HostLabels = field(default_factory=lambda: HostLabels([], frozenset()))
    # hosts approved live (`bottle allow-host`, the live policy file: live_policy.py)
    approved: tuple[str, ...] = ()

    @property
    def live_allowlist(self) -> tuple[str, ...]:
        """The allowlist pipelock has now: the launch's, then the live approvals."""
        return self.allowlist + tuple(h for h in self.approved if h not in self.allowlist)

    @property
    def pipelock_text(self) -> str:
        return f"{self.pipelock[0]}:{self.pipelock[1]}" if self.pipelock else "(not configured)"

    def too_short_to_search(self) -> list[tuple[str, str]]:
        """(kind, name) of the values shorter than MIN_SCAN_LEN: not searched for in requests."""
        values = ([("credential", x.name, x.value) for x in self.credentials]
                  + [("guarded", n, v) for n, v in self.guarded])
        return [(kind, name) for kind, name, value in values if len(value) < MIN_SCAN_LEN]


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
                  "credentials", "guarded", "unscanned_headers", "rules", "git_push", "allowlist", "model_lane",
                  "bottle_id"}
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

    rules, git_push = parse_policy_keys(data)
    try:
        allowlist = parse_allowlist(data)
        model_lane = parse_model_lane(data.get("model_lane"))
    except ModelLaneError as e:
        raise ConfigError(e.where, e.msg) from None
    if model_lane is not None:
        sc.add(norm_host(model_lane.pipelock[0]))
    bottle_id = data.get("bottle_id")
    _expect(bottle_id is None or (isinstance(bottle_id, str) and re.fullmatch(r"[0-9a-f]{8,64}", bottle_id)
                                  is not None), "bottle_id", f"must be the bottle's id (hex digits), got {bottle_id!r}")

    known = []
    for c in creds:
        if len(c.value) >= MIN_SCAN_LEN:
            known.append(Known("credential", c.name, encoded_forms(c.value)))
    for name, value in guarded:
        if len(value) >= MIN_SCAN_LEN:
            known.append(Known("guarded", name, encoded_forms(value)))
    return Config(pipelock, max_body, budget, frozenset(sc), creds, guarded, unscanned, known, source,
                  rules=rules, git_push=git_push, allowlist=allowlist, model_lane=model_lane,
                  bottle_id=bottle_id, host_labels=HostLabels.from_allowlist(allowlist))


def parse_policy_keys(data: dict) -> tuple[list[Rule], PushPolicy | None]:
    """The `rules` (per-host methods and paths) and `git_push` (refs a push may update) keys."""
    try:
        rules = parse_rules(data.get("rules", []))
    except RulesError as e:
        raise ConfigError("rules" + e.where, e.msg) from None
    git_push = None
    if data.get("git_push") is not None:
        try:
            git_push = parse_policy(data["git_push"])
        except PushPolicyError as e:
            raise ConfigError("git_push" + (f".{e.where}" if e.where else ""), e.msg) from None
    return rules, git_push


def load_config_option(value: str, environ) -> Config:
    """The config `--set bottle_config=VALUE` names: a file's path (read here), or
    `env:NAME` for the same JSON in environment variable NAME."""
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


def config_from_options(path: str, legacy_pipelock: str, legacy_max: int, environ) -> Config | None:
    """The config the options select: `bottle_config` (the product), or the legacy/test pair
    `bottle_pipelock` + `bottle_max_body`, or None (every request is then refused).
    Raises OptionError with the message mitmdump stops with."""
    if path:
        if legacy_pipelock:
            raise OptionError("bottle_verdict: set bottle_config or bottle_pipelock, not both")
        try:
            return load_config_option(path, environ)
        except ConfigError as e:
            src = "" if e.where == "bottle_config" else f" ({path})"
            raise OptionError(f"bottle_config{src}: {e}") from None
    if legacy_pipelock:
        if legacy_max <= 0:
            raise OptionError("bottle_max_body must be positive")
        try:
            pl = parse_hostport(legacy_pipelock)
        except ValueError as e:
            raise OptionError(f"bottle_pipelock: {e}") from None
        return Config(pl, legacy_max, BUDGET_FACTOR * legacy_max, frozenset({norm_host(pl[0])}),
                      source="bottle_pipelock")
    return None
