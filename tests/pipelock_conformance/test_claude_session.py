"""The product's two configs (docs/pipelock.md) let a Claude-Code-shaped session through: the
model pipelock's (model_config.json) its model requests, the web pipelock's (product_config.json)
the rest, while the leak checks stay blocked. pipelock's environment carries the credentials'
real values and a guarded secret by name (scan_env), as the product passes them to both."""

from __future__ import annotations

import json
import time

from conftest import API_KEY, LEAK_TOKEN, OAUTH_TOKEN, STREAM_SECONDS, merge
from shapes import MODEL_CONFIG, PRODUCT_CONFIG, claude_messages_body, image_upload_body

ENV = {"ANTHROPIC_API_KEY": API_KEY, "CLAUDE_CODE_OAUTH_TOKEN": OAUTH_TOKEN,
       "BOTTLE_LEAK_TOKEN": LEAK_TOKEN}
MODEL_HEADERS = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01",
                 "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14",
                 "content-type": "application/json", "user-agent": "claude-cli/2.1.332 (external, cli)",
                 "x-app": "cli", "x-stainless-lang": "js", "x-stainless-retry-count": "0",
                 "x-stainless-timeout": "600", "accept": "application/json",
                 "accept-encoding": "identity"}


def stream_messages(pl, seconds, body=None, headers=None):
    c = pl.conn(timeout=seconds + 60)
    c.request("POST", f"https://api.anthropic.com/v1/messages?beta=true&seconds={seconds:g}&interval_ms=250",
              body=body or claude_messages_body(), headers=headers or MODEL_HEADERS)
    r = c.getresponse()
    assert r.status == 200, r.read()[:300]
    events, buf, t0 = [], b"", time.monotonic()
    while True:
        chunk = r.read1(65536)
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            ev, buf = buf.split(b"\n\n", 1)
            events.append(ev.decode())
    return events, time.monotonic() - t0


def test_claude_shaped_session_passes_the_model_config(start, origin):
    pl = start(MODEL_CONFIG, env=ENV)
    # connectivity check, then a streamed answer longer than pipelock's default 30 s timeout
    assert pl.request("HEAD", "https://api.anthropic.com/api/hello", headers=MODEL_HEADERS)[0] == 200
    events, took = stream_messages(pl, STREAM_SECONDS)
    names = [e.split("\n", 1)[0] for e in events]
    assert names[0] == "event: message_start" and names[-1] == "event: message_stop", names[-3:]
    assert took >= STREAM_SECONDS - 1
    deltas = [e for e in events if e.startswith("event: content_block_delta")]
    assert len(deltas) >= STREAM_SECONDS * 3
    # the OAuth credential in Authorization is accepted on the model host too
    h = {k: v for k, v in MODEL_HEADERS.items() if k != "x-api-key"}
    h["authorization"] = f"Bearer {OAUTH_TOKEN}"
    events, _ = stream_messages(pl, 1, headers=h)
    assert events[-1].startswith("event: message_stop")
    seen = [r for r in origin.seen() if r["path"].startswith("/v1/messages")]
    got = {k.lower(): v for k, v in seen[0]["headers"]}
    assert got["x-api-key"] == API_KEY                      # passed on unchanged


def test_an_agents_request_rate_passes(start):
    """More than pipelock's default 60/min to one registrable domain (anthropic.com), on each
    lane's pipelock."""
    for cfg, host in ((PRODUCT_CONFIG, "statsig.anthropic.com"), (MODEL_CONFIG, "api.anthropic.com")):
        pl = start(cfg, env=ENV)
        for i in range(90):
            status = pl.request("POST", f"https://{host}/echo", body=b'{"event":"tick"}',
                                headers={"content-type": "application/json"})[0]
            assert status == 200, (host, i)


def test_large_upload_and_real_size_english_body_pass(start, origin):
    """A 6 MB request (a long document in a Claude-shaped request: above pipelock's 5 MiB
    default, below the product's 16 MiB) and a 120 KB Claude-Code-sized body of English, on the
    web lane (which scans them) and on the model lane."""
    for cfg, host in ((PRODUCT_CONFIG, "other.allowed.test"), (MODEL_CONFIG, "api.anthropic.com")):
        _large_upload_passes(start(cfg, env=ENV), host)


def _large_upload_passes(pl, host):
    body = claude_messages_body(6 * 1024 * 1024)
    status, _, resp = pl.request("POST", f"https://{host}/upload", body=body,
                                 headers=MODEL_HEADERS, timeout=600)
    assert status == 200 and json.loads(resp)["len"] == len(body), resp[:200]
    body = claude_messages_body(120_000)
    status, _, resp = pl.request("POST", f"https://{host}/upload", body=body,
                                 headers=MODEL_HEADERS, timeout=120)
    assert status == 200, resp


def test_base64_image_upload_trips_a_core_pattern(start, origin):
    """KNOWN LIMITATION of pipelock v2.3.0 (docs/pipelock.md): every DLP regex is made
    case-insensitive (scanner.go:251) and the core patterns cannot be turned off (core.go), so
    random base64 (an image or PDF in a Messages request) matches "AWS Access ID"
    ((?i)A3T[A-Z0-9]{16,}: about 13 hits per MB) and the request is refused on the web lane. The
    model pipelock does not scan bodies: the same request passes there (the addon keeps image
    data out of its own scan)."""
    pl = start(PRODUCT_CONFIG, env=ENV)
    body = image_upload_body(1024 * 1024)
    status, _, resp = pl.request("POST", "https://other.allowed.test/upload",
                                 body=body, headers=MODEL_HEADERS, timeout=300)
    assert status == 403 and resp.startswith(b"blocked: request body contains secret: "), resp
    assert b"AWS Access ID" in resp
    assert not origin.seen()
    pl = start(MODEL_CONFIG, env=ENV)
    status, _, resp = pl.request("POST", "https://api.anthropic.com/upload",
                                 body=body, headers=MODEL_HEADERS, timeout=300)
    assert status == 200 and json.loads(resp)["len"] == len(body), resp[:200]


def test_default_seed_setting_blocks_a_claude_shaped_body(start):
    """Why the product sets min_words 24: pipelock's joined body scan sorts every JSON string,
    so a request with 12+ "type" keys has 12 consecutive "type" words, a valid 12-word BIP-39
    checksum (bodyscan.go:248-261, seedprotect/detector.go)."""
    cfg = merge(PRODUCT_CONFIG, {"seed_phrase_detection": {"min_words": 12}})
    pl = start(cfg, env=ENV)
    status, _, resp = pl.request("POST", "https://statsig.anthropic.com/upload",
                                 body=claude_messages_body(40_000), headers=MODEL_HEADERS)
    assert (status, resp) == (403, b"blocked: request body contains secret: BIP-39 Seed Phrase\n")


def test_leaks_stay_blocked_under_the_product_config(start, origin):
    pl = start(PRODUCT_CONFIG, env=ENV)
    json_h = {"content-type": "application/json"}
    cases = [
        ("GET", f"https://other.allowed.test/x?k={API_KEY}", None, {}),          # URL
        ("GET", f"https://statsig.anthropic.com/x?t={LEAK_TOKEN}", None, {}),    # URL, env
        ("POST", "https://other.allowed.test/upload",
         json.dumps({"note": API_KEY}).encode(), json_h),                       # body
        ("POST", "https://statsig.anthropic.com/upload",
         json.dumps({"note": LEAK_TOKEN}).encode(), json_h),                    # body, env
        ("GET", "https://other.allowed.test/x", None, {"X-Debug": API_KEY}),     # custom header
        ("GET", "https://other.allowed.test/x", None, {"X-Debug": OAUTH_TOKEN}),
        ("GET", "https://statsig.anthropic.com/x", None, {"X-Debug": LEAK_TOKEN}),
        ("GET", "https://denied.test/x", None, {}),                              # allowlist
        ("GET", "https://api.anthropic.com/api/hello", None, {}),                # the model lane's
    ]
    for method, url, body, headers in cases:
        status, _, resp = pl.request(method, url, body=body, headers=headers)
        assert status == 403 and resp.startswith(b"blocked: "), (url, headers, resp)
    assert not origin.seen()


def test_the_model_config_keeps_the_allowlist_and_url_checks(start, origin):
    """The model pipelock: only the model API's host; the URL scan (patterns, the environment's
    values) still blocks; bodies and headers are the addon's to judge (not scanned here)."""
    pl = start(MODEL_CONFIG, env=ENV)
    for url in ("https://statsig.anthropic.com/x", "https://other.allowed.test/x",
                "https://denied.test/x", f"https://api.anthropic.com/x?t={LEAK_TOKEN}",
                f"https://api.anthropic.com/x?k={API_KEY}"):
        status, _, resp = pl.request("GET", url)
        assert status == 403 and resp.startswith(b"blocked: "), (url, resp)
    assert not origin.seen()
    body = json.dumps({"messages": [{"role": "user", "content": f"AWS_SECRET_ACCESS_KEY={LEAK_TOKEN}"}]})
    status, _, _ = pl.request("POST", "https://api.anthropic.com/upload", body=body.encode(),
                              headers={"content-type": "application/json", "X-Debug": LEAK_TOKEN})
    assert status == 200
    assert len(origin.seen()) == 1


def test_the_agents_placeholder_lines_pass_both_configs(start, origin):
    """The product's Environment Variable Secret override: `env` output with the agent's
    placeholders passes the web pipelock's body scan; a real value in the same shape does not."""
    env_dump = ("HOME=/home/agent\nANTHROPIC_API_KEY=bot-bottle-placeholder-ANTHROPIC_API_KEY\n"
                "CLAUDE_CODE_OAUTH_TOKEN=bot-bottle-placeholder-CLAUDE_CODE_OAUTH_TOKEN\n"
                "GIT_TOKEN = bot-bottle-placeholder-GIT_TOKEN\nPATH=/usr/bin\n")
    json_h = {"content-type": "application/json"}
    pl = start(PRODUCT_CONFIG, env=ENV)
    body = json.dumps({"tool_result": env_dump}).encode()
    status, _, resp = pl.request("POST", "https://other.allowed.test/upload", body=body, headers=json_h)
    assert status == 200, resp
    real = json.dumps({"tool_result": env_dump + "DB_PASSWORD=hunter2hunter2hunter2\n"}).encode()
    status, _, resp = pl.request("POST", "https://other.allowed.test/upload", body=real, headers=json_h)
    assert (status, resp) == (403, b"blocked: request body contains secret: Environment Variable Secret\n"), resp
    # Under pipelock's own pattern the placeholder lines alone are refused.
    dflt = json.loads(json.dumps(PRODUCT_CONFIG))
    dflt["dlp"].pop("patterns")
    pl = start(dflt, env=ENV)
    status, _, resp = pl.request("POST", "https://other.allowed.test/upload", body=body, headers=json_h)
    assert status == 403 and b"Environment Variable Secret" in resp, resp


def test_an_ethereum_address_is_blocked_under_the_product_config(start, origin):
    """Issue 22: the product config adds pipelock's preset "Ethereum Address" pattern; an
    address in a query string or a body is refused, a git SHA-1 (40 hex, no 0x) is not."""
    pl = start(PRODUCT_CONFIG, env=ENV)
    address = "0x52908400098527886E0F7030069857D2E4169EE7"
    status, _, resp = pl.request("GET", f"https://other.allowed.test/pay?to={address}&amount=1")
    assert (status, resp) == (403, b"blocked: DLP match: Ethereum Address (high)\n")
    status, _, resp = pl.request("POST", "https://other.allowed.test/upload",
                                 body=json.dumps({"to": address.lower()}).encode(),
                                 headers={"content-type": "application/json"})
    assert (status, resp) == (403, b"blocked: request body contains secret: Ethereum Address\n")
    assert not origin.seen()
    status, _, _ = pl.request("GET", "https://other.allowed.test/commit/4b825dc642cb6eb9a060e54bf8d69288fbee4904")
    assert status == 200


def test_authorization_to_another_host_is_blocked_when_not_ignored(start, origin):
    """With ignore_headers [Authorization, X-Api-Key] pipelock skips those headers on every
    host: the addon must refuse a credential there itself. A bottle whose only credential goes
    in x-api-key renders ignore_headers [X-Api-Key], and then Authorization is scanned."""
    cfg = merge(PRODUCT_CONFIG, {"request_body_scanning": {"ignore_headers": ["X-Api-Key"]}})
    pl = start(cfg, env=ENV)
    for token in (API_KEY, OAUTH_TOKEN, LEAK_TOKEN):
        status, _, resp = pl.request("GET", "https://other.allowed.test/x",
                                     headers={"Authorization": f"Bearer {token}"})
        assert (status, resp) == (403, b"blocked: request header contains secret\n")
    assert pl.request("GET", "https://statsig.anthropic.com/api/hello",
                      headers={"x-api-key": API_KEY})[0] == 200
    pl2 = start(PRODUCT_CONFIG, env=ENV)
    assert pl2.request("GET", "https://other.allowed.test/x",
                       headers={"Authorization": f"Bearer {API_KEY}"})[0] == 200
    assert len(origin.seen()) == 2
