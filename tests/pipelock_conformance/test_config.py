"""Config parsing: the keys the product renders are accepted, unknown keys and bad values are
startup errors (internal/config/load.go, validate.go), /health, healthcheck and version."""

from __future__ import annotations

import json
import urllib.request

import pytest

from conftest import BASE, PORT, config, merge
from shapes import MODEL_CONFIG, PRODUCT_CONFIG

# Every key docs/pipelock.md documents, with a value of the right type (many are defaults).
ALL_DOCUMENTED_KEYS = merge(PRODUCT_CONFIG, {
    "explain_blocks": False,
    "internal": ["0.0.0.0/8", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                 "169.254.0.0/16", "100.64.0.0/10", "::1/128", "fc00::/7", "fe80::/10",
                 "224.0.0.0/4", "ff00::/8"],
    "ssrf": {"ip_allowlist": ["10.99.0.0/16"]},
    "fetch_proxy": {"user_agent": "Pipelock Fetch/1.0",
                    "monitoring": {"max_url_length": 2048, "entropy_threshold": 4.5,
                                   "subdomain_entropy_threshold": 4.0, "max_data_per_minute": 0,
                                   "blocklist": ["*.pastebin.com"],
                                   "subdomain_entropy_exclusions": ["*.example.net"]}},
    "forward_proxy": {"max_tunnel_seconds": 300, "idle_timeout_seconds": 120,
                      "sni_verification": True},
    "dlp": {"patterns": [{"name": "Canary", "regex": "CANARY-[0-9]{6}", "severity": "high"}]},
    "request_body_scanning": {"sensitive_headers": ["Authorization", "X-Api-Key"]},
    "response_scanning": {"include_defaults": True, "exempt_domains": []},
})


def test_model_config_is_accepted(start):
    pl = start(MODEL_CONFIG)
    with urllib.request.urlopen(f"http://{pl.name}:{PORT}/health") as r:
        h = json.load(r)
    assert (h["status"], h["mode"], h["dlp_patterns"]) == ("healthy", "strict", 49)
    assert h["forward_proxy_enabled"] and h["rate_limit_enabled"]
    assert not h["request_body_scan_enabled"]


def test_product_config_is_accepted(start):
    pl = start(PRODUCT_CONFIG)
    with urllib.request.urlopen(f"http://{pl.name}:{PORT}/health") as r:
        assert r.status == 200 and r.headers["Content-Type"] == "application/json"
        h = json.load(r)
    # proxy.go:3260-3305 healthResponse
    assert set(h) == {"status", "version", "mode", "uptime_seconds", "dlp_patterns",
                      "response_scan_enabled", "git_protection_enabled", "rate_limit_enabled",
                      "forward_proxy_enabled", "websocket_proxy_enabled",
                      "request_body_scan_enabled", "tls_interception_enabled", "kill_switch_active"}
    assert (h["status"], h["mode"], h["dlp_patterns"]) == ("healthy", "strict", 49)
    assert h["forward_proxy_enabled"] and h["rate_limit_enabled"] and h["request_body_scan_enabled"]
    assert h["response_scan_enabled"] and not h["kill_switch_active"]
    # logger.go:877 LogStartup
    ev = pl.wait_event("startup")
    assert ev and ev[0]["mode"] == "strict" and ev[0]["listen"] == "0.0.0.0:8888"
    assert ev[0]["component"] == "pipelock" and ev[0]["message"] == "pipelock started"


def test_every_documented_key_is_accepted(start):
    start(ALL_DOCUMENTED_KEYS)


def test_product_config_renders_the_product_values():
    """The values docs/pipelock.md chose (src/pipelock_config.rs must render the same)."""
    c = PRODUCT_CONFIG
    assert c["fetch_proxy"] == {"timeout_seconds": 1800, "max_response_mb": 64,
                                "monitoring": {"max_requests_per_minute": 600}}
    assert c["request_body_scanning"]["max_body_bytes"] == 16 * 1024 * 1024
    assert c["request_body_scanning"]["header_mode"] == "all"
    assert c["seed_phrase_detection"] == {"enabled": True, "min_words": 24, "verify_checksum": True}
    assert c["response_scanning"]["sse_streaming"]["action"] == "warn"


@pytest.mark.parametrize("cfg,needle", [
    ({**BASE, "surprise": 1}, "field surprise not found in type config.Config"),
    (config(logging={"colour": "pink"}), "field colour not found in type config.LoggingConfig"),
    (config(fetch_proxy={"monitoring": {"max_rpm": 5}}), "field max_rpm not found in type config.Monitoring"),
    (config(response_scanning={"sse_streaming": {"max_events": 1}}),
     "field max_events not found in type config.GenericSSEScanning"),
    (config(dlp={"patterns": [{"name": "x", "regex": "y", "severity": "high", "exempt": []}]}),
     "field exempt not found in type config.DLPPattern"),
    (config(request_body_scanning={"ignored_headers": ["Authorization"]}),
     "field ignored_headers not found in type config.RequestBodyScanning"),
])
def test_unknown_key_is_a_startup_error(start, cfg, needle):
    code, pl = start(cfg, expect_fail=True)
    err = pl.stderr()
    assert code == 1, err
    assert "loading config: parsing config /etc/pipelock/pipelock.yaml: yaml: unmarshal errors:" in err
    assert needle in err


@pytest.mark.parametrize("cfg,needle", [
    (config(fetch_proxy={"timeout_seconds": "600"}), "cannot unmarshal !!str `600` into int"),
    (config(forward_proxy={"enabled": "true"}), "cannot unmarshal !!str `true` into bool"),
    (config(forward_proxy={"enabled": 1}), "cannot unmarshal !!int `1` into bool"),
    (config(logging=[]), "cannot unmarshal !!seq into config.LoggingConfig"),
    ('{"mode": "strict", "api_allowlist": ["a.test"], "mode": "balanced"}',
     'mapping key "mode" already defined at line 1'),
    (config(api_allowlist="allowed.test"), "cannot unmarshal !!str `allowed...` into []string"),
])
def test_wrong_type_is_a_startup_error(start, cfg, needle):
    code, pl = start(cfg, expect_fail=True)
    err = pl.stderr()
    assert code == 1, err
    assert "yaml: unmarshal errors" in err and needle in err


@pytest.mark.parametrize("cfg,needle", [
    ({**BASE, "api_allowlist": []}, "strict mode requires at least one domain in api_allowlist"),
    ({**BASE, "mode": "paranoid"}, 'invalid mode "paranoid": must be strict, balanced, or audit'),
    (config(request_body_scanning={"header_mode": "some"}),
     'invalid request_body_scanning.header_mode "some": must be sensitive or all'),
    (config(request_body_scanning={"action": "strip"}),
     'invalid request_body_scanning.action "strip": must be warn or block'),
    (config(request_body_scanning={"max_body_bytes": -1}),
     "request_body_scanning.max_body_bytes must be positive"),
    (config(seed_phrase_detection={"min_words": 13}),
     "invalid seed_phrase_detection.min_words 13: must be 12, 15, 18, 21, or 24"),
    (config(response_scanning={"sse_streaming": {"action": "strip"}}),
     'invalid response_scanning.sse_streaming action "strip": must be block or warn'),
    (config(response_scanning={"action": "drop"}),
     'invalid response_scanning action "drop": must be strip, warn, block, or ask'),
    ({**BASE, "trusted_domains": ["*"]}, "trusted_domains[0]: bare wildcard disables all SSRF protection"),
    ({**BASE, "trusted_domains": ["*.com"]}, "wildcard must target a concrete domain"),
    ({**BASE, "trusted_domains": ["10.0.0.1:443"]}, "use a hostname pattern, not a URL or host:port"),
    (config(ssrf={"ip_allowlist": ["10.1.2.3/8"]}), "has host bits set"),
    (config(ssrf={"ip_allowlist": ["0.0.0.0/0"]}), "is a catch-all (/0)"),
    (config(dlp={"action": "block"}), 'dlp.action "block" is not supported'),
    (config(dlp={"patterns": [{"name": "Bad", "regex": "(", "severity": "high"}]}),
     'DLP pattern "Bad" has invalid regex'),
    (config(logging={"output": "file"}), 'logging.file is required when output is "file"'),
])
def test_invalid_value_is_a_startup_error(start, cfg, needle):
    code, pl = start(cfg, expect_fail=True)
    err = pl.stderr()
    assert code == 1, err
    assert "loading config: invalid config: " in err and needle in err


def test_yaml_1_1_booleans_are_accepted_from_strings(start):
    """yaml.v3 decodes "on"/"yes"/"off"/"no" (quoted or not) into a bool field."""
    pl = start(config(forward_proxy={"enabled": "on"}, logging={"include_allowed": "yes"}))
    assert pl.request("GET", "http://allowed.test/x")[0] == 200


def test_zero_and_negative_values_take_defaults(start):
    """ApplyDefaults runs before Validate (load.go:56,112): <= 0 means the default (30 s, 10 MB,
    60/min), so a negative rate is accepted, not rejected."""
    pl = start(config(fetch_proxy={"timeout_seconds": 0, "max_response_mb": -5,
                                   "monitoring": {"max_requests_per_minute": -1}}))
    with urllib.request.urlopen(f"http://{pl.name}:{PORT}/health") as r:
        assert json.load(r)["rate_limit_enabled"] is True


def test_healthcheck_and_version_commands(start, docker):
    """cli/runtime/healthcheck.go: exit 0 on 200, 1 otherwise; cli/version.go prints on stderr."""
    pl = start(BASE)

    def one_off(cmd):
        code, c = start(BASE, cmd=cmd, expect_fail=True)
        out, err = docker.logs(c.cid)
        return code, out, err

    assert one_off(["pipelock", "healthcheck", "--addr", f"{pl.name}:{PORT}"])[0] == 0
    code, _, err = one_off(["pipelock", "healthcheck", "--addr", "bbconf-nobody.invalid:8888"])
    assert code == 1 and "health check failed" in err
    code, out, err = one_off(["pipelock", "version"])
    assert code == 0 and err.startswith("pipelock version ") and out == ""


def test_forward_proxy_disabled_answers_405(start):
    pl = start(config(forward_proxy={"enabled": False}))
    status, headers, body = pl.request("GET", "http://allowed.test/echo")
    assert (status, body) == (405, b"forward proxy not enabled\n")
    c = pl.conn()
    c.request("CONNECT", "allowed.test:443")
    r = c.getresponse()
    assert (r.status, r.read()) == (405, b"CONNECT not supported\n")
