"""Compressed request bodies (Claude Code gzips some of its request bodies): the addon
decodes gzip and deflate before anything judges them, so pipelock, which refuses a body it
cannot scan, gets plain bytes, and a secret cannot hide in compression; anything else is
refused with a reason. Real mitmdump, the pipelock double (see conftest.py)."""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib

import pytest

from conftest import MAX_BODY, SECRET_VALUE, client

BODY = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 64,
                   "messages": [{"role": "user", "content": "summarise the diff " * 200}]}).encode()


@pytest.mark.parametrize("coding", ["gzip", "deflate", "raw-deflate"])
def test_a_compressed_body_arrives_decoded_and_whole(mitm, double, origin, coding):
    if coding == "gzip":
        packed, header = gzip.compress(BODY), "gzip"
    elif coding == "deflate":
        packed, header = zlib.compress(BODY), "deflate"
    else:
        d = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        packed, header = d.compress(BODY) + d.flush(), "deflate"
    with client(mitm) as c:
        r = c.post("https://allowed.test/upload", content=packed,
                   headers={"content-encoding": header, "content-type": "application/json"})
    assert r.status_code == 200, r.text[:300]
    assert r.json() == {"len": len(BODY), "sha256": hashlib.sha256(BODY).hexdigest()}
    [seen] = origin.requests("/upload")
    names = [h[0].lower() for h in seen["headers"]]
    assert "content-encoding" not in names, seen["headers"]
    assert ["content-length", str(len(BODY))] in [[h[0].lower(), h[1]] for h in seen["headers"]]


def test_a_secret_inside_a_gzipped_body_is_refused(mitm, double, origin):
    packed = gzip.compress(json.dumps({"note": "token=" + SECRET_VALUE}).encode())
    with client(mitm) as c:
        r = c.post("https://allowed.test/echo", content=packed,
                   headers={"content-encoding": "gzip", "content-type": "application/json"})
    assert r.status_code == 403, r.text
    assert r.headers["x-bot-bottle-block-reason"] == "secret_leak"
    assert SECRET_VALUE not in r.text
    assert origin.requests("/echo") == []


def test_a_compression_bomb_is_refused_without_inflating_it(mitm, double, origin):
    bomb = gzip.compress(b"\0" * (MAX_BODY + 1))  # a few KiB that inflate past the limit
    assert len(bomb) < 64 * 1024
    with client(mitm) as c:
        r = c.post("https://allowed.test/upload", content=bomb, headers={"content-encoding": "gzip"})
    assert r.status_code == 413, r.text
    assert r.headers["x-bot-bottle-block-reason"] == "body_too_large"
    assert "decompresses to more than the bottle's limit" in r.text
    assert origin.requests("/upload") == []


@pytest.mark.parametrize("coding,status,code", [("br", 415, "unsupported_encoding"),
                                                ("gzip, gzip", 415, "unsupported_encoding"),
                                                ("gzip", 400, "bad_encoding")])
def test_what_cannot_be_decoded_is_refused_with_a_reason(mitm, double, origin, coding, status, code):
    with client(mitm) as c:
        r = c.post("https://allowed.test/upload", content=b"not compressed at all",
                   headers={"content-encoding": coding})
    assert r.status_code == status, r.text
    assert r.headers["x-bot-bottle-block-reason"] == code
    assert r.text.startswith("blocked: bot-bottle: ") and "; send it" in r.text
    assert origin.requests("/upload") == []
