"""Credential injection: only the declared header of an https request to a bound host, and only
when it carries exactly the placeholder form, gets the real value; nothing else is rewritten."""

import base64

import pytest

from bot_bottle_addon.injection import injection_plan
from samples import ANTHROPIC_KEY, GITHUB_TOKEN, OAUTH_TOKEN, parsed

CREDS = parsed().credentials
P_API = "bot-bottle-placeholder-ANTHROPIC_API_KEY"
P_OAUTH = "bot-bottle-placeholder-CLAUDE_CODE_OAUTH_TOKEN"
P_GIT = "bot-bottle-placeholder-GIT_TOKEN"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def plan(headers, host="api.anthropic.com", scheme="https"):
    return {h: (c.name, v) for h, (c, v) in injection_plan(scheme, host, headers, CREDS).items()}


def test_plain_header_placeholder_becomes_the_value():
    assert plan([("X-Api-Key", P_API)]) == {"x-api-key": ("ANTHROPIC_API_KEY", ANTHROPIC_KEY)}
    assert plan([("x-api-key", f"  {P_API} ")]) == {"x-api-key": ("ANTHROPIC_API_KEY", ANTHROPIC_KEY)}


@pytest.mark.parametrize("word", ["Bearer", "bearer", "BEARER", "token", "Token"])
def test_bearer_keeps_the_agents_word(word):
    assert plan([("Authorization", f"{word} {P_OAUTH}")]) == {
        "authorization": ("CLAUDE_CODE_OAUTH_TOKEN", f"{word} {OAUTH_TOKEN}")}


def test_basic_swaps_the_password_and_keeps_the_user():
    got = plan([("Authorization", basic("x-access-token", P_GIT))], host="github.com")
    assert got == {"authorization": ("GIT_TOKEN", basic("x-access-token", GITHUB_TOKEN))}
    # *.github.com: a subdomain is bound too
    assert plan([("authorization", basic("git", P_GIT))], host="codeload.github.com") == {
        "authorization": ("GIT_TOKEN", basic("git", GITHUB_TOKEN))}


@pytest.mark.parametrize("headers,host,scheme", [
    ([("X-Api-Key", P_API)], "api.anthropic.com", "http"),  # plain http: never
    ([("X-Api-Key", P_API)], "evil.example", "https"),  # unbound host
    ([("X-Api-Key", P_API)], "anthropic.com", "https"),  # the apex of a bound host is another host
    ([("X-Api-Key", P_API), ("x-api-key", P_API)], "api.anthropic.com", "https"),  # repeated header
    ([("X-Api-Key", P_API + "x")], "api.anthropic.com", "https"),  # not exactly the placeholder
    ([("X-Api-Key", f"Bearer {P_API}")], "api.anthropic.com", "https"),  # plain scheme: no prefix
    ([("X-Other", P_API)], "api.anthropic.com", "https"),  # another header
    ([("Authorization", f"Basic {P_OAUTH}")], "api.anthropic.com", "https"),  # Bearer credential, Basic word
    ([("Authorization", f"Digest {P_OAUTH}")], "api.anthropic.com", "https"),
    ([("Authorization", basic("x", P_GIT + "!"))], "github.com", "https"),
    ([("Authorization", "Basic !!!notbase64")], "github.com", "https"),
    ([("Authorization", "Basic " + base64.b64encode(P_GIT.encode()).decode())], "github.com", "https"),  # no ':'
    ([("X-Api-\u212aey", P_API)], "api.anthropic.com", "https"),  # KELVIN SIGN: not the ASCII header name
])
def test_nothing_else_is_rewritten(headers, host, scheme):
    assert plan(headers, host=host, scheme=scheme) == {}


def test_one_credential_per_header():
    got = plan([("x-api-key", P_API), ("authorization", f"Bearer {P_OAUTH}")])
    assert set(got) == {"x-api-key", "authorization"}
