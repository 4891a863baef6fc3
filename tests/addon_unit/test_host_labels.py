"""Host names under a wildcard allowlist entry that carry data (hex, base32, a token split over
short labels, chains of labels, length, case), refused before any lookup; the benign corpus of
real host names (fixtures/benign_hosts.txt) all pass; the per-entry cap on new names."""

import binascii
import base64

import pytest

from bot_bottle_addon.config import ConfigError, parse_config
from bot_bottle_addon.host_labels import MAX_RANDOM_BITS, NEW_NAMES_PER_MINUTE, HostLabels, data_reason
from conftest import REPO
from samples import GITHUB_TOKEN, addon_config, addon_env

CORPUS = REPO / "tests" / "addon_unit" / "fixtures" / "benign_hosts.txt"
ALLOW = ["allowed.test", "*.allowed.test", "api.github.com", "*.githubusercontent.com"]
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def corpus():
    for line in CORPUS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            entry, host = line.split()
            yield entry, host


def test_the_corpus_is_big_and_every_name_is_under_its_entry():
    rows = list(corpus())
    assert len(rows) >= 200
    assert all(h == e[2:] or h.endswith("." + e[2:]) for e, h in rows)


@pytest.mark.parametrize("entry,host", list(corpus()))
def test_no_real_host_name_is_refused(entry, host):
    assert HostLabels.from_allowlist([entry]).shape_refusal(host, host) is None


def hex_of(text: str) -> str:
    return binascii.hexlify(text.encode()).decode()


def b32_of(text: str) -> str:
    return base64.b32encode(text.encode()).decode().rstrip("=").lower()


def chunks(s: str, n: int) -> str:
    return ".".join(s[i:i + n] for i in range(0, len(s), n))


@pytest.mark.parametrize("sub,what", [
    (hex_of("secret_api_key") + ".exfil", "hex run of 28"),  # the name
    (hex_of("aws_secret=") + ".x", "hex run of 22"),
    (b32_of("secret_api_key=1") + ".exfil", "base32/base64-like run"),
    (chunks(hex_of("AKIAIOSFODNN7EXAMPLE"), 8), "random-looking runs across"),  # split
    (chunks(GITHUB_TOKEN.lower().replace("_", ""), 6)[:41], "random-looking runs across"),
    (chunks(b32_of("my password is hunter2!"), 8), "random-looking runs across"),  # a chain
    ("73656372.65745f61.70695f6b", "can carry 91 bits"),
    ("a.b.c.d.e.f.g", "7 labels"),
    ("-".join(["data"] * 20), "characters (at most 96)"),
    ("qwrtzpsdfghjklxcvbnm", "letters without the vowels"),
    (AWS_SECRET.replace("/", "")[:20], "upper-case letters"),
    ("7" * 24, "a run of 24 digits"),
])
def test_data_in_labels_under_a_wildcard_is_refused_and_named(sub, what):
    host = f"{sub}.allowed.test"
    r = HostLabels.from_allowlist(ALLOW).shape_refusal(host, f"{host}:443")
    assert r is not None, host
    assert (r.status, r.code) == (403, "host_data")
    assert what in r.text and "*.allowed.test" in r.text and f"{host}:443" in r.text


@pytest.mark.parametrize("host", [
    "allowed.test", "api.github.com", "other.allowed.test", "denied.test",
    hex_of("secret_api_key") + ".denied.test",  # no wildcard covers it: pipelock refuses it unresolved
    "7365637265745f6170695f6b6579" + ".allowed.test.evil",
])
def test_names_no_wildcard_covers_are_not_judged(host):
    assert HostLabels.from_allowlist(ALLOW).shape_refusal(host, host) is None


def test_an_exact_entry_is_never_judged():
    host = "pub-0123456789abcdef0123456789abcdef.r2.dev"
    assert HostLabels.from_allowlist(["*.r2.dev"]).shape_refusal(host, host) is not None
    assert HostLabels.from_allowlist(["*.r2.dev", host]).shape_refusal(host, host) is None


def test_the_most_specific_entry_is_the_one_judged():
    j = HostLabels.from_allowlist(["*.amazonaws.com", "*.s3.us-east-1.amazonaws.com"])
    assert j.shape_refusal("a.b.c.d.s3.us-east-1.amazonaws.com", "x") is None  # 4 labels under the longer
    assert j.shape_refusal("a.b.c.d.e.f.g.amazonaws.com", "x") is not None


def test_at_the_limit_of_random_looking_runs():
    assert MAX_RANDOM_BITS == 88
    # two hex runs, 14 and 8 characters: 22 x 4 bits = 88, the limit
    assert data_reason("d111111abcdef8.a1b2c3d4.allowed.test", "allowed.test") is None
    r = data_reason("d111111abcdef8.a1b2c3d4e.allowed.test", "allowed.test")  # 23 x 4 = 92
    assert r is not None and "can carry 92 bits" in r


def test_new_names_per_entry_are_capped_per_minute_and_seen_names_are_free():
    j = HostLabels.from_allowlist(ALLOW)
    t = 1000.0
    for i in range(NEW_NAMES_PER_MINUTE):
        assert j.refusal(f"host{i}.allowed.test", "h", t + i) is None
    r = j.refusal("one-more.allowed.test", "one-more.allowed.test:443", t + 30)
    assert (r.status, r.code) == (429, "host_rate")
    assert dict(r.headers)["Retry-After"] == "31"
    assert "*.allowed.test" in r.text
    assert j.refusal("host3.allowed.test", "h", t + 30) is None  # seen before: no new lookup data
    assert j.refusal("api.github.com", "h", t + 30) is None  # exact entries are not counted
    assert j.refusal("x.githubusercontent.com", "h", t + 30) is None  # another entry, its own cap
    assert j.refusal("one-more.allowed.test", "h", t + 60) is None  # the first has left the window
    assert j.refusal("and-another.allowed.test", "h", t + 60.5) is not None


def test_a_refused_shape_does_not_use_the_cap():
    j = HostLabels.from_allowlist(ALLOW)
    for _ in range(50):
        assert j.refusal(hex_of("secret_api_key") + ".allowed.test", "h", 5.0).code == "host_data"
    assert j.refusal("fine.allowed.test", "h", 5.0) is None


def test_the_config_key_allowlist():
    cfg = parse_config(addon_config(allowlist=ALLOW), addon_env())
    assert cfg.host_labels.apexes == ["githubusercontent.com", "allowed.test"]
    assert parse_config(addon_config(), addon_env()).host_labels.apexes == []
    with pytest.raises(ConfigError) as e:
        parse_config(addon_config(allowlist=["ok.test", "bad host"]), addon_env())
    assert e.value.where == "allowlist[1]"
    with pytest.raises(ConfigError) as e:
        parse_config(addon_config(allowlist="*.x"), addon_env())
    assert e.value.where == "allowlist"
