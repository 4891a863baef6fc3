"""The origin itself: its certificate names every fake host, the generic endpoints still
answer, and the control interface (/__config, /__seen filters) works and refuses typos."""

from __future__ import annotations

import socket
import ssl

import httpx

from conftest import CA, HOSTS


def test_certificate_names_every_host_and_chains_to_the_test_ca():
    ctx = ssl.create_default_context(cafile=CA)
    for host in HOSTS:
        with socket.create_connection((host, 443), timeout=10) as s:
            with ctx.wrap_socket(s, server_hostname=host) as t:  # verifies chain and name
                cert = t.getpeercert()
    sans = sorted(v for _, v in cert["subjectAltName"])
    assert sans == sorted(HOSTS + ["localhost", "127.0.0.1"]), sans


def test_generic_hosts_answer_as_before(http):
    for host in ("allowed.test", "denied.test", "other.allowed.test", "plain.test"):
        r = http.get(f"https://{host}/hello?x=1")
        assert r.status_code == 200 and r.text == f"hello from {host} /hello?x=1\n"
    with httpx.Client(timeout=30, trust_env=False) as c:
        assert c.get("http://plain.test/hello").text == "hello from plain.test /hello\n"
    r = http.post("https://allowed.test/echo", content=b"abc")
    assert r.json()["body"] == "abc" and r.json()["scheme"] == "https"


def test_start_config_applies_and_delete_returns_to_it(control):
    # run.sh starts the origin with ORIGIN_CONFIG={"git": {"username": "x-access-token"}}
    control.config(git={"username": "someone"}, api={"text": "changed"})
    status, cfg = control.call("DELETE", "/__config")
    assert status == 200
    assert cfg["git"]["username"] == "x-access-token"
    assert cfg["api"]["text"] != "changed" and cfg["api"]["keys"] == []


def test_config_refuses_unknown_sections_keys_and_bad_values(control):
    for bad in ({"apj": {}}, {"api": {"key": ["x"]}}, {"api": {"keys": "x"}},
                {"api": {"script": "dance"}}, {"git": {"repos": [1]}}, {"api": []}):
        status, body = control.call("POST", "/__config", bad)
        assert status == 400 and "error" in body, bad
    status, body = control.call("POST", "/__config", None)
    assert status == 200  # an empty body changes nothing


def test_seen_filters_by_host_and_path_prefix(http, control):
    http.get("https://allowed.test/a/1")
    http.get("https://other.allowed.test/a/2")
    http.get("https://allowed.test/b/3")
    assert [r["path"] for r in control.seen(host="allowed.test")["requests"]] == ["/a/1", "/b/3"]
    assert [r["path"] for r in control.seen(path="/a/")["requests"]] == ["/a/1", "/a/2"]
    assert [r["path"] for r in control.seen(host="other.allowed.test", path="/a")["requests"]] == ["/a/2"]
    assert len(control.seen()["requests"]) == 3
