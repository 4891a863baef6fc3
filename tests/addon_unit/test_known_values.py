"""Known values (credentials' real values, guarded secrets): found in every place of a request and
in its encodings, named by place in the refusal, and redacted from what is logged."""

import base64
import urllib.parse

import pytest

from bot_bottle_addon.known_values import find_known, known_places, leak_refusal, redact
from samples import ANTHROPIC_KEY, GITHUB_TOKEN, GUARDED_VALUE, parsed

CFG = parsed()
URL = b"https://api.anthropic.com/v1/messages?beta=true"
HEADERS = [(b"Host", b"api.anthropic.com"), (b"x-api-key", b"bot-bottle-placeholder-ANTHROPIC_API_KEY"),
           (b"content-type", b"application/json")]
BODY = b'{"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hello"}]}'


def search(url=URL, headers=HEADERS, body=BODY):
    hit = find_known(CFG.known, known_places(url, headers, body))
    return None if hit is None else (hit[0].name, hit[1])


def test_an_ordinary_request_has_no_known_value():
    assert search() is None


@pytest.mark.parametrize("url", [
    URL + b"&key=" + ANTHROPIC_KEY.encode(),
    b"https://api.anthropic.com/" + urllib.parse.quote(ANTHROPIC_KEY, safe="").encode(),
    b"https://api.anthropic.com/?k=" + urllib.parse.quote(urllib.parse.quote(ANTHROPIC_KEY, safe=""), safe="").encode(),
    b"https://api.anthropic.com/?k=" + base64.b64encode(ANTHROPIC_KEY.encode()),
    b"https://api.anthropic.com/?k=" + base64.b32encode(ANTHROPIC_KEY.encode()).rstrip(b"="),
])
def test_a_credential_in_the_url(url):
    assert search(url=url) == ("ANTHROPIC_API_KEY", "URL")


@pytest.mark.parametrize("headers,where", [
    ([(b"X-Debug", ANTHROPIC_KEY.encode())], "header X-Debug"),
    ([(b"X-Debug", b"k=" + urllib.parse.quote_plus("a b " + GUARDED_VALUE).encode())], "header X-Debug"),
    ([(b"X-" + GITHUB_TOKEN.encode(), b"1")], "a header name"),
    ([(b"X-Debug", GITHUB_TOKEN.encode().hex().encode())], "header X-Debug"),
    ([(b"X_D\xc3\xa9bug", GUARDED_VALUE.encode())], "a header"),  # not plain letters/digits/-: not quoted
    ([(b"Authorization", b"Basic " + base64.b64encode(b"x-access-token:" + GITHUB_TOKEN.encode()))],
     "header Authorization"),
])
def test_a_known_value_in_headers(headers, where):
    hit = search(headers=HEADERS + headers)
    assert hit is not None and hit[1] == where


def test_basic_credentials_are_decoded_even_when_their_encoding_is_not_the_values():
    # "user:" shifts the value's base64 alignment; the decoded user:password still carries it
    for user in (b"a", b"ab", b"abc"):
        basic = b"Basic " + base64.b64encode(user + b":" + urllib.parse.quote(GUARDED_VALUE + " x").encode())
        assert search(headers=[(b"Authorization", basic)]) is not None


@pytest.mark.parametrize("body", [
    b'{"note": "' + GUARDED_VALUE.encode() + b'"}',
    b"note=" + urllib.parse.quote_plus("my " + GUARDED_VALUE).encode(),
    b"note=" + urllib.parse.quote(urllib.parse.quote(GUARDED_VALUE + "/x", safe=""), safe="").encode(),
    b'{"blob": "' + base64.b64encode(b'{"k": "' + GUARDED_VALUE.encode() + b'"}') + b'"}',
])
def test_a_guarded_value_in_the_body(body):
    assert search(body=body) == ("LEAK_TOKEN", "body")


def test_the_first_place_is_named():
    hit = search(url=URL + b"&k=" + ANTHROPIC_KEY.encode(), body=GUARDED_VALUE.encode())
    assert hit == ("ANTHROPIC_API_KEY", "URL")


def test_no_known_values_no_search():
    assert find_known([], known_places(URL + ANTHROPIC_KEY.encode(), HEADERS, BODY)) is None


def test_leak_refusals_say_what_to_do():
    cred = next(k for k in CFG.known if k.name == "GIT_TOKEN")
    r = leak_refusal(cred, "body", CFG.credentials)
    assert (r.status, r.code) == (403, "credential_leak")
    assert r.text == ("blocked: bot-bottle: the request carries the real value of credential GIT_TOKEN (body), "
                      "which the agent must never hold; send the placeholder in $GIT_TOKEN instead; bot-bottle "
                      "puts the real value into the authorization header of requests to github.com, *.github.com\n")
    guarded = next(k for k in CFG.known if k.kind == "guarded")
    r = leak_refusal(guarded, "header X-Debug", CFG.credentials)
    assert (r.status, r.code) == (403, "secret_leak")
    assert "secret LEAK_TOKEN (header X-Debug)" in r.text
    assert GUARDED_VALUE not in r.text and GITHUB_TOKEN not in r.text


# -- redaction of what is logged --------------------------------------------------------------------
@pytest.mark.parametrize("text,logged", [
    (f"/v1/{GITHUB_TOKEN}/x", "/v1/<GIT_TOKEN>/x"),
    (f"/v1/{urllib.parse.quote(GUARDED_VALUE + '/')}", "/v1/<LEAK_TOKEN>/"),
    ("/v1/" + urllib.parse.quote("".join(f"%{b:02X}" for b in GUARDED_VALUE.encode()), safe="") + "%2Fx",
     "/v1/<LEAK_TOKEN>/x"),  # every byte encoded, twice: logged decoded
    (f"/a/{GITHUB_TOKEN}/b/{ANTHROPIC_KEY}", "/a/<GIT_TOKEN>/b/<ANTHROPIC_API_KEY>"),
    ("/v1/messages?beta=", "/v1/messages?beta="),
    ("/v1/%2Fmessages", "/v1/%2Fmessages"),  # nothing known: left as sent
])
def test_redaction(text, logged):
    assert redact(text, CFG.known) == logged


def test_redaction_without_values_or_text():
    assert redact(f"/{GITHUB_TOKEN}", []) == f"/{GITHUB_TOKEN}"
    assert redact(None, CFG.known) is None and redact("", CFG.known) == ""
