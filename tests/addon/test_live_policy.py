"""Hosts approved live (`bottle allow-host`) in a real mitmdump: bottle writes the live policy file
into mitmproxy's confdir (renamed into place) and waits for the addon's log line naming its hash.
Once `*.allowed.test` is approved, a data-carrying name under it is refused `host_data` before
anything resolves it, a normal name under it reaches the origin, and the model lane's provider may
reach an MCP server under it; taken back, the addon no longer judges those names (pipelock refuses
them as off its allowlist) and the MCP server is refused again. A file that cannot be used fails
closed: every request refused `503 live_policy` until a valid one is loaded.
"""

import hashlib
import json
import os
import time

import pytest

from conftest import addon_config, client, pipelock_config
from test_model_lane import (MODEL_CREDS, conversation, fake_api_keys, model_lane, post, refused,  # noqa: F401
                             start_model_pipelock)

pytestmark = pytest.mark.usefixtures("fake_api_keys")  # the fake API knows the bottle's key
ID = "0123456789abcdef"
FILE = "bot-bottle-live-policy.json"  # nix/image-contract.json mitmproxy.live_policy_file
HEX = "7365637265745f6170695f6b6579.exfil.allowed.test"  # "secret_api_key" in hex
# requested over plain HTTP: a refused CONNECT would be a proxy error to the client


@pytest.fixture(scope="module")
def model_pl(start_double):
    return start_model_pipelock(start_double, "live-model-pipelock")


@pytest.fixture(scope="module")
def live_mitm(start_mitm, start_double, model_pl):
    # pipelock's side is not under test here: it allows the normal name and refuses the
    # data-carrying one as off its allowlist (never looked up: --network none)
    web_pl = start_double(pipelock_config(api_allowlist=["allowed.test", "other.allowed.test"]),
                          name="live-web-pipelock")
    cfg = addon_config(web_pl.addr, credentials=MODEL_CREDS, allowlist=["api.anthropic.com", "allowed.test"],
                       model_lane=model_lane(model_pl), bottle_id=ID)
    return start_mitm(config=cfg, name="mitm-live")


def addon_log(mitm) -> str:
    return mitm.out.read_text() + mitm.err.read_text()


def write_live(mitm, text: bytes, expect: str = "loaded") -> None:
    """As bottle writes it (beside the old file, renamed over it), then the addon's line for it."""
    path = mitm.confdir / FILE
    tmp = mitm.confdir / (FILE + ".bot-bottle-new")
    tmp.write_bytes(text)
    os.replace(tmp, path)
    line = f"bottle_verdict: live policy {expect} (sha256 {hashlib.sha256(text).hexdigest()})"
    deadline = time.monotonic() + 10
    while line not in addon_log(mitm):
        assert time.monotonic() < deadline, f"no `{line}` in the addon's log:\n{addon_log(mitm)[-2000:]}"
        time.sleep(0.05)


def live(approved, note) -> bytes:
    return (json.dumps({"version": 1, "bottle_id": ID, "approved": approved, "note": note}) + "\n").encode()


def get(mitm, url):
    with client(mitm) as c:
        return c.get(url)


def mcp_body(host):
    return {**conversation(), "mcp_servers": [{"type": "url", "url": f"https://{host}/sse", "name": "ext"}]}


def test_a_wildcard_approved_live_is_judged_and_taken_back_is_not(live_mitm, origin):
    r = get(live_mitm, f"http://{HEX}/x")
    assert "domain not in allowlist" in r.text, "not on the allowlist: not judged, pipelock refuses it"
    refused(post(live_mitm, mcp_body("mcp.allowed.test")), "model_server_egress")

    write_live(live_mitm, live(["*.allowed.test"], "change 1"))
    r = get(live_mitm, f"http://{HEX}/x")
    assert (r.status_code, r.headers.get("x-bot-bottle-block-reason")) == (403, "host_data"), r.text
    assert "*.allowed.test" in r.text and "hex run" in r.text, r.text
    r = get(live_mitm, "https://other.allowed.test/")
    assert r.status_code == 200 and "other.allowed.test" in r.text, r.text
    mark = len(live_mitm.lines())
    r = post(live_mitm, mcp_body("mcp.allowed.test"))
    assert r.status_code == 200, r.text
    assert live_mitm.line_for("/v1/messages", mark)["server_egress"] == ["mcp:mcp.allowed.test"]

    write_live(live_mitm, live([], "change 2"))
    r = get(live_mitm, f"http://{HEX}/x")
    assert "domain not in allowlist" in r.text, r.text
    refused(post(live_mitm, mcp_body("mcp.allowed.test")), "model_server_egress")


def test_a_live_policy_that_cannot_be_used_fails_closed_until_a_valid_one(live_mitm, origin):
    write_live(live_mitm, b'{"version": 1, "bottle_id": "ffffffffffffffff", "approved": []}\n', expect="refused")
    r = get(live_mitm, "http://allowed.test/")
    assert (r.status_code, r.headers.get("x-bot-bottle-block-reason")) == (503, "live_policy"), r.text
    assert "not this bottle's" in r.text and r.headers.get("retry-after") == "2", r.text
    write_live(live_mitm, live([], "put back"))
    r = get(live_mitm, "http://allowed.test/")
    assert r.status_code == 200, r.text
