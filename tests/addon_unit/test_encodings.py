"""Encodings: request bodies decoded (gzip, x-gzip, zlib and raw deflate) up to the limit and a
compression bomb refused without inflating it; percent/form decodings; and the encoded forms a
known value is searched for."""

import base64
import gzip
import json
import re
import tracemalloc
import urllib.parse
import zlib

import pytest

from bot_bottle_addon.encodings import (MIN_SCAN_LEN, BadEncoding, decode_request_body, encoded_forms,
                                        percent_decodings)
from samples import ANTHROPIC_KEY, GUARDED_VALUE

LIMIT = 16 * 1024 * 1024
# What Claude Code sends, roughly: a JSON messages request.
BODY = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 1024,
                   "messages": [{"role": "user", "content": "Summarise README.md " * 50}]}).encode()


def raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize("coding,encoded", [
    ("gzip", gzip.compress(BODY)), ("x-gzip", gzip.compress(BODY)), (" GZIP ", gzip.compress(BODY)),
    ("deflate", zlib.compress(BODY)), ("deflate", raw_deflate(BODY)),
])
def test_compressed_bodies_decode(coding, encoded):
    assert decode_request_body(coding, encoded, LIMIT) == BODY


def test_a_body_of_exactly_the_limit_decodes():
    assert decode_request_body("gzip", gzip.compress(b"a" * 1000), 1000) == b"a" * 1000


def test_a_compression_bomb_is_refused_without_inflating_it():
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)  # 64 MiB of zeros in ~64 KiB
    assert len(bomb) < 128 * 1024
    limit = 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(BadEncoding) as ei:
            decode_request_body("gzip", bomb, limit)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * limit, f"decoding allocated {peak} bytes for a {limit}-byte limit"
    r = ei.value.refusal
    assert (r.status, r.code) == (413, "body_too_large")
    assert f"decompresses to more than the bottle's limit of {limit} bytes" in r.text


def test_a_deflate_bomb_is_refused_too():
    with pytest.raises(BadEncoding) as ei:
        decode_request_body("deflate", raw_deflate(b"\0" * (2 * 1024 * 1024)), 1024 * 1024)
    assert ei.value.refusal.code == "body_too_large"


@pytest.mark.parametrize("coding", ["br", "zstd", "gzip, br", "compress", "identity, gzip"])
def test_other_codings_are_refused_with_415(coding):
    with pytest.raises(BadEncoding) as ei:
        decode_request_body(coding, b"\x1b\x00", LIMIT)
    r = ei.value.refusal
    assert (r.status, r.code) == (415, "unsupported_encoding") and repr(coding) in r.text


@pytest.mark.parametrize("coding,data", [
    ("gzip", b"this is not gzip"),
    ("gzip", gzip.compress(BODY)[:-10]),  # truncated
    ("gzip", gzip.compress(BODY) + b"trailing"),  # data after the stream
    ("deflate", b"\x00\x01\x02garbage"),
])
def test_broken_data_is_refused_with_400(coding, data):
    with pytest.raises(BadEncoding) as ei:
        decode_request_body(coding, data, LIMIT)
    r = ei.value.refusal
    assert (r.status, r.code) == (400, "bad_encoding") and f"not valid {coding} data" in r.text


# -- percent decodings ------------------------------------------------------------------------------
def test_no_percent_no_plus_no_decodings():
    assert list(percent_decodings("/v1/messages", 3)) == []
    assert list(percent_decodings(b"plain body", 2)) == []


def test_url_and_form_decodings():
    # %2B is `+`: as a URL it stays `+`, as a form the second round turns it into a space
    assert list(percent_decodings("a%2Bb+c", 1)) == ["a+b+c", "a+b c"]
    assert list(percent_decodings("a%2Bb", 2)) == ["a+b", "a b"]


def test_depth_limits_the_rounds():
    value = "tOk3n/9f8A+7b6=C5d4 E3f2"
    twice = urllib.parse.quote(urllib.parse.quote(value, safe=""), safe="")
    assert value not in list(percent_decodings(twice, 1))
    assert value in list(percent_decodings(twice, 2))
    assert list(percent_decodings(twice, 0)) == []


def test_bytes_stay_bytes_and_bad_utf8_survives():
    out = list(percent_decodings(b"%ff%41", 1))
    assert out == [b"\xffA"]
    assert list(percent_decodings("%ff", 1)) == ["\udcff"]  # str: undecodable bytes kept (surrogateescape)


# -- encoded forms of a value -----------------------------------------------------------------------
def forms(value: str) -> set[bytes]:
    return set(encoded_forms(value))


def test_encoded_forms_cover_the_encodings_an_agent_might_use():
    v = GUARDED_VALUE
    f = forms(v)
    assert v.encode() in f
    assert v.encode().hex().encode() in f and v.encode().hex().upper().encode() in f
    assert base64.b32encode(v.encode()).rstrip(b"=") in f
    spaced = "a b+c/d=e" + v
    fs = forms(spaced)
    for q in (urllib.parse.quote(spaced, safe=""), urllib.parse.quote_plus(spaced)):
        lower = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), q)
        assert q.encode() in fs and lower.encode() in fs and lower != q


@pytest.mark.parametrize("prefix", [b"", b"x", b"xy", b"{\"key\": \""])
@pytest.mark.parametrize("urlsafe", [False, True])
def test_a_value_inside_a_larger_base64_blob_is_found(prefix, urlsafe):
    blob = prefix + ANTHROPIC_KEY.encode() + b"\", \"more\": 1}"
    enc = base64.urlsafe_b64encode(blob) if urlsafe else base64.b64encode(blob)
    assert any(f in enc for f in forms(ANTHROPIC_KEY))


def test_forms_longest_first_and_short_cores_dropped():
    f = encoded_forms(GUARDED_VALUE)
    assert [len(x) for x in f] == sorted((len(x) for x in f), reverse=True)
    assert all(len(x) >= MIN_SCAN_LEN for x in f)
