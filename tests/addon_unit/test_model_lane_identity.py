"""Identity pinning (model_lane/identity.py): on a provider host only the bottle's own credential's
placeholder form passes in the headers that carry an identity, whatever another value looks like;
a login from inside the bottle is refused on any lane."""

import json

import pytest

from bot_bottle_addon.model_lane.identity import identity_refusal, login_refusal
from model_samples import model_parsed
from samples import ANTHROPIC_KEY, CREDENTIALS, fake_key

CFG = model_parsed()
LANE = CFG.model_lane
PROV = LANE.providers[0]
HOST = "api.anthropic.com"
OTHER_ANTHROPIC = fake_key("sk-ant-api03-", 93, "another account", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") + "AA"
OTHER_OAUTH = fake_key("sk-ant-oat01-", 95, "another oauth", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def judge(headers, creds=None):
    return identity_refusal(PROV, HOST, headers, CFG.credentials if creds is None else creds)


@pytest.mark.parametrize("headers", [
    [("x-api-key", "bot-bottle-placeholder-ANTHROPIC_API_KEY")],
    [("X-Api-Key", "bot-bottle-placeholder-ANTHROPIC_API_KEY"), ("anthropic-version", "2023-06-01")],
    [("Authorization", "Bearer bot-bottle-placeholder-CLAUDE_CODE_OAUTH_TOKEN")],
    [("authorization", "bearer bot-bottle-placeholder-CLAUDE_CODE_OAUTH_TOKEN"), ("anthropic-beta", "oauth-2025-04-20")],
    [("content-type", "application/json")],  # no identity at all: the provider answers 401
], ids=["x-api-key", "x-api-key any case", "bearer", "bearer lower case", "none"])
def test_the_bottles_own_placeholders_pass(headers):
    assert judge(headers) is None


@pytest.mark.parametrize("headers,header", [
    ([("x-api-key", OTHER_ANTHROPIC)], "x-api-key"),  # another account's key
    ([("x-api-key", ANTHROPIC_KEY)], "x-api-key"),  # even the bottle's own real value (the agent never holds it)
    ([("x-api-key", "k3y-" + "q" * 40)], "x-api-key"),  # an opaque key no DLP pattern knows
    ([("Authorization", f"Bearer {OTHER_OAUTH}")], "authorization"),
    ([("Authorization", "Bearer opaque.session.token.of.someone.else")], "authorization"),
    ([("Authorization", "Basic dXNlcjpwYXNz")], "authorization"),
    ([("authorization", "bot-bottle-placeholder-CLAUDE_CODE_OAUTH_TOKEN")], "authorization"),  # no Bearer: not the form
    ([("x-api-key", "bot-bottle-placeholder-CLAUDE_CODE_OAUTH_TOKEN")], "x-api-key"),  # another credential's placeholder
    ([("x-api-key", "bot-bottle-placeholder-ANTHROPIC_API_KEY"),
      ("x-api-key", "bot-bottle-placeholder-ANTHROPIC_API_KEY")], "x-api-key"),  # twice: never injected
    ([("x-api-key", "bot-bottle-placeholder-ANTHROPIC_API_KEY"),
      ("Authorization", f"Bearer {OTHER_OAUTH}")], "authorization"),  # a second identity beside ours
    ([("x-api-key", "")], "x-api-key"),
], ids=["other account", "own real value", "opaque", "other oauth", "opaque bearer", "basic", "no scheme",
        "other placeholder", "repeated", "two identities", "empty"])
def test_any_other_identity_is_refused_whatever_its_format(headers, header):
    r = judge(headers)
    assert r is not None and (r.status, r.code) == (403, "model_identity")
    assert f"the {header} header" in r.text
    for _, v in headers:  # the value is never quoted
        if len(v) > 10:
            assert v not in r.text and v not in r.body.decode()
    err = json.loads(r.body)
    assert err["type"] == "error" and err["error"]["type"] == "permission_error"
    assert err["error"]["message"] == r.text.strip()
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["X-Bot-Bottle-Block-Reason"] == "model_identity"


def test_without_a_model_credential_every_identity_is_refused():
    git_only = [c for c in CFG.credentials if c.name == "GIT_TOKEN"]
    assert judge([("x-api-key", "bot-bottle-placeholder-ANTHROPIC_API_KEY")], git_only).code == "model_identity"
    assert judge([("Authorization", f"Bearer {OTHER_OAUTH}")], git_only).code == "model_identity"
    assert judge([("accept", "application/json")], git_only) is None


def test_an_identity_header_configured_for_the_provider_is_judged():
    from dataclasses import replace
    prov = replace(PROV, identity_headers=PROV.identity_headers + ("cookie",))
    r = identity_refusal(prov, HOST, [("Cookie", "sessionKey=sk-ant-sid01-abc")], CFG.credentials)
    assert r.code == "model_identity" and "the cookie header" in r.text
    assert judge([("Cookie", "sessionKey=sk-ant-sid01-abc")]) is None  # not configured: not an identity header


@pytest.mark.parametrize("host,path", [("platform.claude.com", "/v1/oauth/token"),
                                       ("console.anthropic.com", "/v1/oauth/token?grant_type=x"),
                                       ("PLATFORM.claude.com.", "/v1/oauth/token"),
                                       ("platform.claude.com", "/v1/oauth/%74oken"),
                                       ("platform.claude.com", "/v1/oauth/%2574oken"),
                                       ("platform.claude.com", "//v1/./oauth/x/../token/"),
                                       ("platform.claude.com", "/v1/oauth%2Ftoken"),
                                       ("platform.claude.com", "/V1/OAuth/Token"),
                                       ("platform.claude.com", "/v1/%00/token"),
                                       ("platform.claude.com", "/%25252525252574")])
def test_login_is_refused_pointing_at_the_host_token(host, path):
    r = login_refusal(LANE, host, path)
    assert (r.status, r.code) == (403, "model_login")
    assert "claude setup-token" in r.text and "CLAUDE_CODE_OAUTH_TOKEN" in r.text


@pytest.mark.parametrize("host,path", [("platform.claude.com", "/"), ("api.anthropic.com", "/v1/oauth/token"),
                                       ("claude.ai", "/v1/oauth/token")])
def test_other_paths_are_not_a_login(host, path):
    assert login_refusal(LANE, host, path) is None


def test_credentials_sample_is_what_the_product_binds():
    assert {c["name"] for c in CREDENTIALS} >= {"ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"}
