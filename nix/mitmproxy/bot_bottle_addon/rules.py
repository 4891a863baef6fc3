"""Per-host method and path rules (the bottle's egress.rules): the request path as servers may read it (percent-decoded, dot and empty segments resolved, encoded slashes both ways), glob matching, and the refusal that names the rules; pure, no I/O.

A host some rule names is open only to what its rules allow; a host no rule names keeps the
allowlist's behaviour (every method and path). Rules only ever allow, so the path is judged
in every form a server might route it by, and a request passes only if each form is
allowed ("views", below): an encoded or dotted spelling of a path cannot reach what the
plain spelling could not. What is judged is never what is sent: the request goes on as the
agent wrote it.

Views of a path (the query is not part of it):
- percent-decoding repeated until nothing changes (`%252e` -> `%2e` -> `.`), at most
  MAX_DECODE_ROUNDS times (more -> the path cannot be judged); control characters after
  decoding -> cannot be judged;
- `loose`: encoded slashes (`%2F`) and backslashes (raw or `%5C`) are separators, as
  servers that decode before routing (or treat `\\` as `/`) read them;
- `strict`: they are characters inside a segment, as servers that route on the raw path
  read them;
- in both: empty segments dropped (`//`), `.` dropped, `..` removes the segment before it
  (never above the root), a segment that is `.` or `..` before a `;` (Tomcat's path
  parameters, `..;x`) counts as that dot segment, a trailing `/` dropped.

Patterns (validated by the Rust side, again here): absolute, in that normal form; `*`
matches any run of characters inside one segment, a `**` segment any number of segments
(`/repos/acme/**` = `/repos/acme` and everything under it). `ignore_case` folds ASCII case
of both (for hosts whose paths are case-insensitive: otherwise `/Repos` is a path no rule
allows). Methods: upper case, `*` = any; GET allows HEAD. A method override header
(X-HTTP-Method-Override and its kin) is judged as a method too.
"""

import re
from dataclasses import dataclass, field

from .hosts import HOST_PATTERN, host_matches, norm_host
from .refusal import Refusal

CODE = "egress_rule"
MAX_DECODE_ROUNDS = 4
METHOD_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
OVERRIDE_HEADERS = ("x-http-method-override", "x-http-method", "x-method-override")
ENCODED_SEP = b"\x00"  # stands for an encoded slash/backslash in the strict view (a decoded NUL is refused)
PCT = re.compile(rb"%([0-9A-Fa-f]{2})")
CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


class RulesError(ValueError):
    """An invalid rules config entry; `where` is the field under `rules`."""

    def __init__(self, where: str, msg: str):
        super().__init__(f"{where}: {msg}")
        self.where = where
        self.msg = msg


@dataclass(frozen=True)
class Rule:
    host: str  # normalised host pattern (`*.d` also matches d)
    methods: tuple[str, ...]  # upper case; "*" = any
    paths: tuple[str, ...]  # glob patterns as written
    ignore_case: bool
    rule: str  # where the rule is written, for messages (bottles.NAME.egress.rules[i])
    matchers: tuple = field(default=(), compare=False, repr=False)

    def allows_method(self, method: str) -> bool:
        return "*" in self.methods or method in self.methods or (method == "HEAD" and "GET" in self.methods)

    def allows_path(self, view: bytes) -> bool:
        return any(m.fullmatch(view) for m in self.matchers)

    def describe(self) -> str:
        return f"{', '.join(self.methods)} {' '.join(self.paths)}{' (any case)' if self.ignore_case else ''}"


def path_pattern_error(p: str) -> str | None:
    """Why `p` is not a path pattern in normal form, or None."""
    if not p.startswith("/"):
        return "must be an absolute path starting with /"
    if any(c in p for c in "?#%\\") or CONTROL.search(p.encode()):
        return "must be a plain path: no query, fragment, percent-encoding, backslash or control character"
    if p != "/" and p.endswith("/"):
        return "must not end with / (a trailing / is ignored when judging; use /** for everything under a path)"
    segments = p.split("/")[1:]
    if p != "/" and "" in segments:
        return "must not contain // (empty segments are dropped when judging)"
    for s in segments:
        if s.split(";", 1)[0] in (".", ".."):
            return "must not contain . or .. segments (they are resolved when judging)"
        if "**" in s and s != "**":
            return "** must be a whole segment (/a/**/b); * matches inside one segment"
    return None


def path_matcher(pattern: str, ignore_case: bool):
    out = []
    segments = pattern.split("/")[1:] if pattern != "/" else []
    for s in segments:
        if s == "**":
            out.append(b"(?:/.*)?")
        else:
            out.append(b"/" + b"[^/]*".join(re.escape(part.encode()) for part in s.split("*")))
    rx = b"".join(out) or b"/"  # "/" is the root only; "/**" (= "(?:/.*)?") the root and all
    return re.compile(rx, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def parse_rules(data) -> list[Rule]:
    """The addon config's `rules` list: [{"rule", "host", "methods", "paths", "ignore_case"}]."""
    if not isinstance(data, list):
        raise RulesError("", "must be a list of rules")
    rules = []
    for i, r in enumerate(data):
        w = f"[{i}]"
        if not isinstance(r, dict):
            raise RulesError(w, "must be an object")
        extra = sorted(set(r) - {"rule", "host", "methods", "paths", "ignore_case"})
        if extra:
            raise RulesError(f"{w}.{extra[0]}", "unknown key")
        label = r.get("rule", f"rules{w}")
        if not isinstance(label, str) or not label:
            raise RulesError(f"{w}.rule", "must be a non-empty string")
        host = r.get("host")
        if not (isinstance(host, str) and HOST_PATTERN.fullmatch(norm_host(host)) and host.strip() != "*"):
            raise RulesError(f"{w}.host", f"must be a host name or *.domain, got {host!r}")
        methods = r.get("methods")
        if not isinstance(methods, list) or not methods:
            raise RulesError(f"{w}.methods", "must be a non-empty list of HTTP methods")
        for j, m in enumerate(methods):
            if not isinstance(m, str) or not METHOD_TOKEN.fullmatch(m) or (m != "*" and "*" in m):
                raise RulesError(f"{w}.methods[{j}]", f"must be an HTTP method or *, got {m!r}")
        paths = r.get("paths")
        if not isinstance(paths, list) or not paths:
            raise RulesError(f"{w}.paths", "must be a non-empty list of path patterns")
        for j, p in enumerate(paths):
            why = path_pattern_error(p) if isinstance(p, str) else "must be a string"
            if why:
                raise RulesError(f"{w}.paths[{j}]", f"{why}, got {p!r}")
        ignore_case = r.get("ignore_case", False)
        if not isinstance(ignore_case, bool):
            raise RulesError(f"{w}.ignore_case", "must be true or false")
        rules.append(Rule(norm_host(host), tuple(m.upper() for m in methods), tuple(paths), ignore_case, label,
                          tuple(path_matcher(p, ignore_case) for p in paths)))
    return rules


# -- the path as servers may read it ------------------------------------------------------------
def _decode(raw: bytes, keep_separators: bool) -> bytes | None:
    """Percent-decoding until nothing changes; encoded / and \\ become ENCODED_SEP when
    `keep_separators` (they stay inside their segment). None: still encoded after
    MAX_DECODE_ROUNDS rounds, or a control character, raw or decoded."""
    if CONTROL.search(raw):
        return None
    s = raw
    for _ in range(MAX_DECODE_ROUNDS):
        if not PCT.search(s):
            return s
        s = PCT.sub(lambda m: _byte(m, keep_separators), s)
        if CONTROL.search(s.replace(ENCODED_SEP, b"")):
            return None
    return None if PCT.search(s) else s


def _byte(m, keep_separators: bool) -> bytes:
    b = bytes([int(m.group(1), 16)])
    if b == b"\x00":
        return b"\x01"  # a decoded NUL stays a control character (ENCODED_SEP is taken)
    if keep_separators and b in (b"/", b"\\"):
        return ENCODED_SEP
    return b


def _resolve(path: bytes) -> bytes:
    out: list[bytes] = []
    for seg in path.split(b"/"):
        head = seg.split(b";", 1)[0]
        if seg == b"" or head == b".":
            continue
        if head == b"..":
            if out:
                out.pop()
            continue
        out.append(seg)
    return b"/" + b"/".join(out)


def path_views(raw_path: bytes) -> list[bytes] | None:
    """The path (query dropped) in each form a server may route it by: [loose, strict], or
    one when both agree. None: the path cannot be judged (not absolute, decodes to a
    control character, or is encoded more than MAX_DECODE_ROUNDS times)."""
    path = raw_path.split(b"?", 1)[0].split(b"#", 1)[0]
    if not path.startswith(b"/"):
        return None
    loose = _decode(path, keep_separators=False)
    strict = _decode(path, keep_separators=True)
    if loose is None or strict is None:
        return None
    views = [_resolve(loose.replace(b"\\", b"/")), _resolve(strict)]
    return views[:1] if views[0] == views[1] else views


# -- the verdict --------------------------------------------------------------------------------
def rules_for(rules: list[Rule], host: str) -> list[Rule]:
    h = norm_host(host)
    return [r for r in rules if host_matches(r.host, h)]


def methods_of(method: str, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(method, how it is named) of the request's method and of every method override
    header (some servers act on those instead), upper case."""
    out = [(method.upper(), method.upper())]
    for name, value in headers:
        if name.lower() in OVERRIDE_HEADERS:
            m = value.strip().upper()
            out.append((m, f"{m} (from the {name.lower()} header)"))
    return out


def rules_refusal(rules: list[Rule], method: str, host: str, raw_path: bytes,
                  headers: list[tuple[str, str]]) -> Refusal | None:
    """The refusal of a request the host's rules do not allow, or None (allowed, or a host no
    rule names)."""
    mine = rules_for(rules, host)
    if not mine:
        return None
    h = norm_host(host)
    allowed = "; ".join(f"{r.describe()} ({r.rule})" for r in mine)
    todo = f"{h} allows only: {allowed}"
    views = path_views(raw_path)
    if views is None:
        return rule_refusal(f"{method.upper()} to {h}: the path cannot be judged (it is not absolute, "
                            f"decodes to a control character, or is percent-encoded more than "
                            f"{MAX_DECODE_ROUNDS} times)", todo)
    for m, named in methods_of(method, headers):
        by_method = [r for r in mine if r.allows_method(m)]
        if not by_method:
            return rule_refusal(f"{named} is not allowed on {h} by the bottle's egress rules", todo)
        for v in views:
            if not any(r.allows_path(v) for r in by_method):
                return rule_refusal(f"{named} to this path is not allowed on {h} by the bottle's egress rules "
                                    "(the path is judged percent-decoded, with dot segments resolved)", todo)
    return None


def rule_refusal(what: str, todo: str) -> Refusal:
    return Refusal(403, CODE, what, todo)
