"""Encoded secrets on the model lane (issue 22 item 3, issue 18 item 4): a secret written as hex,
base64, base32, percent-encoding or nested encodings (base64 of hex, ... up to 3 layers), inside
the text of a tool_result, reaches the provider as `<redacted:CLASS>` in place of the whole encoded
run, counted by class, the same on every turn; image/document bytes and the provider's own blobs
go on unchanged; a benign corpus of ordinary coding-session text (identifiers, git SHAs, sha256
digests, UUIDs, npm integrity hashes, base64 of ordinary text, JWT-looking segments, key
fingerprints, a PNG in base64 and hex) is not changed at all."""

import base64
import hashlib
import json
import random
import textwrap
import urllib.parse
import uuid
import zlib

import pytest

from bot_bottle_addon.model_lane.lane import ModelLaneJudge
from model_samples import AWS_ID, AWS_SECRET, body_of, claude_request, fixture_text, model_parsed, png_bytes
from conftest import REPO
from samples import GUARDED_VALUE

AWS_LINE = f"aws_secret_access_key={AWS_SECRET}"  # the secret key with its name, as AWS's files write it
GH = "ghp_" + "R7dK2mQ9xZ4vB8nL1pW6sT3yH5jF0cA2eG9u"  # a GitHub token's shape: ghp_ + 36
PEM = fixture_text("test-rsa-key.pem")  # a test RSA private key, PEM

SECRETS = {"aws-secret-key": AWS_LINE, "aws-access-id": AWS_ID, "github-token": GH, "private-key": PEM}


def b64(b: bytes) -> bytes:
    return base64.b64encode(b)


ENCODINGS = {
    "hex": lambda b: b.hex(),
    "HEX": lambda b: b.hex().upper(),
    "base64": lambda b: b64(b).decode(),
    "base64url": lambda b: base64.urlsafe_b64encode(b"\xfb\xff" + b).decode(),
    "base32": lambda b: base64.b32encode(b).decode(),
    "percent": lambda b: urllib.parse.quote(b, safe=""),
    "percent every byte": lambda b: "".join(f"%{c:02X}" for c in b),
    "base64 of hex": lambda b: b64(b.hex().encode()).decode(),
    "hex of base64": lambda b: b64(b).hex(),
    "base64 of base32 of hex": lambda b: b64(base64.b32encode(b.hex().encode())).decode(),
    "base64 wrapped at 76": lambda b: "\n".join(textwrap.wrap(b64(b).decode(), 76)),
    "base32 wrapped at 76": lambda b: "\n".join(textwrap.wrap(base64.b32encode(b).decode(), 76)),
    "xxd -p (hex wrapped at 60)": lambda b: "\n".join(textwrap.wrap(b.hex(), 60)),
}


def new_judge():
    cfg = model_parsed()
    return ModelLaneJudge(cfg.model_lane, cfg.allowlist, cfg.known)


def judged(results, jj=None):
    j = (jj or new_judge()).judge(body_of(claude_request(results)))
    assert j.refusal is None, j.refusal and j.refusal.text
    return j, json.loads(j.body)


def result_text(req: dict, turn: int = 0) -> str:
    return req["messages"][2 + 2 * turn]["content"][0]["content"]


@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("cls", list(SECRETS))
def test_an_encoded_secret_in_a_tool_result_is_replaced_whole(cls, encoding):
    enc = ENCODINGS[encoding](SECRETS[cls].encode())
    before, after = "$ cat deploy/creds.enc\n", "\n$ echo done\ndone\n"
    j, req = judged([before + enc + after])
    assert result_text(req) == f"{before}<redacted:{cls}>{after}"
    assert j.redactions == {cls: 1}


def test_reads_line_numbers_around_a_wrapped_run():
    # Claude Code's Read shows a file as `     1→line`: the run's lines after their numbers
    lines = textwrap.wrap(b64(PEM.encode()).decode(), 76)
    shown = "\n".join(f"{i + 1:6}\u2192{line}" for i, line in enumerate(lines)) + "\n"
    j, req = judged([shown])
    assert result_text(req) == "     1\u2192<redacted:private-key>\n"
    assert j.redactions == {"private-key": 1}


def test_only_the_run_goes_the_text_around_it_stays():
    text = (f"config.json: {{\"blob\": \"{AWS_LINE.encode().hex()}\", \"id\": \"{uuid.UUID(int=7)}\"}}\n"
            f"note: base64 {b64(b'hello, world, this is fine').decode()} and a token {b64(GH.encode()).decode()}.")
    j, req = judged([text])
    assert result_text(req) == (f"config.json: {{\"blob\": \"<redacted:aws-secret-key>\", \"id\": \"{uuid.UUID(int=7)}\"}}\n"
                                f"note: base64 {b64(b'hello, world, this is fine').decode()} and a token "
                                f"<redacted:github-token>.")
    assert j.redactions == {"aws-secret-key": 1, "github-token": 1}


def test_counts_by_class_across_blocks_and_with_raw_redactions():
    results = [AWS_LINE.encode().hex() + "\n---\n" + b64(AWS_LINE.encode()).decode(),
               f"raw {AWS_ID} and hex {AWS_ID.encode().hex()}",
               base64.b32encode(GH.encode()).decode() + " " + urllib.parse.quote(PEM, safe="")]
    j, req = judged(results)
    assert j.redactions == {"aws-secret-key": 2, "aws-access-id": 2, "github-token": 1, "private-key": 1}
    assert result_text(req, 1) == "raw <redacted:aws-access-id> and hex <redacted:aws-access-id>"
    text = json.dumps(req)
    for secret in (AWS_SECRET, AWS_ID, GH, "PRIVATE KEY"):
        assert secret not in text


def test_three_layers_are_found_four_are_not():
    # pipelock's own depth (text_dlp.go:253); the web lane's decoded_dlp stops there too
    three = b64(b64(AWS_LINE.encode().hex().encode()))
    four = b64(three)
    j, req = judged([f"a {three.decode()} b", f"a {four.decode()} b"])
    assert result_text(req, 0) == "a <redacted:aws-secret-key> b"
    assert result_text(req, 1) == f"a {four.decode()} b"  # a documented limit (docs/model-lane.md)
    assert j.redactions == {"aws-secret-key": 1}


def test_the_bottles_own_value_nested_is_redacted_as_itself():
    nested = b64(GUARDED_VALUE.encode().hex().encode()).decode()
    j, req = judged([f"x={nested};"])
    assert result_text(req) == "x=<redacted:secret:LEAK_TOKEN>;"
    assert j.redactions == {"secret:LEAK_TOKEN": 1}


def test_a_resent_block_reads_the_same_every_turn_from_the_cache():
    jj = new_judge()
    first = f"$ xxd -p key\n{AWS_LINE.encode().hex()}\n"
    outs = []
    for n in range(1, 4):
        before = jj.cache.misses
        j, req = judged([first] + [f"turn {i}" for i in range(1, n)], jj)
        outs.append(result_text(req, 0))
        assert j.redactions == {"aws-secret-key": 1}  # counted on every request that carries it
        if n > 1:
            assert jj.cache.misses - before == 3  # only the new turn's blocks judged
    assert outs == ["$ xxd -p key\n<redacted:aws-secret-key>\n"] * 3


def png_with_text(payload: bytes) -> bytes:
    """The fixture screenshot with a tEXt chunk holding `payload` (a PNG may carry any text)."""
    png = png_bytes()
    chunk = b"tEXt" + b"Comment\0" + payload
    body = len(payload + b"Comment\0").to_bytes(4, "big") + chunk + zlib.crc32(chunk).to_bytes(4, "big")
    return png[:33] + body + png[33:]  # after the signature and IHDR


def test_image_and_document_bytes_and_provider_blobs_are_not_searched():
    hexed = AWS_LINE.encode().hex().encode()
    png = png_with_text(hexed)
    img = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64(png).decode()}}
    pdf = b64(b"%PDF-1.4\n" + hexed + b"\n%%EOF").decode()
    doc = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": pdf}}
    j, req = judged([[img, doc]])
    blocks = req["messages"][2]["content"][0]["content"]
    assert base64.b64decode(blocks[0]["source"]["data"]) == png  # byte for byte
    assert blocks[1]["source"]["data"] == pdf
    assert j.redactions == {}
    sig = b64(b"\x01" * 9 + hexed).decode()
    r = claude_request([])
    r["messages"].insert(1, {"role": "assistant", "content": [
        {"type": "thinking", "thinking": f"the blob {hexed.decode()} is a key", "signature": sig},
        {"type": "redacted_thinking", "data": sig}, {"type": "text", "text": "ok"}]})
    j = new_judge().judge(body_of(r))
    out = json.loads(j.body)["messages"][1]["content"]
    assert out[0]["signature"] == sig and out[1]["data"] == sig
    assert out[0]["thinking"] == "the blob <redacted:aws-secret-key> is a key"
    assert j.redactions == {"aws-secret-key": 1}


# -- the benign corpus -----------------------------------------------------------------------
ADDON = REPO / "nix" / "mitmproxy" / "bot_bottle_addon"


def png(rng) -> bytes:
    """A 160x120 RGB PNG of noise (about 58 KB; the fixture screenshot holds an AWS id in its
    base64 on purpose, which the raw patterns redact in text)."""
    raw = b"".join(b"\0" + rng.randbytes(160 * 3) for _ in range(120))

    def chunk(kind, data):
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", (160).to_bytes(4, "big") + (120).to_bytes(4, "big") + b"\x08\x02\0\0\0")
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def benign_texts():
    rng = random.Random(22)
    shas = [hashlib.sha1(bytes([i])).hexdigest() for i in range(30)]
    digests = [hashlib.sha256(bytes([i])).hexdigest() for i in range(30)]
    uuids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(30)]
    yield "git log", "\n".join(f"commit {s}\nAuthor: Dev <dev@example.com>\n\n    fix: handler {i}\n"
                               for i, s in enumerate(shas))
    yield "git log --oneline and a diff", "\n".join(f"{s[:7]} feat: part {i}" for i, s in enumerate(shas)) + (
        f"\ndiff --git a/x b/x\nindex {shas[0][:12]}..{shas[1][:12]} 100644\n")
    yield "sha256sum", "\n".join(f"{d}  dist/app-{i}.tar.gz" for i, d in enumerate(digests))
    yield "Cargo.lock", "\n".join(f'[[package]]\nname = "crate{i}"\nversion = "0.{i}.1"\n'
                                  f'source = "registry+https://github.com/rust-lang/crates.io-index"\n'
                                  f'checksum = "{d}"\n' for i, d in enumerate(digests))
    yield "npm lockfile", json.dumps({"packages": {f"node_modules/pkg-{i}": {
        "version": f"2.{i}.0", "resolved": f"https://registry.npmjs.org/pkg-{i}/-/pkg-{i}-2.{i}.0.tgz",
        "integrity": "sha512-" + b64(hashlib.sha512(bytes([i])).digest()).decode()} for i in range(30)}}, indent=2)
    yield "go.sum", "\n".join(f"github.com/org/mod{i} v1.{i}.0 h1:{b64(hashlib.sha256(bytes([i, 1])).digest()).decode()}"
                              for i in range(30))
    yield "uuids and json", json.dumps([{"id": u, "sha256": d, "etag": f'W/"{d[:32]}"',
                                         "request_id": "req_" + b64(rng.randbytes(18)).decode().replace("/", "x")}
                                        for u, d in zip(uuids, digests)], indent=1)
    yield "long identifiers", "\n".join([
        "fn handle_incoming_websocket_connection_upgrade_request(req: &HttpRequest) -> Result<()>",
        "const VERY_LONG_CONFIGURATION_CONSTANT_NAME_FOR_TESTING = 42;",
        "AbstractSingletonProxyFactoryBeanDefinitionRegistryPostProcessor.getInstance()",
        "import { useInfiniteScrollPaginationWithPrefetching } from './hooks/useInfiniteScrollPagination';",
        "self.assertEqual(test_internationalization_localization_fallbacks(), expected)",
        "/home/user/projects/bot-bottle/nix/mitmproxy/bot_bottle_addon/model_lane/redact.py:42"])
    yield "base64 of ordinary text", "\n".join(textwrap.wrap(b64(b"The quick brown fox jumps over the lazy dog. "
                                                                 b"Lorem ipsum dolor sit amet. " * 40).decode(), 76))
    yield "jwt-looking segments", ("header eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9 payload "
                                   "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0 (decoded: {\"alg\": \"HS256\"})")
    yield "ssh public keys", ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG2gX9rvjh3wb0k8kS4o0YQ2jR6HcW8M2b6oQZl5pYcS dev@laptop\n"
                              "ssh-rsa " + b64(b"\0\0\0\x07ssh-rsa\0\0\0\x03\x01\0\x01\0\0\x01\x01\0" + rng.randbytes(256)).decode()
                              + " ci@runner\nSHA256:" + b64(rng.randbytes(32)).decode().rstrip("="))
    yield "docker", "\n".join(f"sha256:{d}" for d in digests[:10]) + "\nimage: ghcr.io/org/app@sha256:" + digests[3]
    yield "urls", ("https://example.com/search?q=hello%20world%20and%20more%21&lang=en\n"
                   "https://cdn.jsdelivr.net/npm/%40scope%2Fpkg%401.2.3/dist/index.min.js\n"
                   "printf(\"%s: %d%%\\n\", name, pct); // 100%25 done\n"
                   "file:///C:/Users/dev/My%20Documents/report%202026.pdf")
    yield "a png in base64 (base64 image.png)", "\n".join(textwrap.wrap(b64(png(rng)).decode(), 76))
    yield "a png in hex (xxd -p)", "\n".join(textwrap.wrap(png(rng)[:40_000].hex(), 60))
    yield "random base64 and hex blobs", "\n".join(
        [b64(rng.randbytes(48)).decode() for _ in range(300)] + [rng.randbytes(32).hex() for _ in range(300)])
    yield "source code", (ADDON / "encodings.py").read_text() + (ADDON / "model_lane" / "cache.py").read_text() + "\n".join(
        f"let k{i} = \"{base64.b32encode(rng.randbytes(10)).decode()}\"; // totp seed fixture {i}" for i in range(20))


@pytest.mark.parametrize("name,text", list(benign_texts()), ids=[n for n, _ in benign_texts()])
def test_the_benign_corpus_is_unchanged(name, text):
    body = body_of(claude_request([text]))
    jj = new_judge()
    j = jj.judge(body)
    assert j.refusal is None and j.redactions == {}, (name, j.redactions)
    assert j.body is body  # nothing rewritten: the provider gets the bytes as sent
    assert not jj.redactor.dirty(text)  # and the quick look said so
