"""The live policy: the hosts `bottle allow-host` approved while the bottle runs, as the file bottle writes into mitmproxy's confdir (parse_live_policy, every error names the field) and the config that results (with_approvals); pure, no I/O.

Why: pipelock reloads the bottle's allowlist live (src/policy), and the addon reads the
allowlist too: under a wildcard entry it judges the labels the agent chose before anything
resolves the name (host_labels), and the model lane judges what the provider would reach
against it (model_lane/egress). A wildcard approved live that the addon did not know would be
resolved unjudged. So bottle writes the file here first (for an approval; after pipelock for a
removal) and waits for the addon's log line naming the file's SHA-256 (LOADED_LINE), or the
refusal line (REFUSED_LINE), before it says the change took effect.

File (version 1), written whole (renamed into place) at `<confdir>/LIVE_POLICY_FILE`:
    {"version": 1, "bottle_id": "0123456789abcdef", "approved": ["*.example.dev"], "note": "..."}
`approved` is every live approval still in force (not a delta); the launch's allowlist (the
config's `allowlist`) is not repeated and cannot be narrowed by it. No file: no live
approvals (a fresh confdir, e.g. after a restart, until bottle writes it again).
"""

import dataclasses
import hashlib
import json

from .model_lane.config import ModelLaneError, _host_list

LIVE_POLICY_FILE = "bot-bottle-live-policy.json"
LIVE_VERSION = 1
KEYS = {"version", "bottle_id", "approved", "note"}
# the log lines bottle's `allow-host` waits for (src/policy/sidecar_reload.rs reads them)
LOADED_LINE = "bottle_verdict: live policy loaded (sha256 {sha}): {n} live approval(s): {hosts}"
REFUSED_LINE = ("bottle_verdict: live policy refused (sha256 {sha}): {why}; every request is refused "
                "until a valid live policy is loaded")


class LivePolicyError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class LivePolicy:
    approved: tuple[str, ...]
    sha256: str  # of the file's bytes: the log lines name it


def sha256_hex(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def parse_live_policy(raw: bytes, bottle_id: str | None) -> LivePolicy:
    """The live policy file's bytes, checked; raises LivePolicyError naming the field."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise LivePolicyError(f"not JSON ({e})") from None
    if not isinstance(data, dict):
        raise LivePolicyError("(top level): must be a JSON object")
    extra = sorted(set(data) - KEYS)
    if extra:
        raise LivePolicyError(f"{extra[0]}: unknown key")
    version = data.get("version")
    if version != LIVE_VERSION or isinstance(version, bool):
        raise LivePolicyError(f"version: must be {LIVE_VERSION}, got {version!r}")
    if data.get("bottle_id") != bottle_id:
        raise LivePolicyError(f"bottle_id: {data.get('bottle_id')!r} is not this bottle's ({bottle_id!r})")
    if "approved" not in data:
        raise LivePolicyError("approved: is required")
    try:
        approved = _host_list(data["approved"], "approved")
    except ModelLaneError as e:
        raise LivePolicyError(str(e)) from None
    note = data.get("note", "")
    if not isinstance(note, str):
        raise LivePolicyError("note: must be a string")
    return LivePolicy(tuple(dict.fromkeys(approved)), sha256_hex(raw))


def with_approvals(cfg, approved: tuple[str, ...]):
    """`cfg` (a config.Config; its `allowlist` is the launch's) with the live approvals:
    `approved` set and the host-label judge rebuilt over the whole allowlist. The per-entry
    rate state of the entries that stay is kept (a reload does not reset the cap)."""
    new = dataclasses.replace(cfg, approved=tuple(approved))
    new.host_labels = cfg.host_labels.with_allowlist(new.live_allowlist)
    return new
