"""Issue 11: credentials injected at the proxy (design.md "Credentials injected at the proxy").

The agent holds only placeholders. The addon swaps a placeholder for the real value only on
https requests to the credential's bound hosts, in the declared header (null scheme, Bearer,
Basic); a real credential value or a guarded secret found anywhere the addon did not put it
is refused before anything is sent; the headers pipelock skips (ignore_headers) are scanned
here with pipelock v2.3.0's default DLP patterns. Values in conftest.py have real formats.
"""

import base64
import json
import subprocess
import urllib.parse

import pytest

from conftest import (ANTHROPIC_KEY, CREDENTIALS, GIT_TOKEN, GUARDED, OAUTH_TOKEN, SECRET_VALUE, addon_config,
                      addon_env, client, fake_key)

PH = {c["name"]: c["placeholder"] for c in CREDENTIALS}


def echo(mitm, url, method="GET", **kw):
    with client(mitm) as c:
        r = c.request(method, url, **kw)
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    return {k.lower(): v for k, v in body["headers"]}, body


def basic(user, password) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- injection ------------------------------------------------------------------------------
def test_x_api_key_placeholder_injected_on_bound_host(mitm, double, origin):
    mark = len(mitm.lines())
    hdrs, _ = echo(mitm, "https://allowed.test/echo?case-x-api-key", "POST", headers={"x-api-key": PH["ANTHROPIC_API_KEY"]},
                   content=b'{"model":"claude"}')
    assert hdrs["x-api-key"] == ANTHROPIC_KEY
    line = mitm.line_for("/echo?case-x-api-key", mark)
    assert line["credential"] == "ANTHROPIC_API_KEY" and line["verdict"] == "allowed"


def test_bearer_placeholder_injected_on_bound_host(mitm, double, origin):
    hdrs, _ = echo(mitm, "https://ALLOWED.TEST./echo", headers={"Authorization": f"Bearer {PH['CLAUDE_CODE_OAUTH_TOKEN']}"})
    assert hdrs["authorization"] == f"Bearer {OAUTH_TOKEN}"


@pytest.mark.parametrize("prefix", ["token", "Token", "TOKEN", "bearer", "BeArEr"])
def test_bearer_credential_accepts_token_prefix_and_keeps_it(mitm, double, origin, prefix):
    """GitHub's gh CLI sends `Authorization: token <GH_TOKEN>`: a Bearer credential is also
    injected after `token` (any case), and the agent's prefix is kept as it wrote it."""
    case = f"/echo?case-prefix-{prefix}"
    mark = len(mitm.lines())
    hdrs, _ = echo(mitm, "https://allowed.test" + case,
                   headers={"Authorization": f"{prefix} {PH['CLAUDE_CODE_OAUTH_TOKEN']}"})
    assert hdrs["authorization"] == f"{prefix} {OAUTH_TOKEN}"
    assert mitm.line_for(case, mark)["credential"] == "CLAUDE_CODE_OAUTH_TOKEN"


@pytest.mark.parametrize("value", ["Bot {}", "tokens {}", "Basic {}", "token{}", "{}", "token  x{}"])
def test_bearer_credential_other_prefixes_pass_unchanged(mitm, double, origin, value):
    """Only `Bearer <placeholder>` and `token <placeholder>` are the placeholder form."""
    sent = value.format(PH["CLAUDE_CODE_OAUTH_TOKEN"])
    hdrs, _ = echo(mitm, "https://allowed.test/echo", headers={"Authorization": sent})
    assert hdrs["authorization"] == sent


def test_basic_placeholder_injected_like_git(mitm, double, origin):
    """git sends Basic user:password from its credential helper; curl -u does the same."""
    out = subprocess.run(["curl", "-sS", "--proxy", mitm.proxy, "--cacert", str(mitm.ca),
                          "-u", f"x-access-token:{PH['GIT_TOKEN']}", "https://other.allowed.test/echo"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    hdrs = {k.lower(): v for k, v in json.loads(out.stdout)["headers"]}
    assert hdrs["authorization"] == basic("x-access-token", GIT_TOKEN)


def test_placeholder_to_unbound_host_passes_unchanged(mitm, double, origin):
    # bound to allowed.test only: other.allowed.test gets the worthless placeholder
    hdrs, _ = echo(mitm, "https://other.allowed.test/echo",
                   headers={"x-api-key": PH["ANTHROPIC_API_KEY"]})
    assert hdrs["x-api-key"] == PH["ANTHROPIC_API_KEY"]
    hdrs, _ = echo(mitm, "https://other.allowed.test/echo",
                   headers={"Authorization": f"Bearer {PH['CLAUDE_CODE_OAUTH_TOKEN']}"})
    assert hdrs["authorization"] == f"Bearer {PH['CLAUDE_CODE_OAUTH_TOKEN']}"
    # GIT_TOKEN is bound to other.allowed.test only
    mark = len(mitm.lines())
    hdrs, _ = echo(mitm, "https://allowed.test/echo?case-unbound-basic", headers={"Authorization": basic("u", PH["GIT_TOKEN"])})
    assert hdrs["authorization"] == basic("u", PH["GIT_TOKEN"])
    line = mitm.line_for("/echo?case-unbound-basic", mark)
    assert (line["host"], line["credential"]) == ("allowed.test", None)


def test_placeholder_not_injected_in_other_places(mitm, double, origin):
    """Only the declared header: not another header, the URL, the body, or plain http."""
    hdrs, body = echo(mitm, f"https://allowed.test/echo?k={PH['ANTHROPIC_API_KEY']}", "POST",
                      headers={"X-Other": PH["ANTHROPIC_API_KEY"]}, content=PH["ANTHROPIC_API_KEY"].encode())
    assert hdrs["x-other"] == PH["ANTHROPIC_API_KEY"] and body["body"] == PH["ANTHROPIC_API_KEY"]
    assert PH["ANTHROPIC_API_KEY"] in body["path"]
    hdrs, _ = echo(mitm, "http://allowed.test/echo", headers={"x-api-key": PH["ANTHROPIC_API_KEY"]})
    assert hdrs["x-api-key"] == PH["ANTHROPIC_API_KEY"]  # never over plain http


# -- found secrets ---------------------------------------------------------------------------
def b64(s, url=False, pad=True):
    e = (base64.urlsafe_b64encode if url else base64.b64encode)(s.encode()).decode()
    return e if pad else e.rstrip("=")


LEAK_PLACES = {
    "url-raw": lambda v: dict(url=f"https://other.allowed.test/x?q={v}"),
    "url-percent": lambda v: dict(url="https://other.allowed.test/x?q=" + urllib.parse.quote(v, safe="").replace("-", "%2D")),
    "url-path-base64url": lambda v: dict(url=f"https://other.allowed.test/{b64(v, url=True, pad=False)}"),
    "custom-header": lambda v: dict(headers={"X-Debug": v}),
    "authorization-basic-to-other-host": lambda v: dict(headers={"Authorization": basic("me", v)}, host="denied.test"),
    "body-raw": lambda v: dict(content=f'{{"note": "{v}"}}'.encode()),
    "body-base64": lambda v: dict(content=b64(v).encode()),
    "body-base64url-unpadded": lambda v: dict(content=b64(v, url=True, pad=False).encode()),
    "body-base64-inside-blob": lambda v: dict(content=base64.b64encode(b"xy" + v.encode() + b"zz-tail").decode().encode()),
    "body-hex": lambda v: dict(content=v.encode().hex().encode()),
    "body-hex-upper": lambda v: dict(content=v.encode().hex().upper().encode()),
    "body-form-urlencoded": lambda v: dict(content=urllib.parse.urlencode({"token": v + " x"}).encode()),
}


def send_leak(mitm, place, value):
    kw = LEAK_PLACES[place](value)
    url = kw.pop("url", "https://other.allowed.test/upload")
    host = kw.pop("host", None)
    if host:
        url = url.replace("other.allowed.test", host)
    with client(mitm) as c:
        return c.post(url, **kw)


@pytest.mark.parametrize("place", sorted(LEAK_PLACES))
@pytest.mark.parametrize("which", ["credential", "guarded"])
def test_found_secret_refused_before_anything_is_sent(mitm, double, origin, place, which):
    before = double.settled_count()
    value = GIT_TOKEN if which == "credential" else SECRET_VALUE
    r = send_leak(mitm, place, value)
    assert r.status_code == 403, r.text
    code = "credential_leak" if which == "credential" else "secret_leak"
    assert r.headers["x-bot-bottle-block-reason"] == code
    assert r.text.startswith("blocked: bot-bottle: ") and r.text.endswith("\n")
    if which == "credential":
        assert "GIT_TOKEN" in r.text and "placeholder" in r.text  # says what to do
    assert value not in r.text
    assert double.settled_count() == before  # pipelock never saw it
    assert origin.seen()["connections"] == []


# -- percent-encoded and form-encoded values ----------------------------------------------------
# pipelock 2.3.0 does not look for percent-encoded values in bodies and headers, and its URL
# check decodes `+` to a space, so a value with `+` escapes it percent-encoded
# (docs/pipelock.md "scan_env"). The addon covers these forms. Two more values with the
# characters that matter: a credential with `+`, `/`, `=` (a base64 storage key) and a
# guarded passphrase with spaces, `+`, `/`, `@`, `=`.
STORAGE_KEY = fake_key("", 86, "storage", alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") + "=="
assert "+" in STORAGE_KEY and "/" in STORAGE_KEY
DB_PASSWORD = "c0rrect h0rse+battery/st@ple=42"
PCT_CREDENTIALS = CREDENTIALS + [
    {"name": "STORAGE_KEY", "env": "BOT_BOTTLE_CREDENTIAL_STORAGE_KEY", "value": STORAGE_KEY,
     "hosts": ["other.allowed.test"], "header": "x-storage-key", "scheme": None,
     "placeholder": "bot-bottle-placeholder-STORAGE_KEY"}]
PCT_GUARDED = GUARDED + [{"name": "DB_PASSWORD", "env": "BOT_BOTTLE_GUARDED_DB_PASSWORD", "value": DB_PASSWORD}]
PCT_VALUES = {"credential": GIT_TOKEN, "guarded": SECRET_VALUE,
              "credential-plus-slash": STORAGE_KEY, "guarded-space-plus": DB_PASSWORD}


@pytest.fixture(scope="module")
def mitm_pct(start_mitm, double):
    cfg = addon_config(double.addr, credentials=PCT_CREDENTIALS, guarded=PCT_GUARDED,
                       unscanned_headers=["authorization", "x-api-key", "x-storage-key"])
    return start_mitm(config=cfg, env=addon_env(PCT_CREDENTIALS, PCT_GUARDED), name="mitm-pct")


def pct_all(v, lower=False):
    """Every byte percent-encoded (what `encodeURIComponent` never does, but a decoder takes)."""
    return "".join(("%%%02x" if lower else "%%%02X") % b for b in v.encode())


def q(v, safe=""):
    return urllib.parse.quote(v, safe=safe)


PCT_PLACES = {
    "url-every-byte": lambda v: dict(url=f"https://other.allowed.test/x?q={pct_all(v)}"),
    "url-path-every-byte-lower": lambda v: dict(url=f"https://other.allowed.test/{pct_all(v, lower=True)}/x"),
    "url-plus-literal": lambda v: dict(url=f"https://other.allowed.test/x?q={q(v, safe='+')}"),
    "url-form-encoded": lambda v: dict(url=f"https://other.allowed.test/x?q={urllib.parse.quote_plus(v)}"),
    "url-double-encoded": lambda v: dict(url=f"https://other.allowed.test/x?q={q(q(v))}"),
    "url-base64-percent": lambda v: dict(url=f"https://other.allowed.test/x?q={q(b64(v))}"),
    "header-every-byte": lambda v: dict(headers={"X-Debug": pct_all(v)}),
    "header-plus-literal": lambda v: dict(headers={"X-Debug": q(v, safe="+")}),
    "header-form-encoded": lambda v: dict(headers={"X-Debug": urllib.parse.quote_plus(v)}),
    "header-form-minimal": lambda v: dict(headers={"X-Debug": v.replace("+", "%2B").replace(" ", "+")}),
    "header-double-encoded": lambda v: dict(headers={"X-Debug": q(q(v))}),
    "cookie-every-byte": lambda v: dict(headers={"Cookie": "sid=" + pct_all(v)}),
    "header-name-every-byte": lambda v: dict(headers={"X-" + pct_all(v): "1"}),
    "authorization-basic-percent-password": lambda v: dict(headers={"Authorization": basic("me", q(v))}, host="denied.test"),
    "body-every-byte": lambda v: dict(content=("q=" + pct_all(v)).encode()),
    "body-plus-literal": lambda v: dict(content=("q=" + q(v, safe="+")).encode()),
    "body-form-encoded": lambda v: dict(content=urllib.parse.urlencode({"q": v}).encode()),
    "body-form-minimal": lambda v: dict(content=("q=" + v.replace("+", "%2B").replace(" ", "+")).encode()),
    "body-double-encoded": lambda v: dict(content=("q=" + q(q(v))).encode()),
    "body-json-every-byte-lower": lambda v: dict(content=json.dumps({"note": pct_all(v, lower=True)}).encode(),
                                                 headers={"Content-Type": "application/json"}),
    "body-base64-plus-literal": lambda v: dict(content=("q=" + q(b64(v), safe="+")).encode()),
}


@pytest.mark.parametrize("place", sorted(PCT_PLACES))
@pytest.mark.parametrize("which", sorted(PCT_VALUES))
def test_percent_encoded_secret_refused(mitm_pct, origin, place, which):
    value = PCT_VALUES[which]
    kw = PCT_PLACES[place](value)
    url = kw.pop("url", "https://other.allowed.test/upload").replace("other.allowed.test", kw.pop("host", "other.allowed.test"))
    mark = len(mitm_pct.lines())
    with client(mitm_pct) as c:
        r = c.post(url, **kw)
    assert r.status_code == 403, r.text
    code = "credential_leak" if which.startswith("credential") else "secret_leak"
    assert r.headers["x-bot-bottle-block-reason"] == code, r.text
    assert origin.seen()["connections"] == []
    line = mitm_pct.wait_lines(mark + 1)[mark]
    assert (line["verdict"], line["by"], line["reason_code"]) == ("refused", "bot-bottle", code)
    for text in (r.text, line["reason"], line["path"]):  # neither the value nor its encoding
        assert value not in text and pct_all(value).lower() not in text.lower(), text


def test_percent_decoding_does_not_refuse_ordinary_text(mitm_pct, origin):
    """Decoding finds values, not look-alikes: encoded text that merely shares characters
    with the values passes (a base64 blob with `+`/`/`, form data, a double-encoded URL)."""
    with client(mitm_pct) as c:
        r = c.post("https://other.allowed.test/upload?next=%252Fhome%252Fuser&a=b+c",
                   headers={"X-Debug": "a%2Bb%20c", "Content-Type": "application/x-www-form-urlencoded"},
                   content=("blob=" + q(base64.b64encode(bytes(range(256)) * 4).decode(), safe="+")
                            + "&pw=c0rrect+h0rse%2Bbattery%2Fst%40ple%3D41").encode())
    assert r.status_code == 200, r.text
    assert "x-bot-bottle-block-reason" not in r.headers


def test_real_value_in_its_own_header_is_refused(mitm, double, origin):
    """The agent must never hold the real value: sending it, even to the bound host in
    the declared header, is a leak (the agent found it somewhere)."""
    with client(mitm) as c:
        r = c.get("https://allowed.test/echo", headers={"x-api-key": ANTHROPIC_KEY})
    assert r.status_code == 403 and r.headers["x-bot-bottle-block-reason"] == "credential_leak"
    assert origin.seen()["connections"] == []


def test_leak_check_runs_before_injection(mitm, double, origin):
    with client(mitm) as c:
        r = c.post("https://allowed.test/echo", headers={"x-api-key": PH["ANTHROPIC_API_KEY"]},
                   content=f"stolen={OAUTH_TOKEN}".encode())
    assert r.status_code == 403 and r.headers["x-bot-bottle-block-reason"] == "credential_leak"
    assert "CLAUDE_CODE_OAUTH_TOKEN" in r.text


# -- the headers pipelock skips -----------------------------------------------------------------
UNSCANNED_HITS = {
    "github-token-bearer": ("Authorization", "Bearer " + fake_key("ghp_", 36, "other-gh"), "GitHub Token"),
    "anthropic-key-x-api-key": ("X-Api-Key", fake_key("sk-ant-api03-", 95, "other-ant"), "Anthropic API Key"),
    "aws-in-basic": ("Authorization", basic("AKIA" + "Z7X2M5WN4TQ3EGRJ", "pw"), "AWS Access ID"),
    "jwt-bearer": ("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "JWT Token"),
}


@pytest.mark.parametrize("case", sorted(UNSCANNED_HITS))
def test_unscanned_header_scanned_by_addon(mitm, double, origin, case):
    name, value, pattern = UNSCANNED_HITS[case]
    before = double.settled_count()
    with client(mitm) as c:
        r = c.get("https://other.allowed.test/echo", headers={name: value})
    assert r.status_code == 403, r.text
    assert r.headers["x-bot-bottle-block-reason"] == "header_dlp"
    assert pattern in r.text and name in r.text
    assert double.settled_count() == before
    assert origin.seen()["connections"] == []


def test_unscanned_header_without_secret_passes(mitm, double, origin):
    hdrs, _ = echo(mitm, "https://other.allowed.test/echo", headers={"Authorization": "Bearer not-a-secret"})
    assert hdrs["authorization"] == "Bearer not-a-secret"


def test_a_refusal_that_quotes_a_value_logs_its_name(mitm, double, origin):
    """The addon's refusals quote what the agent sent (here a Host header that does not
    match the URL): the log line's reason names a guarded value instead of showing it."""
    mark = len(mitm.lines())
    with client(mitm) as c:
        r = c.get("https://allowed.test/echo?case-host-reason", headers={"Host": f"{SECRET_VALUE}.allowed.test"})
    assert r.status_code == 421 and r.headers["X-Bot-Bottle-Block-Reason"] == "host_mismatch", r.text
    line = mitm.line_for("/echo?case-host-reason", mark)
    assert line["reason_code"] == "host_mismatch", line
    assert SECRET_VALUE not in line["reason"] and f"<{GUARDED[0]['name']}>" in line["reason"], line


def test_no_value_in_mitmproxy_output(workdir, mitm):
    """Runs last in this file: nothing mitmproxy printed (request log, its own log lines)
    contains a real value, raw or base64."""
    text = "".join(p.read_text(errors="replace") for p in workdir.glob("mitm*.out")) + \
        "".join(p.read_text(errors="replace") for p in workdir.glob("mitm*.err"))
    assert text, "no mitmproxy output to check"
    for v in (ANTHROPIC_KEY, OAUTH_TOKEN, GIT_TOKEN, SECRET_VALUE, STORAGE_KEY, DB_PASSWORD):
        for form in (v, b64(v), b64(v, url=True, pad=False), pct_all(v), pct_all(v, lower=True), q(v),
                     urllib.parse.quote_plus(v), q(q(v))):
            assert form not in text, form[:12]
