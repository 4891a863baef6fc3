"""The `allowlist` and `model_lane` config keys (docs/addon.md): what the Rust side renders parses to
the model lane; a config without them still parses (no model lane); every bad entry names its field."""

import copy

import pytest

from bot_bottle_addon.config import ConfigError, parse_config
from bot_bottle_addon.model_lane.config import DEFAULT_CACHE_BYTES, Login
from model_samples import ALLOWLIST, MODEL_LANE, model_config, model_parsed
from samples import addon_config, addon_env, parsed


def test_the_rendered_keys_parse():
    cfg = model_parsed()
    lane = cfg.model_lane
    assert cfg.allowlist == tuple(ALLOWLIST)
    assert lane.pipelock == ("bot-bottle-model-pl-forger-01234567", 8888)
    assert lane.pipelock_text == "bot-bottle-model-pl-forger-01234567:8888"
    (p,) = lane.providers
    assert (p.name, p.hosts, p.identity_headers) == ("anthropic", ("api.anthropic.com",), ("authorization", "x-api-key"))
    assert p.login == (Login("platform.claude.com", "/v1/oauth/token"), Login("console.anthropic.com", "/v1/oauth/token"))
    assert (lane.web_search, lane.server_hosts, lane.cache_bytes) == (False, (), 33554432)
    # the model pipelock is a sidecar: requests naming it are refused like the web pipelock's
    assert "bot-bottle-model-pl-forger-01234567" in cfg.sidecars


def test_a_config_without_the_model_lane_still_parses():
    cfg = parsed()
    assert cfg.model_lane is None and cfg.allowlist == ()
    assert parse_config(addon_config(model_lane=None), addon_env()).model_lane is None


def test_defaults_and_recognition():
    lane = dict(MODEL_LANE)
    for k in ("web_search", "server_hosts", "cache_bytes"):
        del lane[k]
    cfg = parse_config(addon_config(model_lane=lane), addon_env())
    m = cfg.model_lane
    assert (m.web_search, m.server_hosts, m.cache_bytes, cfg.allowlist) == (False, (), DEFAULT_CACHE_BYTES, ())
    assert m.provider_for("API.Anthropic.com.").name == "anthropic"
    assert m.provider_for("anthropic.com") is None and m.provider_for("api.anthropic.com.evil.test") is None
    assert m.login_for("platform.claude.com", "/v1/oauth/token?x=1").name == "anthropic"
    assert m.login_for("platform.claude.com", "/v1/oauth/tokens") is None
    assert m.login_for("api.anthropic.com", "/v1/oauth/token") is None


def bad(path: list, value):
    cfg = model_config()
    cfg = copy.deepcopy(cfg)
    node = cfg
    for k in path[:-1]:
        node = node[k]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return cfg


P = ["model_lane", "providers", 0]
CASES = [
    (["allowlist"], "api.anthropic.com", "allowlist"),
    (["allowlist"], ["https://x.test"], "allowlist[0]"),
    (["allowlist"], ["*"], "allowlist[0]"),
    (["model_lane"], [], "model_lane"),
    (["model_lane", "extra"], 1, "model_lane.extra"),
    (["model_lane", "pipelock"], KeyError, "model_lane.pipelock"),
    (["model_lane", "pipelock"], "no-port", "model_lane.pipelock"),
    (["model_lane", "providers"], [], "model_lane.providers"),
    (["model_lane", "providers"], KeyError, "model_lane.providers"),
    (P + ["name"], "Anthropic AI", "model_lane.providers[0].name"),
    (P + ["hosts"], [], "model_lane.providers[0].hosts"),
    (P + ["hosts"], KeyError, "model_lane.providers[0].hosts"),
    (P + ["hosts"], ["api anthropic"], "model_lane.providers[0].hosts[0]"),
    (P + ["identity_headers"], ["x api key"], "model_lane.providers[0].identity_headers[0]"),
    (P + ["identity_headers"], "x-api-key", "model_lane.providers[0].identity_headers"),
    (P + ["login"], {"host": "h.test"}, "model_lane.providers[0].login"),
    (P + ["login", 0, "path"], "v1/oauth/token", "model_lane.providers[0].login[0].path"),
    (P + ["login", 0, "path"], "/v1/oauth/token?x", "model_lane.providers[0].login[0].path"),
    (P + ["login", 0, "host"], "*.claude.com", "model_lane.providers[0].login[0].host"),
    (P + ["login", 0, "scheme"], "https", "model_lane.providers[0].login[0].scheme"),
    (P + ["secret"], 1, "model_lane.providers[0].secret"),
    (["model_lane", "web_search"], "yes", "model_lane.web_search"),
    (["model_lane", "server_hosts"], ["mcp.example.com/x"], "model_lane.server_hosts[0]"),
    (["model_lane", "cache_bytes"], -1, "model_lane.cache_bytes"),
    (["model_lane", "cache_bytes"], True, "model_lane.cache_bytes"),
]


@pytest.mark.parametrize("path,value,where", CASES, ids=[c[2] + ":" + repr(c[1])[:20] for c in CASES])
def test_bad_entries_name_their_field(path, value, where):
    with pytest.raises(ConfigError) as e:
        parse_config(bad(path, value), addon_env())
    assert e.value.where == where, str(e.value)
    assert str(e.value).startswith(where + ": ")


def test_duplicate_provider_names():
    cfg = model_config()
    cfg["model_lane"]["providers"].append(copy.deepcopy(cfg["model_lane"]["providers"][0]))
    with pytest.raises(ConfigError) as e:
        parse_config(cfg, addon_env())
    assert e.value.where == "model_lane.providers"
