"""The request log line (docs/addon.md "The request log", read by the Rust side): its keys in
order, the verdict of every kind of ending, pipelock's block texts mapped to stable codes, query
values dropped and known values redacted."""

import pytest

from bot_bottle_addon.flow_state import FlowState
from bot_bottle_addon.request_log import (PIPELOCK_DOWN_MARK, log_line, may_be_pipelock_verdict,
                                          path_without_query_values, pipelock_reason_code, verdict)
from samples import GITHUB_TOKEN, parsed

KEYS = ["bot_bottle", "v", "ts", "id", "method", "scheme", "host", "port", "path", "status", "verdict", "by",
        "reason_code", "reason", "credential", "bytes_up", "bytes_down", "duration_ms",
        "lane", "redactions", "server_egress"]


@pytest.mark.parametrize("path,logged", [
    ("/v1/messages", "/v1/messages"), ("/v1/messages?beta=true", "/v1/messages?beta="),
    ("/x?a=1&b&c=&&d=2", "/x?a=&b&c=&d="), ("/x?", "/x?"),
    ("/search?q=" + GITHUB_TOKEN, "/search?q="),
])
def test_query_values_are_dropped(path, logged):
    assert path_without_query_values(path) == logged


# pipelock v2.3.0's block texts, as the test double writes them (it follows v2.3.0's reasons
# verbatim: tests/pipelock_double/pipelock_double.py)
@pytest.mark.parametrize("text,code", [
    ("blocked: domain not in allowlist: denied.test", "allowlist"),
    ("blocked: domain blocked: evil.example matches *.evil.example", "allowlist"),
    ("blocked: request header contains secret", "header_dlp"),
    ("blocked: request body exceeds max_body_bytes (16777216)", "body_too_large"),
    ('blocked: request body uses Content-Encoding "gzip"; compressed bodies cannot be scanned for secrets', "compressed"),
    ("blocked: compressed response cannot be scanned", "compressed"),
    ("blocked: request body contains secret: Anthropic API Key, Environment Variable Leak", "body_dlp"),
    ("blocked: environment variable leak detected", "env_leak"),
    ("blocked: rate limit exceeded for api.example.com", "rate_limit"),
    ("blocked: SSRF check failed: DNS resolution error for x.example: no such host", "dns"),
    ("blocked: SSRF blocked: allowed.test resolves to internal IP 127.0.0.1", "ssrf"),
    ("blocked: response contains injection", "response_scan"),
    ("blocked: DLP match: AWS Access ID (critical)", "url_dlp"),
    ("blocked: core DLP match: GitHub Token (critical)", "url_dlp"),
    ("blocked: high entropy path segment (5.10 > 4.50 threshold)", "url_dlp"),
    ("blocked: URL length 9000 exceeds maximum 8192", "url_dlp"),
    ("blocked: something new", "other"),
])
def test_pipelock_reason_codes(text, code):
    assert pipelock_reason_code(text) == code


@pytest.mark.parametrize("status,ctype,length,buffered", [
    (403, "text/plain; charset=utf-8", "41", True), (429, "Text/Plain", "8192", True), (502, "text/plain", "12", True),
    (200, "text/plain", "12", False), (403, "application/json", "12", False), (403, "text/plain", "8193", False),
    (403, "text/plain", "", False),  # chunked: streamed
])
def test_which_answers_are_buffered_to_be_quoted(status, ctype, length, buffered):
    assert may_be_pipelock_verdict(status, ctype, length) is buffered


@pytest.mark.parametrize("refused,error,status,text,want", [
    (None, None, 200, None, ("allowed", None, None, None)),
    (("ip_literal", "blocked: bot-bottle: 10.0.0.1:443 is an IP address; use the host name"), None, 403, None,
     ("refused", "bot-bottle", "ip_literal", "blocked: bot-bottle: 10.0.0.1:443 is an IP address; use the host name")),
    (None, f"pipelock at p:8888 is unreachable (refused); {PIPELOCK_DOWN_MARK}", None, None,
     ("failed", "bot-bottle", "pipelock_unavailable", f"pipelock at p:8888 is unreachable (refused); {PIPELOCK_DOWN_MARK}")),
    (None, "Unexpected HTTP CONNECT request even though it is not running in regular mode", None, None,
     ("refused", "bot-bottle", "nested_connect", "Unexpected HTTP CONNECT request even though it is not running in regular mode")),
    (None, "peer closed connection", 200, None, ("failed", None, "connection_error", "peer closed connection")),
    (None, None, 403, "blocked: domain not in allowlist: denied.test\nmore",
     ("blocked", "pipelock", "allowlist", "blocked: domain not in allowlist: denied.test")),
    (None, None, 403, "CONNECT blocked: domain not in allowlist: x", ("blocked", "pipelock", "allowlist",
                                                                      "CONNECT blocked: domain not in allowlist: x")),
    (None, None, 502, "forward proxy fetch failed\n", ("failed", "pipelock", "fetch_failed", "forward proxy fetch failed")),
    (None, None, 403, "Forbidden by the origin\n", ("allowed", None, None, None)),  # an origin's own 403
    (None, None, 200, "blocked: looks like pipelock", ("allowed", None, None, None)),
])
def test_verdicts(refused, error, status, text, want):
    assert verdict(refused, error, status, text) == want


def state(**kw) -> FlowState:
    st = FlowState(t0=100.0, ts=1795000000.25)  # 2026-11-18T11:06:40.250Z
    for k, v in kw.items():
        setattr(st, k, v)
    return st


def test_an_allowed_line():
    st = state(method="POST", scheme="https", host="api.anthropic.com", port=443, path="/v1/messages?beta=true",
               body_len=12345, bytes_down=99, credentials=["ANTHROPIC_API_KEY"])
    line = log_line(st, "f-1", "GET", "pipelock", 200, ("allowed", None, None, None), 6789, [], 100.8124)
    assert list(line) == KEYS
    assert line == {"bot_bottle": "request", "v": 1, "ts": "2026-11-18T11:06:40.250Z", "id": "f-1",
                    "method": "POST", "scheme": "https", "host": "api.anthropic.com", "port": 443,
                    "path": "/v1/messages?beta=", "status": 200, "verdict": "allowed", "by": None,
                    "reason_code": None, "reason": None, "credential": "ANTHROPIC_API_KEY", "bytes_up": 12345,
                    "bytes_down": 6789, "duration_ms": 812.4,
                    "lane": "web", "redactions": {}, "server_egress": []}


@pytest.mark.parametrize("outcome,bytes_up", [
    (("allowed", None, None, None), 500), (("failed", "pipelock", "fetch_failed", "x"), 500),
    (("failed", None, "connection_error", "x"), 500), (("failed", "bot-bottle", "pipelock_unavailable", "x"), 0),
    (("refused", "bot-bottle", "secret_leak", "x"), 0), (("blocked", "pipelock", "body_dlp", "x"), 0),
])
def test_bytes_up_counts_only_what_went_on(outcome, bytes_up):
    line = log_line(state(body_len=500), "f", "POST", "h", 200, outcome, 0, [], 100.0)
    assert line["bytes_up"] == bytes_up


def test_a_refused_connect_line_and_redaction():
    known = parsed().known
    st = state(method="CONNECT", host=f"{GITHUB_TOKEN}.evil.example", port=443)
    reason = f"blocked: bot-bottle: the X-{GITHUB_TOKEN} header ... " + "y" * 400
    line = log_line(st, "f-2", "CONNECT", "ignored", 403, ("refused", "bot-bottle", "internal_target", reason), 0,
                    known, 100.0)
    assert line["host"] == "<GIT_TOKEN>.evil.example" and line["scheme"] is None and line["path"] is None
    assert line["reason"].startswith("blocked: bot-bottle: the X-<GIT_TOKEN> header") and len(line["reason"]) == 300
    assert GITHUB_TOKEN not in repr(line) and line["credential"] is None


def test_the_flows_own_method_and_host_fill_in():
    line = log_line(state(), "f", "GET", "api.github.com", None, ("failed", None, "connection_error", "x"), 0, [], 100.0)
    assert (line["method"], line["host"], line["status"]) == ("GET", "api.github.com", None)
