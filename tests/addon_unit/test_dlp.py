"""The DLP of the headers pipelock is told to skip: pipelock v2.3.0's default patterns and
validators on real-format keys, in the encodings an agent might send them, and which headers
are scanned at all."""

import base64
import urllib.parse

import pytest

from bot_bottle_addon.dlp import PIPELOCK_DEFAULT_DLP_PATTERNS, dlp_match, unscanned_header_refusal
from samples import ANTHROPIC_KEY, GITHUB_TOKEN, fake_key

# AWS's documented example key pair (docs.aws.amazon.com, "Managing access keys").
AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# A Stripe test secret key's shape: sk_test_ + 24 alphanumerics (built here, so no scanner
# mistakes this file for one holding a key).
STRIPE_TEST_KEY = "sk_" + "test_" + fake_key("", 24, "stripe")
PEM_HEADER = "-----BEGIN RSA PRIVATE KEY-----"
VISA_TEST_CARD = "4111 1111 1111 1111"  # luhn-valid (the card networks' test number)
AMEX_TEST_CARD = "378282246310005"
IBAN = "GB82WEST12345698765432"  # the ECBS example IBAN, mod-97 valid
WIF = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ"  # the Bitcoin wiki's example WIF key
SLACK_BOT = "xoxb-" + fake_key("", 40, "slack")


def test_the_pattern_table_is_pipelock_v2_3_0s():
    names = [p[1] for p in PIPELOCK_DEFAULT_DLP_PATTERNS]
    assert len(names) == 49 and len(set(names)) == 49  # 48 defaults + the core floor's GCP key
    validated = {p[1]: p[4] for p in PIPELOCK_DEFAULT_DLP_PATTERNS if p[4]}
    assert validated == {"Bitcoin WIF Private Key": "wif", "Credit Card Number": "luhn", "IBAN": "mod97"}


@pytest.mark.parametrize("value,pattern", [
    (ANTHROPIC_KEY, "Anthropic API Key"),
    (GITHUB_TOKEN, "GitHub Token"),
    (AWS_ACCESS_KEY_ID, "AWS Access ID"),
    (f"aws_secret_access_key={AWS_SECRET_ACCESS_KEY}", "AWS Secret Key"),
    (STRIPE_TEST_KEY, "Stripe Key"),
    (PEM_HEADER, "Private Key Header"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----", "Private Key Header"),
    (VISA_TEST_CARD, "Credit Card Number"),
    (AMEX_TEST_CARD, "Credit Card Number"),
    (IBAN, "IBAN"),
    (WIF, "Bitcoin WIF Private Key"),
    (SLACK_BOT, "Slack Token"),
    ('{"type": "service_account", "project_id": "p"}', "GCP Service Account Key"),
])
def test_real_format_secrets_match(value, pattern):
    assert dlp_match(value) == pattern
    assert dlp_match(f"Bearer {value}") == pattern


@pytest.mark.parametrize("value", [
    "4111 1111 1111 1112",  # the test card with its check digit off by one
    "GB83WEST12345698765432",  # the example IBAN with a wrong check number
    WIF[:-1] + ("U" if WIF[-1] != "U" else "V"),  # the WIF key with its checksum broken
])
def test_validators_reject_look_alikes(value):
    assert dlp_match(value) is None


@pytest.mark.parametrize("value", [
    "application/json", "Bearer bot-bottle-placeholder-CLAUDE_CODE_OAUTH_TOKEN",
    "Basic " + base64.b64encode(b"x-access-token:bot-bottle-placeholder-GIT_TOKEN").decode(),
    "6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b", "gzip, deflate, br", "en-US,en;q=0.9",
])
def test_ordinary_header_values_pass(value):
    assert dlp_match(value) is None


@pytest.mark.parametrize("encode", [
    lambda k: "Basic " + base64.b64encode(f"x-access-token:{k}".encode()).decode(),
    lambda k: "Basic " + base64.urlsafe_b64encode(f"x-access-token:{k}".encode()).decode().rstrip("="),
    lambda k: urllib.parse.quote(k, safe=""),
    lambda k: "".join(f"%{b:02X}" for b in k.encode()),  # every byte percent-encoded
    lambda k: urllib.parse.quote(urllib.parse.quote(k, safe=""), safe=""),  # twice
    lambda k: k[:6] + "\u200b" + k[6:],  # a zero-width space inside
    lambda k: k.translate({ord(c): ord(c) + 0xFEE0 for c in "abcdefghijklmnop"}),  # fullwidth letters (NFKC)
    lambda k: k.encode().hex(),
], ids=["basic", "basic-url-alphabet", "percent", "percent-all", "percent-twice", "zero-width", "fullwidth", "hex"])
def test_encoded_forms_of_a_key_match(encode):
    assert dlp_match(encode(GITHUB_TOKEN)) == "GitHub Token"


# -- which headers the addon scans ------------------------------------------------------------
UNSCANNED = frozenset({"authorization", "x-api-key"})


def test_an_unscanned_header_with_a_secret_is_refused_naming_header_and_pattern():
    r = unscanned_header_refusal([("Accept", "*/*"), ("X-Api-Key", STRIPE_TEST_KEY)], UNSCANNED, {}, [])
    assert (r.status, r.code) == (403, "header_dlp")
    assert r.text == ("blocked: bot-bottle: the X-Api-Key header contains a secret (Stripe Key) and bot-bottle "
                      "did not put it there; do not send credentials yourself; declare them as bottle credentials\n")
    assert STRIPE_TEST_KEY not in r.text


def test_scanned_headers_are_left_to_pipelock():
    assert unscanned_header_refusal([("X-Debug", STRIPE_TEST_KEY)], UNSCANNED, {}, []) is None


def test_a_header_the_addon_injected_into_is_not_scanned():
    headers = [("authorization", f"Bearer {GITHUB_TOKEN}")]
    assert unscanned_header_refusal(headers, UNSCANNED, {"authorization": object()}, []) is None
    assert unscanned_header_refusal(headers, UNSCANNED, {}, []).code == "header_dlp"


def test_placeholders_are_removed_before_matching():
    placeholder = "sk-ant-api03-placeholder-ANTHROPIC_API_KEY"  # a placeholder that looks like a key
    headers = [("x-api-key", placeholder)]
    assert dlp_match(placeholder) == "Anthropic API Key"
    assert unscanned_header_refusal(headers, UNSCANNED, {}, [placeholder]) is None


def test_every_value_of_a_repeated_header_is_scanned():
    headers = [("Authorization", "Bearer bot-bottle-placeholder-X"), ("authorization", f"token {GITHUB_TOKEN}")]
    r = unscanned_header_refusal(headers, UNSCANNED, {}, ["bot-bottle-placeholder-X"])
    assert r is not None and "the authorization header" in r.text
