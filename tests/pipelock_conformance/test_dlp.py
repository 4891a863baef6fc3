"""DLP on URLs, headers and bodies (internal/scanner/scanner.go checkDLP/checkEntropy,
text_dlp.go ScanTextForDLP, internal/proxy/bodyscan.go), environment secrets and seed phrases."""

from __future__ import annotations

import base64
import gzip
import json
import math
import urllib.parse

import pytest

from conftest import API_KEY, BASE, GITHUB_TOKEN, LEAK_TOKEN, OAUTH_TOKEN, config

ENV = {"BOTTLE_LEAK_TOKEN": LEAK_TOKEN, "BOTTLE_OTHER_TOKEN": LEAK_TOKEN.replace("+", "~")}
BLOCKING = config(request_body_scanning={"action": "block"})
ALL_HEADERS = config(request_body_scanning={"action": "block", "header_mode": "all",
                                            "ignore_headers": ["authorization", "X-API-KEY"]})
# BIP-39 test vectors (valid checksums): 12 and 24 words.
SEED12 = " ".join(["abandon"] * 11 + ["about"])
SEED24 = " ".join(["abandon"] * 23 + ["art"])


def entropy(s):
    n = len(s)
    return -sum(s.count(c) / n * math.log2(s.count(c) / n) for c in set(s))


@pytest.mark.parametrize("url,reason", [
    (f"http://allowed.test/x?key={API_KEY}", "DLP match: Anthropic API Key (critical)"),
    (f"http://allowed.test/{GITHUB_TOKEN}/x", "core DLP match: GitHub Token (critical)"),
    (f"http://allowed.test/x?t={LEAK_TOKEN}", "environment variable leak detected"),
    (f"http://allowed.test/x?t={urllib.parse.quote(LEAK_TOKEN.replace('+', '~'), safe='')}",
     "environment variable leak detected"),
    # checkSecretsInURL decodes the whole URL with IterativeDecode (QueryUnescape until stable):
    # an encoded '+' comes back as a space, so a secret with '+' is not found percent-encoded;
    # here the entropy check stops it instead (scanner.go:1611-1613, 1097-1106)
    (f"http://allowed.test/x?t={urllib.parse.quote(LEAK_TOKEN, safe='')}",
     'high entropy query param "t" (5.00 > 4.50 threshold)'),
    ("http://allowed.test/x?t=" + base64.b64encode(LEAK_TOKEN.encode()).decode(),
     "environment variable leak detected (base64-encoded)"),
    ("http://allowed.test/x?t=" + LEAK_TOKEN.encode().hex(), "environment variable leak detected (hex-encoded)"),
    ("http://allowed.test/x?w=" + urllib.parse.quote(SEED12), "DLP match: BIP-39 Seed Phrase (critical)"),
    ("http://allowed.test/x?password=hunter22", "DLP match: Credential in URL (high)"),
    ("http://allowed.test/a/../etc/passwd", "path traversal sequence in URL"),
    ("http://allowed.test/x?a=%0d%0aSet-Cookie:x", "CRLF injection sequence in URL"),
])
def test_url_dlp_blocks_with_pipelocks_reasons(start, origin, url, reason):
    pl = start(BASE, env=ENV)
    status, headers, body = pl.request("GET", url)
    assert (status, body.decode()) == (403, f"blocked: {reason}\n")
    assert not origin.seen()
    ev = pl.wait_event("blocked")
    assert ev and ev[0]["reason"] == reason
    if ev[0]["scanner"] in ("dlp",):            # logger.go:521 content scanners: URL redacted
        assert ev[0]["url"] == "http://allowed.test/[redacted]"


def test_url_entropy_and_length(start):
    pl = start(BASE)
    value = "Zq8xK2mP9vL4wN7rT1yB6cJ3hF5dG0sA"
    assert len(value) >= 20 and entropy(value) > 4.5
    status, _, body = pl.request("GET", f"http://allowed.test/x?q={value}")
    assert (status, body.decode()) == (
        403, f'blocked: high entropy query param "q" ({entropy(value):.2f} > 4.50 threshold)\n')
    status, _, body = pl.request("GET", f"http://allowed.test/{value}")
    assert (status, body.decode()) == (
        403, f"blocked: high entropy path segment ({entropy(value):.2f} > 4.50 threshold)\n")
    ok = "aaaaaaaaaabbbbbbbbbbcccccccccc"            # long but low entropy
    assert pl.request("GET", f"http://allowed.test/x?q={ok}")[0] == 200
    long_url = "http://allowed.test/" + "ab/" * 700
    status, _, body = pl.request("GET", long_url)
    assert (status, body.decode()) == (403, f"blocked: URL length {len(long_url)} exceeds maximum 2048\n")


def test_sensitive_header_mode_is_the_default(start, origin):
    pl = start(BLOCKING, env=ENV)
    status, headers, body = pl.request("GET", "http://allowed.test/x",
                                       headers={"Authorization": f"Bearer {OAUTH_TOKEN}"})
    assert (status, body) == (403, b"blocked: request header contains secret\n")
    ev = pl.wait_event("header_dlp")
    assert ev and (ev[0]["header"], ev[0]["action"], ev[0]["patterns"]) == \
        ("Authorization", "block", ["Anthropic API Key"])
    status, _, _ = pl.request("GET", "http://allowed.test/x", headers={"x-api-key": API_KEY})
    assert status == 403
    # a custom header is not in the default sensitive list: it passes
    assert pl.request("GET", "http://allowed.test/x", headers={"X-Debug": API_KEY})[0] == 200
    assert pl.request("GET", "http://allowed.test/x", headers={"X-Debug": LEAK_TOKEN})[0] == 200


def test_warn_action_logs_header_and_body_hits_but_passes(start):
    pl = start(BASE, env=ENV)     # request_body_scanning.action defaults to warn
    assert pl.request("POST", "http://allowed.test/echo", body=f"k={LEAK_TOKEN}",
                      headers={"Authorization": f"Bearer {API_KEY}",
                               "Content-Type": "text/plain"})[0] == 200
    assert pl.wait_event("header_dlp", action="warn")
    assert pl.wait_event("body_dlp", action="warn")


def test_all_header_mode_scans_custom_headers_and_honours_ignore_case_insensitively(start, origin):
    pl = start(ALL_HEADERS, env=ENV)
    for name in ("Authorization", "AUTHORIZATION", "x-api-key", "X-Api-Key"):
        assert pl.request("GET", "http://allowed.test/x",
                          headers={name: f"Bearer {API_KEY} {LEAK_TOKEN}"})[0] == 200, name
    for name, value in (("X-Debug", API_KEY), ("X-Debug", LEAK_TOKEN), ("Cookie", f"s={LEAK_TOKEN}"),
                        ("User-Agent", API_KEY),
                        ("X-Debug", base64.b64encode(LEAK_TOKEN.encode()).decode())):
        status, _, body = pl.request("GET", "http://allowed.test/x", headers={name: value})
        assert (status, body) == (403, b"blocked: request header contains secret\n"), (name, value)
    ev = pl.wait_event("header_dlp", header="X-Debug")
    assert ev and ev[0]["patterns"] in (["Anthropic API Key"], ["Environment Variable Leak"])
    # header names are scanned too in "all" mode
    status, _, _ = pl.request("GET", "http://allowed.test/x", headers={f"X-{GITHUB_TOKEN}": "1"})
    assert status == 403


@pytest.mark.parametrize("body,ctype,names", [
    (json.dumps({"prompt": f"here is the key {API_KEY}"}), "application/json", "Anthropic API Key"),
    (json.dumps({"k": LEAK_TOKEN}), "application/json", "Environment Variable Leak"),
    (json.dumps({"k": LEAK_TOKEN.encode().hex()}), "application/json", "Environment Variable Leak"),
    (json.dumps({"k": base64.urlsafe_b64encode(LEAK_TOKEN.encode()).decode().rstrip("=")}),
     "application/json", "Environment Variable Leak"),
    (f"token={GITHUB_TOKEN}", "application/x-www-form-urlencoded", "GitHub Token"),
    (f"plain text {GITHUB_TOKEN}", "application/octet-stream", "GitHub Token"),
    (json.dumps({"words": SEED12}), "application/json", "BIP-39 Seed Phrase"),
])
def test_body_dlp_blocks(start, origin, body, ctype, names):
    pl = start(BLOCKING, env=ENV)
    status, headers, resp = pl.request("POST", "http://allowed.test/upload", body=body.encode(),
                                       headers={"Content-Type": ctype})
    assert (status, resp.decode()) == (403, f"blocked: request body contains secret: {names}\n")
    assert not origin.seen()
    ev = pl.wait_event("body_dlp")
    assert ev and ev[0]["action"] == "block" and ev[0]["patterns"] == [names]
    assert ev[0]["match_count"] == 1 and ev[0]["mitre_technique"] == "T1048"


def test_url_encoded_env_secret_in_a_body_is_not_found(start, origin):
    """ScanTextForDLP checks env values raw, base64, hex and base32, not percent-encoded
    (text_dlp.go:203): the addon has to cover that form itself."""
    pl = start(BLOCKING, env=ENV)
    enc = urllib.parse.quote(LEAK_TOKEN, safe="")
    assert enc != LEAK_TOKEN
    status, _, _ = pl.request("POST", "http://allowed.test/upload", body=f"v={enc}".encode(),
                              headers={"Content-Type": "text/plain"})
    assert status == 200


def test_seed_phrase_min_words_24(start):
    pl = start(config(request_body_scanning={"action": "block"},
                      seed_phrase_detection={"min_words": 24}))
    ok = pl.request("POST", "http://allowed.test/upload", body=SEED12.encode(),
                    headers={"Content-Type": "text/plain"})
    assert ok[0] == 200
    status, _, body = pl.request("POST", "http://allowed.test/upload", body=SEED24.encode(),
                                 headers={"Content-Type": "text/plain"})
    assert (status, body) == (403, b"blocked: request body contains secret: BIP-39 Seed Phrase\n")


def test_body_fail_closed_cases(start, origin):
    pl = start(BLOCKING)
    status, _, body = pl.request("POST", "http://allowed.test/upload", body=b"{not json",
                                 headers={"Content-Type": "application/json"})
    assert (status, body) == (403, b"blocked: invalid JSON body\n")
    status, _, body = pl.request("POST", "http://allowed.test/upload", body=gzip.compress(b"hi"),
                                 headers={"Content-Encoding": "gzip"})
    assert (status, body) == (403, b'blocked: request body uses Content-Encoding "gzip"; compressed '
                                   b"bodies cannot be scanned for secrets\n")
    ev = pl.wait_event("blocked", scanner="body_dlp")
    assert ev and ev[0]["reason"] == "invalid JSON body"
    assert not origin.seen()


def test_max_body_bytes_default_is_5_mib(start, origin):
    pl = start(BLOCKING)
    words = (b"hello world " * (6 * 1024 * 1024 // 12 + 1))
    at_limit = words[:5 * 1024 * 1024]
    status, _, body = pl.request("POST", "http://allowed.test/upload", body=at_limit,
                                 headers={"Content-Type": "text/plain"}, timeout=180)
    assert status == 200 and json.loads(body)["len"] == len(at_limit)
    status, _, body = pl.request("POST", "http://allowed.test/upload", body=words[:5 * 1024 * 1024 + 1],
                                 headers={"Content-Type": "text/plain"}, timeout=180)
    assert (status, body) == (403, b"blocked: request body exceeds max_body_bytes (5242880)\n")
    assert len(origin.seen()) == 1


def test_enforce_false_logs_instead_of_blocking(start):
    pl = start({**BLOCKING, "enforce": False}, env=ENV)
    assert pl.request("GET", "http://denied.test/x")[0] != 403
    assert pl.request("GET", f"http://allowed.test/x?t={LEAK_TOKEN}")[0] == 200
    assert pl.wait_event("anomaly", scanner="allowlist")
