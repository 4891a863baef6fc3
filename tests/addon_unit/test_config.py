"""The addon config (schema v1, docs/addon.md): what parses, what is refused with an error that
names the field and never a value, and which config the mitmdump options select."""

import json

import pytest

from bot_bottle_addon.config import (BUDGET_FACTOR, ConfigError, OptionError, config_from_options,
                                     load_config_option, parse_config)
from samples import CREDENTIALS, GUARDED, PIPELOCK, addon_config, addon_env


def good() -> dict:
    return addon_config()


def with_(path, value, base=None):
    cfg = json.loads(json.dumps(base or good()))
    *parents, last = path
    node = cfg
    for p in parents:
        node = node[p]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return cfg


BAD = [
    ("version-missing", with_(["version"], KeyError), "version: is required"),
    ("version-2", with_(["version"], 2), "version: must be 1"),
    ("version-true", with_(["version"], True), "version: must be 1, got True"),
    ("pipelock-missing", with_(["pipelock"], KeyError), "pipelock: is required"),
    ("pipelock-no-port", with_(["pipelock"], "pipelock"), "pipelock: expected HOST:PORT"),
    ("pipelock-port-0", with_(["pipelock"], "pipelock:0"), "pipelock: expected HOST:PORT, got 'pipelock:0'"),
    ("pipelock-port-65536", with_(["pipelock"], "pipelock:65536"), "pipelock: expected HOST:PORT"),
    ("max-body-zero", with_(["max_body_bytes"], 0), "max_body_bytes: must be a positive integer"),
    ("max-body-negative", with_(["max_body_bytes"], -5), "max_body_bytes: must be a positive integer"),
    ("max-body-string", with_(["max_body_bytes"], "16"), "max_body_bytes: must be a positive integer"),
    ("max-body-true", with_(["max_body_bytes"], True), "max_body_bytes: must be a positive integer"),
    ("max-body-missing", with_(["max_body_bytes"], KeyError), "max_body_bytes: is required"),
    ("budget-too-small", with_(["body_budget_bytes"], 10), "body_budget_bytes: must be at least"),
    ("unknown-key", with_(["colour"], "pink"), "colour: unknown key"),
    ("sidecars-not-list", with_(["sidecars"], PIPELOCK), "sidecars: must be a list of host names"),
    ("sidecar-url", with_(["sidecars", 0], "http://x"), "sidecars[0]: must be a host name"),
    ("sidecar-wildcard", with_(["sidecars", 1], "*.example.com"), "sidecars[1]: must be a host name"),
    ("creds-not-list", with_(["credentials"], {}), "credentials: must be a list"),
    ("cred-not-object", with_(["credentials", 0], "ANTHROPIC_API_KEY"), "credentials[0]: must be an object"),
    ("cred-bad-name", with_(["credentials", 0, "name"], "ANTHROPIC-KEY"), "credentials[0].name: must be a variable-like name"),
    ("cred-duplicate-name", with_(["credentials", 1, "name"], "ANTHROPIC_API_KEY"),
     "credentials[1].name: duplicate credential name ANTHROPIC_API_KEY"),
    ("cred-env-unset", with_(["credentials", 0, "env"], "BOT_BOTTLE_NOT_SET"),
     "credentials[0].env: environment variable BOT_BOTTLE_NOT_SET is not set"),
    ("cred-env-not-a-name", with_(["credentials", 0, "env"], "$HOME"),
     "credentials[0].env: must be an environment variable name"),
    ("cred-bad-header", with_(["credentials", 1, "header"], "Authori zation"), "credentials[1].header: must be an HTTP header name"),
    ("cred-bad-scheme", with_(["credentials", 1, "scheme"], "Digest"), 'credentials[1].scheme: must be null, "Bearer" or "Basic"'),
    ("cred-no-hosts", with_(["credentials", 0, "hosts"], []), "credentials[0].hosts: must be a non-empty list"),
    ("cred-host-scheme", with_(["credentials", 0, "hosts", 0], "https://allowed.test"), "credentials[0].hosts[0]: must be a host name"),
    ("cred-host-star", with_(["credentials", 0, "hosts", 0], "*"), "credentials[0].hosts[0]: must be a host name"),
    ("cred-host-port", with_(["credentials", 2, "hosts", 1], "github.com:443"), "credentials[2].hosts[1]: must be a host name"),
    ("cred-empty-placeholder", with_(["credentials", 2, "placeholder"], ""), "credentials[2].placeholder: must be a non-empty"),
    ("cred-placeholder-newline", with_(["credentials", 0, "placeholder"], "a\nb"), "credentials[0].placeholder: must be a non-empty single-line"),
    ("cred-placeholder-spaces", with_(["credentials", 0, "placeholder"], " p "), "credentials[0].placeholder: must be a non-empty single-line"),
    ("cred-basic-placeholder-colon", with_(["credentials", 2, "placeholder"], "user:pass"),
     "credentials[2].placeholder: must not contain ':' for the Basic scheme"),
    ("cred-username-int", with_(["credentials", 2, "username"], 7), "credentials[2].username: must be a string or null"),
    ("cred-unknown-key", with_(["credentials", 0, "value"], "literal"), "credentials[0].value: unknown key"),
    ("cred-header-not-unscanned", with_(["unscanned_headers"], ["authorization"]),
     "credentials[0].header: x-api-key must also be listed in unscanned_headers"),
    ("guarded-not-list", with_(["guarded"], "LEAK_TOKEN"), "guarded: must be a list"),
    ("guarded-empty-name", with_(["guarded", 0, "name"], ""), "guarded[0].name: must be a non-empty string"),
    ("guarded-unknown-key", with_(["guarded", 0, "value"], "x"), "guarded[0].value: unknown key"),
    ("guarded-env-unset", with_(["guarded", 0, "env"], "NOPE_NOT_SET"), "guarded[0].env: environment variable NOPE_NOT_SET is not set"),
    ("unscanned-not-list", with_(["unscanned_headers"], "authorization"), "unscanned_headers: must be a list of header names"),
    ("unscanned-bad", with_(["unscanned_headers", 0], "a b"), "unscanned_headers[0]: must be an HTTP header name"),
]


@pytest.mark.parametrize("case,cfg,msg", BAD, ids=[b[0] for b in BAD])
def test_bad_config_names_the_field(case, cfg, msg):
    with pytest.raises(ConfigError) as ei:
        parse_config(cfg, addon_env())
    assert msg in str(ei.value)
    assert str(ei.value).startswith(ei.value.where + ": ")
    for c in [*CREDENTIALS, *GUARDED]:
        assert c["value"] not in str(ei.value)


def test_top_level_must_be_an_object():
    with pytest.raises(ConfigError, match=r"^\(top level\): must be a JSON object"):
        parse_config([good()], addon_env())


def test_empty_env_value_is_an_error():
    env = addon_env()
    env[GUARDED[0]["env"]] = ""
    with pytest.raises(ConfigError, match=r"guarded\[0\]\.env: environment variable BOT_BOTTLE_GUARDED_LEAK_TOKEN is empty"):
        parse_config(good(), env)


def test_good_config_parses():
    cfg = parse_config(good(), addon_env())
    assert cfg.pipelock == (PIPELOCK, 8888)
    assert cfg.max_body == 16 * 1024 * 1024 and cfg.budget == BUDGET_FACTOR * cfg.max_body
    assert [c.name for c in cfg.credentials] == [c["name"] for c in CREDENTIALS]
    assert [c.value for c in cfg.credentials] == [c["value"] for c in CREDENTIALS]
    # header names and schemes lower-cased, hosts normalised
    assert [(c.header, c.scheme) for c in cfg.credentials] == [
        ("x-api-key", None), ("authorization", "bearer"), ("authorization", "basic")]
    assert cfg.credentials[2].hosts == ["github.com", "*.github.com"]
    assert cfg.guarded == [("LEAK_TOKEN", GUARDED[0]["value"])]
    assert PIPELOCK in cfg.sidecars and cfg.unscanned == {"authorization", "x-api-key"}
    assert [(k.kind, k.name) for k in cfg.known] == [("credential", c["name"]) for c in CREDENTIALS] + [
        ("guarded", "LEAK_TOKEN")]
    assert all(c["value"] not in repr(cfg) for c in [*CREDENTIALS, *GUARDED])


def test_pipelock_host_is_always_a_sidecar():
    cfg = parse_config(addon_config(sidecars=[], pipelock="[fd00::5]:8888"), addon_env())
    assert cfg.pipelock == ("fd00::5", 8888) and cfg.sidecars == {"fd00::5"}


def test_names_are_normalised():
    cfg = parse_config(with_(["credentials", 0, "hosts"], ["API.Anthropic.com."], with_(["sidecars"], ["Bot-Bottle-Mitm."])),
                       addon_env())
    assert cfg.credentials[0].hosts == ["api.anthropic.com"]
    assert "bot-bottle-mitm" in cfg.sidecars


def test_explicit_budget_is_kept():
    cfg = parse_config(addon_config(body_budget_bytes=32 * 1024 * 1024), addon_env())
    assert cfg.budget == 32 * 1024 * 1024


def test_placeholder_equal_to_value_refused():
    env = addon_env()
    env[CREDENTIALS[0]["env"]] = CREDENTIALS[0]["placeholder"]
    with pytest.raises(ConfigError, match=r"credentials\[0\]\.placeholder: equals the real value"):
        parse_config(good(), env)


def test_short_values_are_named_and_not_searched_for():
    env = addon_env()
    env[GUARDED[0]["env"]] = "hunter2"  # 7 characters: searching for it would refuse ordinary text
    cfg = parse_config(good(), env)
    assert cfg.too_short_to_search() == [("guarded", "LEAK_TOKEN")]
    assert [k.name for k in cfg.known] == [c["name"] for c in CREDENTIALS]


# -- the options that select a config ----------------------------------------------------
def test_config_from_a_file(tmp_path):
    p = tmp_path / "addon.json"
    p.write_text(json.dumps(good()))
    cfg = load_config_option(str(p), addon_env())
    assert cfg.source == str(p) and cfg.pipelock == (PIPELOCK, 8888)


def test_config_from_an_environment_variable():
    env = {**addon_env(), "BOT_BOTTLE_ADDON_CONFIG": json.dumps(good())}
    cfg = load_config_option("env:BOT_BOTTLE_ADDON_CONFIG", env)
    assert cfg.source == "$BOT_BOTTLE_ADDON_CONFIG" and len(cfg.credentials) == 3


@pytest.mark.parametrize("value,env,msg", [
    ("env:BOT_BOTTLE_ADDON_CONFIG", {}, "bottle_config: environment variable BOT_BOTTLE_ADDON_CONFIG is not set"),
    ("env:BOT_BOTTLE_ADDON_CONFIG", {"BOT_BOTTLE_ADDON_CONFIG": "{not json"},
     "bottle_config: $BOT_BOTTLE_ADDON_CONFIG is not valid JSON"),
    ("/nonexistent/addon.json", {}, "bottle_config: cannot read /nonexistent/addon.json: No such file or directory"),
])
def test_unreadable_config_names_the_option(value, env, msg):
    with pytest.raises(ConfigError) as ei:
        load_config_option(value, env)
    assert ei.value.where == "bottle_config" and msg in str(ei.value)


def test_options_bad_config_file_names_the_file_and_the_field(tmp_path):
    p = tmp_path / "addon.json"
    p.write_text(json.dumps(with_(["max_body_bytes"], 0)))
    with pytest.raises(OptionError) as ei:
        config_from_options(str(p), "", 0, addon_env())
    assert str(ei.value) == f"bottle_config ({p}): max_body_bytes: must be a positive integer, got 0"


def test_options_unreadable_file_is_named():
    # The option's name comes twice (the option, then ConfigError's field): as it always has.
    with pytest.raises(OptionError, match=r"^bottle_config: bottle_config: cannot read /nope.json: No such file"):
        config_from_options("/nope.json", "", 0, {})


def test_options_config_and_legacy_pipelock_exclude_each_other():
    with pytest.raises(OptionError, match="set bottle_config or bottle_pipelock, not both"):
        config_from_options("env:X", "pipelock:8888", 0, {})


def test_options_legacy_pipelock():
    cfg = config_from_options("", "Pipelock.Test:8888", 1000, {})
    assert cfg.pipelock == ("Pipelock.Test", 8888) and cfg.max_body == 1000 and cfg.budget == BUDGET_FACTOR * 1000
    assert cfg.sidecars == {"pipelock.test"} and cfg.credentials == [] and cfg.known == []
    with pytest.raises(OptionError, match="^bottle_max_body must be positive$"):
        config_from_options("", "pipelock:8888", 0, {})
    with pytest.raises(OptionError, match="^bottle_pipelock: expected HOST:PORT, got 'pipelock'$"):
        config_from_options("", "pipelock", 1000, {})


def test_no_options_no_config():
    assert config_from_options("", "", 1000, {}) is None
