"""git push policy (the bottle's git.push): smart-HTTP receive-pack requests recognised, their ref-update commands read from the start of the body (pkt-line), judged against the allowed ref patterns, and the answer git prints to its user; pure, no I/O.

A push over smart HTTP is `POST .../git-receive-pack` whose body is (gitprotocol-pack(5),
"Reference Update Request and Packfile Transfer"):

    *PKT-LINE("shallow" SP obj-id)
    PKT-LINE(old-id SP new-id SP refname NUL capability-list)   first command
    *PKT-LINE(old-id SP new-id SP refname)                      more commands
    flush-pkt
    [*PKT-LINE(push-option) flush-pkt]                          with the push-options capability
    [packfile]                                                  "PACK..." (none for deletes only)

Everything the server would act on is in the commands, ahead of the pack, so the addon reads
them before anything is sent and refuses the whole push if one ref is not allowed (a push is
judged whole: half a push is a state nobody asked for). Signed pushes (`push-cert`) and
anything that does not parse are refused: what cannot be read cannot be judged.

A refused push is answered the way git-receive-pack answers one it rejects (HTTP 200,
`application/x-git-receive-pack-result`): the report-status pkt-lines `unpack ok` and
`ng <refname> <reason>` for every command (git prints ` ! [remote rejected] <ref> (<reason>)`),
inside side-band 1 when the client asked for side-band(-64k), with the full reason also on
side-band 2 (git prints it as `remote: ...` lines). A client that asked for no report-status
gets the addon's plain 403 text instead.
"""

import re
from dataclasses import dataclass, field

from .refusal import Refusal

CODE = "git_push"
ZERO_IDS = (b"0" * 40, b"0" * 64)
OBJECT_ID = re.compile(rb"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
RECEIVE_PACK_TYPE = "application/x-git-receive-pack-request"
RESULT_TYPE = "application/x-git-receive-pack-result"
MAX_COMMANDS = 10000  # a push naming more refs than this is not an agent's
# git's check_refname_format: no control characters, space, ~ ^ : ? * [ \ , no "..", no "@{".
BAD_REF_CHARS = re.compile(rb"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")
BAD_REF_CHARS_WILDCARD = re.compile(rb"[\x00-\x20\x7f~^:?\[\\]|\.\.|@\{|//")


class PushPolicyError(ValueError):
    """An invalid git_push config entry; `where` is the field under git_push."""

    def __init__(self, where: str, msg: str):
        super().__init__(f"{where}: {msg}" if where else msg)
        self.where = where
        self.msg = msg


class PktError(ValueError):
    """The request body is not a receive-pack request this module can read."""


@dataclass(frozen=True)
class PushPolicy:
    refs: tuple[str, ...]  # patterns: `*` matches any run of characters, `/` included
    delete: bool  # whether a matching ref may be deleted
    rule: str  # where the policy is written, for messages (bottles.NAME.git.push)
    matchers: tuple = field(default=(), compare=False, repr=False)

    def matches(self, ref: bytes) -> bool:
        return any(m.fullmatch(ref) for m in self.matchers)

    def describe(self) -> str:
        refs = ", ".join(self.refs) if self.refs else "none"
        return f"refs {refs}; deleting refs {'allowed' if self.delete else 'not allowed'}"


@dataclass(frozen=True)
class Command:
    old: bytes
    new: bytes
    ref: bytes

    @property
    def is_delete(self) -> bool:
        return self.new in ZERO_IDS

    @property
    def ref_text(self) -> str:
        return self.ref.decode("utf-8", "replace")


@dataclass(frozen=True)
class PushRequest:
    commands: tuple[Command, ...]
    capabilities: frozenset[str]
    push_options: tuple[bytes, ...]


def bad_ref_name(ref: bytes, wildcard: bool = False) -> bool:
    """Whether `ref` is not a full ref name git accepts (git check-ref-format, roughly:
    under refs/, no control character, space, ~ ^ : ? [ \\ or `*` (unless `wildcard`), no
    `..`, `@{`, `//`, no component starting with `.`, not ending with `/`, `.` or `.lock`)."""
    bad = BAD_REF_CHARS_WILDCARD if wildcard else BAD_REF_CHARS
    return (not ref.startswith(b"refs/") or len(ref) <= len(b"refs/") or bad.search(ref) is not None
            or b"/." in ref or ref.endswith((b"/", b".", b".lock")))


def bad_ref_pattern(pattern: bytes) -> bool:
    return bad_ref_name(pattern, wildcard=True)


def ref_matcher(pattern: str):
    return re.compile(b".*".join(re.escape(p.encode()) for p in pattern.split("*")), re.DOTALL)


def parse_policy(data, rule_default: str = "git.push") -> PushPolicy:
    """The addon config's `git_push` object: {"rule", "refs", "delete"}."""
    if not isinstance(data, dict):
        raise PushPolicyError("", "must be an object")
    extra = sorted(set(data) - {"rule", "refs", "delete"})
    if extra:
        raise PushPolicyError(extra[0], "unknown key")
    rule = data.get("rule", rule_default)
    if not isinstance(rule, str) or not rule:
        raise PushPolicyError("rule", "must be a non-empty string")
    refs = data.get("refs")
    if not isinstance(refs, list):
        raise PushPolicyError("refs", "must be a list of ref patterns")
    for i, r in enumerate(refs):
        if not isinstance(r, str) or bad_ref_pattern(r.encode()):
            raise PushPolicyError(f"refs[{i}]", f"must be a ref pattern under refs/ like refs/heads/agent/*, "
                                  f"got {r!r}")
    delete = data.get("delete", False)
    if not isinstance(delete, bool):
        raise PushPolicyError("delete", "must be true or false")
    return PushPolicy(tuple(refs), delete, rule, tuple(ref_matcher(r) for r in refs))


# -- recognising a push ----------------------------------------------------------------------
def is_receive_pack(method: str, path_views: list[bytes] | None, content_type: str) -> bool:
    """A request git-receive-pack may act on: any method but GET/HEAD (http-backend serves
    the service only to POST; a server may be laxer), to a path whose last segment is
    git-receive-pack however the server reads it (`path_views`; None = a path that cannot
    be judged, so it may be one), or with the receive-pack content type."""
    if method.upper() in ("GET", "HEAD"):
        return False
    if content_type.split(";", 1)[0].strip().lower() == RECEIVE_PACK_TYPE:
        return True
    if path_views is None:
        return True  # a path no server reads the same way (rules.path_views): it may be a push
    return any(v.lower().rstrip(b"/").endswith(b"/git-receive-pack") for v in path_views)


# -- pkt-line ---------------------------------------------------------------------------------
def read_pkt(body: bytes, pos: int) -> tuple[bytes | None, int]:
    """One pkt-line at `pos`: (payload, next position); payload None for a flush-pkt."""
    head = body[pos:pos + 4]
    if len(head) < 4:
        raise PktError("the body ends inside a pkt-line length")
    if not re.fullmatch(rb"[0-9a-fA-F]{4}", head):
        raise PktError(f"not a pkt-line length: {head!r}")
    n = int(head, 16)
    if n == 0:
        return None, pos + 4
    if n < 4:
        raise PktError(f"pkt-line length {n:04x} (delim/response-end are not part of a push)")
    if pos + n > len(body):
        raise PktError("the body ends inside a pkt-line")
    return body[pos + 4:pos + n], pos + n


def parse_push(body: bytes) -> PushRequest:
    """The ref-update commands (and capabilities, push options) at the start of a
    receive-pack request body. Raises PktError for anything else."""
    pos = 0
    commands: list[Command] = []
    caps: frozenset[str] = frozenset()
    if body == b"":
        raise PktError("the body is empty")
    while True:
        payload, pos = read_pkt(body, pos)
        if payload is None:
            break
        line = payload[:-1] if payload.endswith(b"\n") else payload
        if not commands and line.startswith(b"shallow "):
            if not OBJECT_ID.fullmatch(line[8:]):
                raise PktError("a shallow line without an object id")
            continue
        if not commands and line.startswith(b"push-cert"):
            raise PktError("signed pushes (push-cert) are not supported")
        if not commands:
            line, nul, cap_text = line.partition(b"\x00")
            if nul:
                try:
                    caps = frozenset(cap_text.decode("ascii").split())
                except UnicodeDecodeError:
                    raise PktError("capabilities that are not ASCII") from None
        elif b"\x00" in line:
            raise PktError("a NUL in a command after the first")
        parts = line.split(b" ")
        if len(parts) != 3 or not OBJECT_ID.fullmatch(parts[0]) or not OBJECT_ID.fullmatch(parts[1]) \
                or len(parts[0]) != len(parts[1]):
            raise PktError("a line that is not `old-id new-id refname`")
        commands.append(Command(parts[0], parts[1], parts[2]))
        if len(commands) > MAX_COMMANDS:
            raise PktError(f"more than {MAX_COMMANDS} ref updates")
    options: list[bytes] = []
    if "push-options" in caps and commands:
        while True:
            payload, pos = read_pkt(body, pos)
            if payload is None:
                break
            options.append(payload)
    rest = body[pos:]
    if commands and rest and not rest.startswith(b"PACK"):
        raise PktError("the commands are followed by something other than a pack")
    if not commands and rest:
        raise PktError("data after an empty command list")
    return PushRequest(tuple(commands), caps, tuple(options))


# -- judging ----------------------------------------------------------------------------------
def ref_refusal(policy: PushPolicy, cmd: Command) -> str | None:
    """Why one command is refused, or None."""
    ref = cmd.ref
    name = cmd.ref_text
    if bad_ref_name(ref):
        return f"{name} is not a ref name git accepts"
    if cmd.is_delete and not policy.delete:
        return f"deleting {name} is not allowed ({policy.rule}.delete is false)"
    if not policy.matches(ref):
        if ref.startswith(b"refs/tags/"):
            return (f"pushing tag {name} is not allowed (no pattern in {policy.rule}.refs matches it; "
                    f"allowed: {', '.join(policy.refs) or 'none'})")
        return f"{name} is not in {policy.rule}.refs (allowed: {', '.join(policy.refs) or 'none'})"
    return None


def pkt(payload: bytes) -> bytes:
    return b"%04x" % (len(payload) + 4) + payload


class PushRefused(Refusal):
    """A refused push in git's own answer format (see the module doc)."""

    def __init__(self, what: str, todo: str, payload: bytes):
        super().__init__(200, CODE, what, todo)
        object.__setattr__(self, "payload", payload)

    @property
    def body(self) -> bytes:
        return self.payload

    @property
    def headers(self) -> dict[str, str]:
        h = super().headers
        h["Content-Type"] = RESULT_TYPE
        h["Cache-Control"] = "no-cache"
        return h


def report(push: PushRequest, reasons: list[str | None], messages: list[str]) -> bytes:
    """receive-pack's report-status for a push none of whose refs was updated, in side-band
    when the client asked for it, with `messages` on side-band 2."""
    status = [pkt(b"unpack ok\n")]
    for cmd, why in zip(push.commands, reasons):
        why = why or "not sent: another ref in this push was refused"
        status.append(pkt(b"ng " + cmd.ref + b" bot-bottle: " + why.encode("utf-8", "replace") + b"\n"))
    status.append(b"0000")
    status_bytes = b"".join(status)
    if "side-band-64k" in push.capabilities or "side-band" in push.capabilities:
        size = 65515 if "side-band-64k" in push.capabilities else 995
        out = []
        for m in messages:
            data = m.encode("utf-8", "replace")
            for i in range(0, len(data), size - 1):
                out.append(pkt(b"\x02" + data[i:i + size - 1]))
        for i in range(0, len(status_bytes), size - 1):
            out.append(pkt(b"\x01" + status_bytes[i:i + size - 1]))
        out.append(b"0000")
        return b"".join(out)
    return status_bytes


def push_refusal(policy: PushPolicy | None, method: str, path_views: list[bytes] | None, content_type: str,
                 body: bytes) -> Refusal | None:
    """The refusal of a receive-pack request the policy does not allow, or None (not a push,
    no policy, or every ref allowed)."""
    if policy is None or not is_receive_pack(method, path_views, content_type):
        return None
    todo = f"push only what {policy.rule} allows: {policy.describe()}"
    try:
        push = parse_push(body)
    except PktError as e:
        return Refusal(403, CODE, f"git push refused: its ref updates cannot be read ({e})", todo)
    reasons = [ref_refusal(policy, c) for c in push.commands]
    refused = [(c, r) for c, r in zip(push.commands, reasons) if r is not None]
    if not refused:
        return None
    what = "git push refused: " + "; ".join(r for _, r in refused)
    if not ({"report-status", "report-status-v2"} & push.capabilities):
        return Refusal(403, CODE, what, todo)
    messages = [f"bot-bottle: {r}\n" for _, r in refused]
    messages.append(f"bot-bottle: nothing was pushed; {todo}\n")
    return PushRefused(what, todo, report(push, reasons, messages))
