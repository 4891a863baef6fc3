"""Host names: pipelock's allowlist matching, IP literals in every notation a C resolver accepts,
HOST:PORT, and the targets (sidecars, internal names, IP literals) a request may never name."""

import pytest

from bot_bottle_addon.hosts import (host_header_refusal, host_matches, is_ip_literal, norm_host, parse_hostport,
                                    target_refusal)

SIDECARS = frozenset({"bot-bottle-pipelock-forger-01234567", "bot-bottle-mitm-forger-01234567"})
OWN = "3f2a9c81d0e4"  # mitmproxy's container hostname (Docker sets the short container id)


@pytest.mark.parametrize("host,norm", [
    ("API.Anthropic.COM", "api.anthropic.com"), ("api.anthropic.com.", "api.anthropic.com"),
    (" [::1] ", "::1"), ("github.com", "github.com"),
])
def test_norm_host(host, norm):
    assert norm_host(host) == norm


@pytest.mark.parametrize("pattern,host,ok", [
    ("api.github.com", "api.github.com", True),
    ("api.github.com", "API.GitHub.com.", True),
    ("api.github.com", "github.com", False),
    ("*.github.com", "github.com", True),  # the apex too, as pipelock's allowlist
    ("*.github.com", "api.github.com", True),
    ("*.github.com", "a.b.github.com", True),
    ("*.github.com", "evilgithub.com", False),
    ("*.github.com", "github.com.evil.example", False),
])
def test_host_matches_like_pipelocks_allowlist(pattern, host, ok):
    assert host_matches(pattern, host) is ok


@pytest.mark.parametrize("host", [
    "127.0.0.1", "10.0.0.7", "[::1]", "::1", "::ffff:127.0.0.1", "[::ffff:7f00:1]", "fe80::1%eth0",
    "127.1", "2130706433", "0x7f.0.0.1", "0177.0.0.1", "0x7f000001", "172.17.0.1.",
])
def test_ip_literals_in_any_notation(host):
    assert is_ip_literal(host)


@pytest.mark.parametrize("host", ["api.anthropic.com", "1password.com", "1e100.net", "0x.example", "localhost",
                                  "deadbeef", "bot-bottle-pipelock-forger-01234567", ""])
def test_names_are_not_ip_literals(host):
    assert not is_ip_literal(host)


@pytest.mark.parametrize("value,parsed", [
    ("bot-bottle-pipelock-forger-01234567:8888", ("bot-bottle-pipelock-forger-01234567", 8888)),
    (" pipelock:1 ", ("pipelock", 1)), ("[fd00::5]:8888", ("fd00::5", 8888)), ("10.0.0.2:65535", ("10.0.0.2", 65535)),
])
def test_parse_hostport(value, parsed):
    assert parse_hostport(value) == parsed


@pytest.mark.parametrize("value", ["pipelock", "pipelock:", ":8888", "pipelock:0", "pipelock:65536", "pipelock:http",
                                   "[fd00::5]", "pipelock:-1"])
def test_parse_hostport_refuses(value):
    with pytest.raises(ValueError, match="expected HOST:PORT"):
        parse_hostport(value)


@pytest.mark.parametrize("host,port,code", [
    ("127.0.0.1", 443, "ip_literal"), ("2130706433", 443, "ip_literal"), ("[::1]", 443, "ip_literal"),
    ("bot-bottle-pipelock-forger-01234567", 8888, "internal_target"),
    ("BOT-BOTTLE-PIPELOCK-FORGER-01234567.", 8888, "internal_target"),
    ("bot-bottle-pipelock-forger-01234567.bot-bottle-net-forger-01234567", 8888, "internal_target"),
    ("bot-bottle-mitm-forger-01234567", 8080, "internal_target"),
    ("somecontainer", 80, "internal_target"),  # single label: Docker's container names and ids
    ("localhost", 80, "internal_target"), ("app.localhost", 80, "internal_target"),
    (OWN, 8080, "internal_target"),
])
def test_forbidden_targets(host, port, code):
    r = target_refusal(host, port, SIDECARS, OWN)
    assert r is not None and r.code == code and r.status == 403
    assert f"{norm_host(host)}:{port}" in r.text


@pytest.mark.parametrize("host", ["api.anthropic.com", "github.com", "pipelock.example.com", "localhost.example.com"])
def test_ordinary_targets_pass(host):
    assert target_refusal(host, 443, SIDECARS, OWN) is None


def test_mitmproxys_own_hostname_is_internal():
    # Docker's default hostname is the container id (a single label); a set one may have dots
    assert target_refusal("Proxy.Corp.Example", 8080, SIDECARS, "proxy.corp.example").code == "internal_target"
    assert target_refusal("proxy.corp.example", 8080, SIDECARS, OWN) is None


def test_target_without_port_is_named_alone():
    r = target_refusal("10.0.0.1", None, SIDECARS, OWN)
    assert r.text.startswith("blocked: bot-bottle: 10.0.0.1 is an IP address;")


@pytest.mark.parametrize("header,hh_host,hh_port,refused", [
    ("api.anthropic.com", "api.anthropic.com", None, False),
    ("API.anthropic.com.", "API.anthropic.com.", None, False),
    ("api.anthropic.com:443", "api.anthropic.com", 443, False),
    ("evil.example", "evil.example", None, True),  # domain fronting
    ("api.anthropic.com:8443", "api.anthropic.com", 8443, True),
])
def test_host_header_must_name_the_target(header, hh_host, hh_port, refused):
    r = host_header_refusal(header, hh_host, hh_port, "api.anthropic.com", 443)
    assert (r is not None) is refused
    if refused:
        assert (r.status, r.code) == (421, "host_mismatch") and repr(header) in r.text
