"""Secrets in a body's encoded runs (hex, \\x hex, base64 both alphabets, base32, percent, nested
up to 3 layers), found whatever the content type, by pipelock's default patterns and the known
values; a benign corpus (API calls, JSON with hashes and UUIDs, package metadata, a git pack, a
PNG, base64 of ordinary text) is refused nowhere."""

import base64
import hashlib
import json
import os
import random
import urllib.parse
import uuid
import zlib

import pytest

from bot_bottle_addon import decoded_dlp
from bot_bottle_addon.decoded_dlp import MAX_DEPTH, decoded_forms, encoded_secret_refusal
from samples import CREDENTIALS, GUARDED_VALUE, parsed

AWS_LINE = "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_ID = "AKIAIOSFODNN7EXAMPLE"
GH = "ghp_" + "R7dK2mQ9xZ4vB8nL1pW6sT3yH5jF0cA2eG9u"


def binary(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def around(payload: bytes) -> bytes:
    """A payload with binary bytes on both sides, as in an octet-stream upload."""
    return binary(300, 1) + b"\n" + payload + b"\r\n" + binary(300, 2)


def hexed(s: bytes) -> bytes:
    return s.hex().encode()


def refused(body: bytes, **cfg):
    c = parsed(**cfg)
    return encoded_secret_refusal(body, c.known, c.credentials)


@pytest.mark.parametrize("body,pattern,how", [
    (around(hexed(AWS_LINE.encode())), "AWS Secret Key", "hex"),  # the octet-stream case
    (around(hexed(AWS_LINE.encode()).upper()), "AWS Secret Key", "hex"),
    (around("".join(f"\\x{b:02x}" for b in AWS_ID.encode()).encode()), "AWS Access ID", "hex"),
    (around(base64.b64encode(AWS_ID.encode() + b"  ")), "AWS Access ID", "base64"),
    (around(base64.urlsafe_b64encode(b"\xfb\xff" + GH.encode())), "GitHub Token", "base64"),
    (around(base64.b32encode(GH.encode())), "GitHub Token", "base32"),
    (around(base64.b32encode(GH.encode()).lower()), "GitHub Token", "base32"),
    (b"x=" + urllib.parse.quote(base64.b64encode(AWS_LINE.encode()), safe="").encode(), "AWS Secret Key",
     "base64"),
    (b"x=" + "".join(f"%{b:02X}" for b in hexed(GH.encode())).encode(), "GitHub Token",
     "percent-encoding then hex"),
    (around(base64.b64encode(hexed(GH.encode()))), "GitHub Token", "base64 then hex"),
    (around(base64.b64encode(base64.b32encode(hexed(AWS_ID.encode())))), "AWS Access ID",
     "base64 then base32 then hex"),
    (json.dumps({"blob": hexed(GH.encode()).decode()}).encode(), "GitHub Token", "hex"),
])
def test_an_encoded_secret_in_any_body_is_refused(body, pattern, how):
    r = refused(body)
    assert r is not None
    assert (r.status, r.code) == (403, "encoded_secret")
    assert f"({pattern}) encoded as {how}" in r.text
    assert GH not in r.text and AWS_ID not in r.text and "wJalr" not in r.text


def test_four_layers_are_beyond_pipelocks_depth():
    four = base64.b64encode(base64.b64encode(base64.b64encode(hexed(AWS_ID.encode()))))
    assert MAX_DEPTH == 3
    assert refused(around(four)) is None
    assert refused(around(four[:0] + base64.b64encode(base64.b64encode(hexed(AWS_ID.encode()))))) is not None


def test_a_known_value_encoded_gets_the_leak_refusal():
    key = CREDENTIALS[0]["value"]
    r = refused(around(base64.b64encode(hexed(key.encode()))))
    assert r.code == "credential_leak" and "body, base64" in r.text and key not in r.text
    r = refused(around(hexed(base64.b32encode(GUARDED_VALUE.encode()))))
    assert r.code == "secret_leak" and "body, hex" in r.text


def test_decoded_forms_are_labelled_and_bounded():
    forms = list(decoded_forms(b"ab " + base64.b64encode(b"plain words here") + b" cd"))
    assert ("base64", b"plain words here") in forms
    assert all(len(d) >= 8 for _, d in forms)


def plain_runs(data: bytes, min_escapes: int = 4) -> list:
    """runs() as the run patterns define it, each tried over the whole text (runs() looks for
    them only where they can be, which is faster and must find exactly these, in this order)."""
    d = decoded_dlp
    out = [(m.start(), m.end(), "hex", bytes.fromhex(m.group(0).decode())) for m in d.HEX_RUN.finditer(data)]
    out += [(m.start(), m.end(), "hex", bytes.fromhex(m.group(0).replace(b"\\x", b"").decode()))
            for m in d.ESCAPED_HEX_RUN.finditer(data)]
    out += [(m.start(), m.end(), "base64", x) for m in d.B64_RUN.finditer(data) for x in d._b64(m.group(0))]
    out += [(m.start(), m.end(), "base32", x) for m in d.B32_RUN.finditer(data) for x in d._b32(m.group(0))]
    out += [(m.start(), m.end(), "percent-encoding", urllib.parse.unquote_to_bytes(m.group(0)))
            for m in d.PCT_RUN.finditer(data) if m.group(0).count(b"%") >= min_escapes]
    return out


def test_runs_are_exactly_the_run_patterns_matches():
    rng = random.Random(11)
    alphabet = b"0123456789abcdefABCDEFxyzXYZ%\\=+/_-.:~ \n?"
    pieces = [lambda: bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 40))),
              lambda: hexed(rng.randbytes(rng.randint(1, 30))),
              lambda: base64.b64encode(rng.randbytes(rng.randint(1, 40))),
              lambda: base64.urlsafe_b64encode(rng.randbytes(rng.randint(1, 40))),
              lambda: base64.b32encode(rng.randbytes(rng.randint(1, 40))),
              lambda: base64.b32encode(rng.randbytes(rng.randint(1, 40))).lower(),
              lambda: "".join(f"\\x{c:02x}" for c in rng.randbytes(rng.randint(1, 20))).encode(),
              lambda: urllib.parse.quote(rng.randbytes(rng.randint(1, 30))).encode(),
              lambda: rng.randbytes(rng.randint(1, 10))]
    for _ in range(2000):
        data = b"".join(rng.choice(pieces)() for _ in range(rng.randint(1, 12)))
        assert list(decoded_dlp.runs(data)) == plain_runs(data), data
        assert list(decoded_dlp.runs(data, min_escapes=1)) == plain_runs(data, 1), data
    for _name, body in benign_bodies():
        assert list(decoded_dlp.runs(body)) == plain_runs(body)


# -- the benign corpus -----------------------------------------------------------------------
def git_pack() -> bytes:
    objs = [b"blob 14\0hello, world!\n", b"tree 0\0", b"commit 180\0tree " + b"4b825dc642cb6eb9a060e54bf8d69288fbee4904" * 1]
    body = b"PACK" + (2).to_bytes(4, "big") + len(objs).to_bytes(4, "big")
    for o in objs:
        body += bytes([0x30 | (len(o) & 0x0F)]) + zlib.compress(o)
    return body + hashlib.sha1(body).digest()


def png() -> bytes:
    raw = b"".join(b"\0" + binary(64 * 3, y) for y in range(64))
    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", (64).to_bytes(4, "big") * 2 + b"\x08\x02\0\0\0")
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def benign_bodies():
    rng = random.Random(7)
    hashes = [hashlib.sha256(bytes([i])).hexdigest() for i in range(40)]
    uuids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(40)]
    yield "json with hashes and uuids", json.dumps({
        "items": [{"id": u, "sha256": h, "etag": f'W/"{h[:32]}"', "created": "2026-12-04T22:45:37Z"}
                  for u, h in zip(uuids, hashes)]}).encode()
    yield "npm lockfile", json.dumps({"packages": {f"node_modules/pkg{i}": {
        "version": f"1.{i}.0", "resolved": f"https://registry.npmjs.org/pkg{i}/-/pkg{i}-1.{i}.0.tgz",
        "integrity": "sha512-" + base64.b64encode(hashlib.sha512(bytes([i])).digest()).decode()}
        for i in range(40)}}).encode()
    yield "pip hashes", "\n".join(f"pkg{i}==1.0 --hash=sha256:{h}" for i, h in enumerate(hashes)).encode()
    yield "messages api", json.dumps({"model": "claude-sonnet-4", "max_tokens": 1024, "messages": [
        {"role": "user", "content": "Summarise the diff below.\n" + "\n".join(
            f"+ fn handler_{i}(req: Request) -> Response {{ todo!() }}" for i in range(60))}]}).encode()
    yield "image attachment", json.dumps({"type": "image", "source": {
        "type": "base64", "media_type": "image/png", "data": base64.b64encode(png()).decode()}}).encode()
    yield "png upload", png()
    yield "git pack", git_pack()
    yield "gzip tarball", zlib.compress(binary(200_000, 3))
    yield "random octets", binary(300_000, 4)
    yield "form", urllib.parse.urlencode({"q": "how to parse base64 in rust", "page": "2",
                                          "session": uuids[0], "csrf": hashes[0][:40]}).encode()
    yield "base64 prose", base64.b64encode(b"The quick brown fox jumps over the lazy dog. " * 50)
    yield "hex dump", hexed(binary(4096, 5))
    yield "base32 totp-like", base64.b32encode(binary(20, 6))
    yield "jwt-free oauth", b"grant_type=authorization_code&code=4%2F0AX4XfWh&redirect_uri=http%3A%2F%2Flocalhost"
    yield "docker manifest", json.dumps({"schemaVersion": 2, "layers": [
        {"digest": "sha256:" + h, "size": 1234 + i} for i, h in enumerate(hashes[:10])]}).encode()
    yield "source file", (b"const KEY_LEN = 32;\nlet digest = \"" + hashes[1].encode() + b"\";\n") * 100
    yield "uuid csv", "\n".join(f"{u},{h},{i}" for i, (u, h) in enumerate(zip(uuids, hashes))).encode()
    yield "random base64 blobs", b"\n".join(base64.b64encode(binary(48, 100 + i)) for i in range(500))
    yield "random urlsafe", b"&".join(b"t%d=" % i + base64.urlsafe_b64encode(binary(33, 900 + i)) for i in range(300))
    yield "os urandom hex", hexed(os.urandom(2048))


@pytest.mark.parametrize("name,body", list(benign_bodies()), ids=[n for n, _ in benign_bodies()])
def test_the_benign_corpus_passes(name, body):
    assert refused(body) is None, name
