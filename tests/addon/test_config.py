"""The addon config file (design.md schema v1) in a real mitmdump: a bad config stops it (fail
closed) with an error naming the field; `env:` configs; no config. The parser's own cases
(every invalid field) are host-run: tests/addon_unit/test_config.py."""

import json
import ssl
import subprocess
import time

import httpx

from conftest import PIPELOCK_NAME, addon_config, addon_env, free_port, mitm_args


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
