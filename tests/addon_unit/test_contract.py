"""The contract between the two languages: every addon config the Rust side renders (the plan
snapshots, snapshots/*.json.snap, and their human form, *.txt.snap) is read by the addon's own
option handling, with mitmproxy's environment made of exactly the variables the plan passes to
the mitmproxy container, set to real-format values. A snapshot without an addon config fails
(a renamed field or section must not silently skip this test)."""

import json
import re
import textwrap

import pytest

from bot_bottle_addon.config import LEGACY_MAX_BODY, config_from_options
from bot_bottle_addon.hosts import parse_hostport
from conftest import REPO
from samples import ANTHROPIC_KEY, GITHUB_TOKEN, OAUTH_TOKEN, fake_key

SNAPSHOTS = REPO / "snapshots"
PLANS = sorted(SNAPSHOTS.glob("*.json.snap"))
TXT_HEADING = "The addon config (mitmproxy's BOT_BOTTLE_ADDON_CONFIG):"
CONTRACT = json.loads((REPO / "nix" / "image-contract.json").read_text())["mitmproxy"]


def real_value(var: str) -> str:
    """A real-format value for one of mitmproxy's variables, by the secret's name."""
    name = re.sub(r"^BOT_BOTTLE_(CREDENTIAL|GUARDED)_", "", var)
    if name == "ANTHROPIC_API_KEY":
        return ANTHROPIC_KEY
    if name == "CLAUDE_CODE_OAUTH_TOKEN":
        return OAUTH_TOKEN
    if "GIT" in name or name.startswith("GH"):
        return GITHUB_TOKEN
    if name == "NPM_TOKEN":
        return fake_key("npm_", 36, "npm")
    return fake_key("", 40, name)  # an opaque API key


def snapshot_json(path):
    text = path.read_text()
    _, header, body = text.split("---\n", 2)  # insta's header, then the value
    assert "source: tests/it/plan_snapshots.rs" in header, path.name
    return json.loads(body)


def mitmdump_run(plan) -> list:
    """The args of the one `docker run` step that starts mitmdump."""
    found = []

    def walk(x):
        if isinstance(x, dict):
            if isinstance(x.get("args"), list) and "mitmdump" in x["args"]:
                found.append(x["args"])
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(plan)
    assert len(found) == 1, f"expected one mitmdump run step, found {len(found)}"
    return found[0]


def test_the_plan_snapshots_are_there():
    names = {p.name.removesuffix(".json.snap") for p in PLANS}
    assert {"credentials_and_git", "secret_host_and_literal_env", "embedded_default"} <= names, names


def test_the_snapshots_cover_every_credential_shape():
    creds = [c for p in PLANS for c in snapshot_json(p)["mitmproxy"]["addon"]["credentials"]]
    assert {c["scheme"] for c in creds} == {None, "Bearer", "Basic"}
    assert any(snapshot_json(p)["mitmproxy"]["addon"]["guarded"] for p in PLANS)


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name.removesuffix(".json.snap"))
def test_the_addon_reads_the_config_the_plan_renders(path):
    plan = snapshot_json(path)
    assert "addon" in plan.get("mitmproxy", {}), f"{path.name}: no mitmproxy.addon in the plan"
    addon = plan["mitmproxy"]["addon"]

    # the human form shows the same config
    txt = path.with_name(path.name.replace(".json.snap", ".txt.snap")).read_text()
    assert TXT_HEADING in txt, f"{path.name}: the .txt snapshot has no addon config"
    block = txt.split(TXT_HEADING + "\n", 1)[1]
    lines = []
    for line in block.splitlines():
        lines.append(line)
        if line == "  }":
            break
    assert json.loads(textwrap.dedent("\n".join(lines))) == addon

    # mitmproxy's command: the contract's entry script and the config option
    args = mitmdump_run(plan)
    assert args[args.index("-s") + 1] == CONTRACT["addon"]
    options = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    option = next(o for o in options if o.startswith(CONTRACT["config_option"] + "="))
    value = option.split("=", 1)[1]
    # mitmproxy's environment: the variables passed by name, and the config in its own variable
    passed = [args[i + 1] for i, a in enumerate(args) if a == "--env"]
    environ = {v: real_value(v) for v in passed if isinstance(v, str)}
    slots = [v["shows"].split("=", 1)[0] for v in passed if isinstance(v, dict)]
    assert value == f"env:{slots[0]}", (value, slots)
    environ[slots[0]] = json.dumps(addon, separators=(",", ":"))  # AddonConfig::render: one line

    cfg = config_from_options(value, "", LEGACY_MAX_BODY, environ)

    assert cfg.pipelock == parse_hostport(addon["pipelock"])
    assert cfg.max_body == addon["max_body_bytes"]
    assert set(addon["sidecars"]) <= cfg.sidecars
    assert [(c.name, c.env, c.hosts, c.header, c.scheme, c.placeholder) for c in cfg.credentials] == [
        (c["name"], c["env"], c["hosts"], c["header"], (c["scheme"] or "").lower() or None, c["placeholder"])
        for c in addon["credentials"]]
    assert [c.value for c in cfg.credentials] == [environ[c["env"]] for c in addon["credentials"]]
    assert cfg.guarded == [(g["name"], environ[g["env"]]) for g in addon["guarded"]]
    assert cfg.unscanned == set(addon["unscanned_headers"])
    assert {k.name for k in cfg.known} == {c["name"] for c in addon["credentials"]} | {
        g["name"] for g in addon["guarded"]}
    # the model lane (issue 18): every field the Rust side renders, read back
    assert cfg.allowlist == tuple(addon.get("allowlist", []))
    lane = addon.get("model_lane")
    if lane is None:
        assert cfg.model_lane is None
        return
    m = cfg.model_lane
    assert m.pipelock == parse_hostport(lane["pipelock"]) and m.pipelock[0] in cfg.sidecars
    assert [(p.name, list(p.hosts), list(p.identity_headers), [(x.host, x.path) for x in p.login])
            for p in m.providers] == [(p["name"], p["hosts"], [h.lower() for h in p["identity_headers"]],
                                       [(x["host"], x["path"]) for x in p["login"]]) for p in lane["providers"]]
    assert (m.web_search, list(m.server_hosts), m.cache_bytes) == (
        lane.get("web_search", False), lane.get("server_hosts", []), lane.get("cache_bytes", m.cache_bytes))


def test_the_snapshots_render_the_model_lane():
    lanes = [snapshot_json(p)["mitmproxy"]["addon"].get("model_lane") for p in PLANS]
    assert any(lanes), "no plan snapshot renders model_lane"
    for lane in filter(None, lanes):
        assert any("api.anthropic.com" in p["hosts"] for p in lane["providers"])


def test_the_live_policy_file_is_where_the_addon_reads_it():
    """bottle writes `mitmproxy.live_policy_file`; the addon reads LIVE_POLICY_FILE in its confdir."""
    from bot_bottle_addon.live_policy import LIVE_POLICY_FILE
    assert CONTRACT["live_policy_file"] == f"{CONTRACT['confdir']}/{LIVE_POLICY_FILE}"
