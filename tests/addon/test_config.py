"""The addon config file (design.md schema v1): validated at startup, every error names
the field; a bad config stops mitmdump (fail closed)."""

import importlib.util
import json
import ssl
import subprocess
import time

import httpx
import pytest

from conftest import ADDON, CREDENTIALS, GUARDED, PIPELOCK_NAME, addon_config, addon_env, free_port, mitm_args


@pytest.fixture(scope="module")
def addon_mod():
    spec = importlib.util.spec_from_file_location("bottle_verdict_under_test", ADDON)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def good() -> dict:
    return addon_config(f"{PIPELOCK_NAME}:8888")


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
    ("pipelock-missing", with_(["pipelock"], KeyError), "pipelock: is required"),
    ("pipelock-no-port", with_(["pipelock"], "pipelock"), "pipelock: expected HOST:PORT"),
    ("max-body-zero", with_(["max_body_bytes"], 0), "max_body_bytes: must be a positive integer"),
    ("max-body-negative", with_(["max_body_bytes"], -5), "max_body_bytes: must be a positive integer"),
    ("max-body-string", with_(["max_body_bytes"], "16"), "max_body_bytes: must be a positive integer"),
    ("max-body-missing", with_(["max_body_bytes"], KeyError), "max_body_bytes: is required"),
    ("budget-too-small", with_(["body_budget_bytes"], 10), "body_budget_bytes: must be at least"),
    ("unknown-key", with_(["colour"], "pink"), "colour: unknown key"),
    ("sidecar-url", with_(["sidecars", 0], "http://x"), "sidecars[0]: must be a host name"),
    ("cred-env-unset", with_(["credentials", 0, "env"], "BOT_BOTTLE_NOT_SET"),
     "credentials[0].env: environment variable BOT_BOTTLE_NOT_SET is not set"),
    ("cred-bad-header", with_(["credentials", 1, "header"], "Authori zation"), "credentials[1].header: must be an HTTP header name"),
    ("cred-bad-scheme", with_(["credentials", 1, "scheme"], "Digest"), 'credentials[1].scheme: must be null, "Bearer" or "Basic"'),
    ("cred-no-hosts", with_(["credentials", 0, "hosts"], []), "credentials[0].hosts: must be a non-empty list"),
    ("cred-host-scheme", with_(["credentials", 0, "hosts", 0], "https://allowed.test"), "credentials[0].hosts[0]: must be a host name"),
    ("cred-host-star", with_(["credentials", 0, "hosts", 0], "*"), "credentials[0].hosts[0]: must be a host name"),
    ("cred-empty-placeholder", with_(["credentials", 2, "placeholder"], ""), "credentials[2].placeholder: must be a non-empty"),
    ("cred-unknown-key", with_(["credentials", 0, "value"], "literal"), "credentials[0].value: unknown key"),
    ("cred-header-not-unscanned", with_(["unscanned_headers"], ["authorization"]),
     "credentials[0].header: x-api-key must also be listed in unscanned_headers"),
    ("guarded-env-unset", with_(["guarded", 0, "env"], "NOPE_NOT_SET"), "guarded[0].env: environment variable NOPE_NOT_SET is not set"),
    ("unscanned-bad", with_(["unscanned_headers", 0], "a b"), "unscanned_headers[0]: must be an HTTP header name"),
]


@pytest.mark.parametrize("case,cfg,msg", BAD, ids=[b[0] for b in BAD])
def test_bad_config_names_the_field(addon_mod, case, cfg, msg):
    with pytest.raises(addon_mod.ConfigError) as ei:
        addon_mod.parse_config(cfg, addon_env())
    assert msg in str(ei.value)
    for c in [*CREDENTIALS, *GUARDED]:
        assert c["value"] not in str(ei.value)


def test_good_config_parses(addon_mod):
    cfg = addon_mod.parse_config(good(), addon_env())
    assert cfg.pipelock == (PIPELOCK_NAME, 8888)
    assert cfg.max_body == 16 * 1024 * 1024 and cfg.budget == 4 * cfg.max_body
    assert [c.name for c in cfg.credentials] == [c["name"] for c in CREDENTIALS]
    assert PIPELOCK_NAME in cfg.sidecars and cfg.unscanned == {"authorization", "x-api-key"}
    assert all(c["value"] not in repr(cfg) for c in [*CREDENTIALS, *GUARDED])


def test_placeholder_equal_to_value_refused(addon_mod):
    env = addon_env()
    env[CREDENTIALS[0]["env"]] = CREDENTIALS[0]["placeholder"]
    with pytest.raises(addon_mod.ConfigError, match=r"credentials\[0\]\.placeholder: equals the real value"):
        addon_mod.parse_config(good(), env)


def run_mitmdump(tmp_path, *sets, env=None, seconds=20):
    port = free_port()
    args = mitm_args(port, tmp_path / "conf", extra=[x for s in sets for x in ("--set", s)])
    return subprocess.run(args, capture_output=True, text=True, timeout=seconds, env={"PATH": "/usr/bin:/bin", **(env or {})})


def test_mitmdump_refuses_to_start_with_bad_config(tmp_path):
    p = tmp_path / "addon.json"
    p.write_text(json.dumps(with_(["max_body_bytes"], 0)))
    out = run_mitmdump(tmp_path, f"bottle_config={p}", env=addon_env())
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert f"bottle_config ({p}): max_body_bytes: must be a positive integer, got 0" in text, text


def test_mitmdump_refuses_to_start_without_config_file(tmp_path):
    out = run_mitmdump(tmp_path, f"bottle_config={tmp_path}/missing.json", env=addon_env())
    assert out.returncode != 0
    assert "cannot read" in out.stdout + out.stderr


def test_mitmdump_refuses_unset_credential_env(tmp_path):
    p = tmp_path / "addon.json"
    p.write_text(json.dumps(good()))
    out = run_mitmdump(tmp_path, f"bottle_config={p}", env={})  # no credential values
    assert out.returncode != 0
    assert "credentials[0].env: environment variable BOT_BOTTLE_CREDENTIAL_ANTHROPIC_API_KEY is not set" \
        in out.stdout + out.stderr


def test_config_from_environment_variable(start_double, workdir, origin):
    """bottle_config=env:NAME reads the same JSON from the environment (a read-only root
    filesystem has nowhere to put the file before start)."""
    d = start_double(name="pl-envcfg")
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "BOT_BOTTLE_ADDON_CONFIG": json.dumps(addon_config(d.addr)), **addon_env()}
    args = mitm_args(port, workdir / "envcfg-conf", extra=["--set", "bottle_config=env:BOT_BOTTLE_ADDON_CONFIG"])
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 20
        while not (workdir / "envcfg-conf" / "mitmproxy-ca-cert.pem").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        ctx = ssl.create_default_context(cafile=str(workdir / "envcfg-conf" / "mitmproxy-ca-cert.pem"))
        with httpx.Client(proxy=f"http://127.0.0.1:{port}", verify=ctx, trust_env=False, timeout=20) as c:
            r = c.get("https://allowed.test/envcfg")
        assert r.status_code == 200 and r.text == "hello from allowed.test /envcfg\n"
    finally:
        proc.terminate()
        proc.wait(10)


def test_no_config_refuses_every_request(start_mitm, origin):
    m = start_mitm(None, name="mitm-noconf", legacy=True)
    ctx = ssl.create_default_context(cafile=str(m.ca))
    with httpx.Client(proxy=m.proxy, verify=ctx, trust_env=False, timeout=20) as c:
        r = c.get("https://allowed.test/x")
    assert r.status_code == 502 and r.headers["x-bot-bottle-block-reason"] == "not_configured"
    assert origin.seen()["connections"] == []
