"""The live policy (live_policy.py): the file `bottle allow-host` writes into mitmproxy's confdir is
checked field by field, and the config with its approvals judges names under a wildcard approved
live (host_labels) and lets the model lane's provider reach an approved host; taken back, both
follow. The launch's allowlist cannot be narrowed by the file."""

import json

import pytest

from bot_bottle_addon.live_policy import LivePolicyError, parse_live_policy, sha256_hex, with_approvals
from bot_bottle_addon.model_lane.lane import ModelLaneJudge
from model_samples import body_of, claude_request, model_parsed

ID = "0123456789abcdef"
HEX = "7365637265745f6170695f6b6579.exfil.example.dev"


def live(approved, **extra) -> bytes:
    return json.dumps({"version": 1, "bottle_id": ID, "approved": approved, "note": "change 1", **extra}).encode()


def cfg():
    c = model_parsed()
    c.bottle_id = ID
    return c


def test_a_valid_file_names_its_approvals_and_its_hash():
    raw = live(["*.example.dev", "Registry.NPMJS.org", "*.example.dev"])
    p = parse_live_policy(raw, ID)
    assert p.approved == ("*.example.dev", "registry.npmjs.org")
    assert p.sha256 == sha256_hex(raw)
    assert parse_live_policy(live([]), ID).approved == ()


@pytest.mark.parametrize("raw, says", [
    (b"{", "not JSON"),
    (b"\xff", "not JSON"),
    (b"[]", "must be a JSON object"),
    (live(["x.org"], extra=1), "extra: unknown key"),
    (json.dumps({"version": 2, "bottle_id": ID, "approved": []}).encode(), "version: must be 1"),
    (json.dumps({"version": True, "bottle_id": ID, "approved": []}).encode(), "version: must be 1"),
    (json.dumps({"version": 1, "bottle_id": "ffffffffffffffff", "approved": []}).encode(), "not this bottle's"),
    (json.dumps({"version": 1, "bottle_id": ID}).encode(), "approved: is required"),
    (live("x.org"), "approved: must be a list"),
    (live(["*"]), "approved[0]"),
    (live(["x.org", "https://y.org"]), "approved[1]"),
    (live(["x.org"], note=3), "note: must be a string"),
])
def test_a_file_that_cannot_be_used_says_which_field(raw, says):
    with pytest.raises(LivePolicyError) as e:
        parse_live_policy(raw, ID)
    assert says in str(e.value)


def test_names_under_a_wildcard_approved_live_are_judged_and_no_longer_once_taken_back():
    c = cfg()
    assert c.host_labels.shape_refusal(HEX, HEX) is None  # not covered: pipelock refuses it unresolved
    c2 = with_approvals(c, ("*.example.dev",))
    r = c2.host_labels.shape_refusal(HEX, f"{HEX}:443")
    assert r is not None and r.code == "host_data" and "*.example.dev" in r.text, r
    assert c2.host_labels.shape_refusal("docs.example.dev", "docs.example.dev") is None
    assert c2.live_allowlist == c.allowlist + ("*.example.dev",)
    assert c.approved == () and c2.approved == ("*.example.dev",), "the old config is unchanged"
    c3 = with_approvals(c2, ())
    assert c3.host_labels.shape_refusal(HEX, HEX) is None
    assert c3.live_allowlist == c.allowlist


def test_the_launch_allowlist_is_kept_and_its_rate_state_survives_a_reload():
    c = cfg()
    now = 1000.0
    for i in range(c.host_labels.per_minute):
        assert c.host_labels.refusal(f"n{i}.files.pythonhosted.org", "h", now) is None
    c2 = with_approvals(c, ("pythonhosted.org",))  # an exact approval cannot narrow the launch's wildcard
    assert c2.live_allowlist == c.allowlist + ("pythonhosted.org",)
    r = c2.host_labels.refusal("another.files.pythonhosted.org", "h", now + 1)
    assert r is not None and r.code == "host_rate", "a reload does not reset the cap"


def test_the_model_lane_lets_the_provider_reach_a_host_approved_live_and_not_once_taken_back():
    c = cfg()
    req = claude_request([])
    req["mcp_servers"] = [{"type": "url", "url": "https://mcp.example.dev/sse", "name": "ext"}]
    judge = ModelLaneJudge(c.model_lane, c.allowlist, c.known)
    j = judge.judge(body_of(req))
    assert j.refusal is not None and j.refusal.code == "model_server_egress"
    judge.set_allowlist(with_approvals(c, ("*.example.dev",)).live_allowlist)
    j = judge.judge(body_of(req))
    assert j.refusal is None and j.server_egress == ["mcp:mcp.example.dev"], j.refusal
    judge.set_allowlist(with_approvals(c, ()).live_allowlist)
    assert judge.judge(body_of(req)).refusal is not None
