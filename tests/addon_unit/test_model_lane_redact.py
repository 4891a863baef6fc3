"""Redaction on the model lane (model_lane/redact.py, lane.py): what the issue's sessions died of —
`env` output, a 148 KB PNG whose base64 holds an AWS access key id, AWS's documented example keys,
a .env.example with Stripe's test key, a PEM test key — reaches the provider with class placeholders
instead of the secrets, the image bytes unchanged, the same on every turn; the bottle's own values
raw and encoded are always redacted; counts by class, never a value."""

import base64
import json
import re
import urllib.parse

import pytest

from bot_bottle_addon.dlp import COMPILED_PATTERNS
from bot_bottle_addon.model_lane.lane import ModelLaneJudge
from model_samples import (AWS_ID, AWS_SECRET, STRIPE_TEST_KEY, body_of, claude_request, fixture_text,
                           image_result, model_parsed, png_bytes)
from samples import ANTHROPIC_KEY, GUARDED_VALUE, OAUTH_TOKEN


def new_judge(**lane):
    cfg = model_parsed(**lane)
    return ModelLaneJudge(cfg.model_lane, cfg.allowlist, cfg.known)


def pipelock_names(text: str) -> set[str]:
    """The pipelock default patterns (as the addon's header DLP has them) that match `text`."""
    return {name for name, rx, val in COMPILED_PATTERNS
            if any(val is None or val(m.group(0)) for m in rx.finditer(text))}


def sent(j) -> dict:
    assert j.refusal is None, j.refusal and j.refusal.text
    return json.loads(j.body)


def result_text(req: dict, turn: int) -> str:
    c = req["messages"][2 + 2 * turn]["content"][0]["content"]
    return c if isinstance(c, str) else json.dumps(c)


def test_env_output_with_the_agents_placeholders_passes_unchanged():
    env = fixture_text("env-output.txt")
    body = body_of(claude_request([env]))
    j = new_judge().judge(body)
    assert j.refusal is None and j.redactions == {}
    assert j.body is body  # nothing redacted: the provider gets the bytes as sent


def test_a_screenshot_png_with_an_aws_id_in_its_base64_passes_byte_for_byte():
    png = png_bytes()
    assert len(png) >= 100 * 1024
    b64 = base64.b64encode(png).decode()
    assert AWS_ID in b64 and "AWS Access ID" in pipelock_names(b64)  # what killed the session on the web lane
    body = body_of(claude_request([image_result(png)]))
    j = new_judge().judge(body)
    assert j.refusal is None and j.redactions == {}
    got = sent(j)["messages"][2]["content"][0]["content"][0]["source"]["data"]
    assert base64.b64decode(got) == png


def test_aws_example_keys_are_redacted_by_class():
    j = new_judge().judge(body_of(claude_request([fixture_text("aws-credentials.txt")])))
    text = result_text(sent(j), 0)
    assert AWS_ID not in text and AWS_SECRET not in text
    assert "aws_access_key_id = <redacted:aws-access-id>" in text
    assert "aws_secret_access_key = <redacted:aws-secret-key>" in text
    assert "region = us-east-1" in text  # the rest is left alone
    assert j.redactions == {"aws-access-id": 1, "aws-secret-key": 1}


def test_an_env_example_with_a_stripe_test_key():
    src = fixture_text("env.example")
    assert {"Stripe Key", "Environment Variable Secret"} <= pipelock_names(src)
    j = new_judge().judge(body_of(claude_request([src])))
    text = result_text(sent(j), 0)
    assert STRIPE_TEST_KEY not in text
    assert "STRIPE_SECRET_KEY=<redacted:" in text
    assert "STRIPE_PUBLISHABLE_KEY=pk_test_TYooMQauvdEDq54NiTphI7jx" in text  # publishable: not a secret
    assert "DATABASE_URL=postgres://app:app@localhost:5432/app_dev" in text
    assert sum(j.redactions.values()) == 1 and set(j.redactions) <= {"stripe-key", "env-secret"}


def test_a_pem_private_key_is_redacted_whole():
    pem = fixture_text("test-rsa-key.pem")
    body_lines = pem.strip().splitlines()[1:-1]
    j = new_judge().judge(body_of(claude_request([f"$ cat key.pem\n{pem}\n$ "])))
    text = result_text(sent(j), 0)
    assert "BEGIN RSA PRIVATE KEY" not in text
    assert not any(line in text for line in body_lines)  # the key itself, not only its label
    assert "$ cat key.pem\n<redacted:private-key>\n" in text
    assert j.redactions == {"private-key": 1}


def test_a_pem_header_alone_is_still_redacted():
    j = new_judge().judge(body_of(claude_request(["-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE"])))
    assert "<redacted:private-key>\nb3BlbnNzaC1rZXktdjE" in result_text(sent(j), 0)


def encodings(v: str) -> dict:
    return {"raw": v, "base64": base64.b64encode(v.encode()).decode(),
            "base64 in a blob": base64.b64encode(b"xx" + v.encode() + b"yyy").decode(),
            "url-encoded": urllib.parse.quote(v, safe=""), "hex": v.encode().hex()}


@pytest.mark.parametrize("form", list(encodings("x")))
@pytest.mark.parametrize("name,value", [("LEAK_TOKEN", GUARDED_VALUE), ("ANTHROPIC_API_KEY", ANTHROPIC_KEY),
                                        ("CLAUDE_CODE_OAUTH_TOKEN", OAUTH_TOKEN)])
def test_the_bottles_own_values_are_redacted_raw_and_encoded(name, value, form):
    enc = encodings(value)[form]
    req = claude_request([f"debug: {enc} end"])
    req["messages"][0]["content"][0]["text"] = f"my token is {enc}"
    j = new_judge().judge(body_of(req))
    out = j.body.decode()
    assert enc not in out and value not in out
    assert f"<redacted:secret:{name}>" in out
    assert j.redactions[f"secret:{name}"] == 2
    assert value not in json.dumps(j.redactions)


def test_same_placeholders_every_turn_and_the_cache_makes_later_turns_cheap():
    jj = new_judge()
    results = [fixture_text("aws-credentials.txt"), fixture_text("env.example"), "x" * 300_000,
               image_result(png_bytes())]
    outs = []
    for n in range(1, len(results) + 1):
        before = jj.cache.misses
        j = jj.judge(body_of(claude_request(results[:n])))
        outs.append(sent(j))
        if n > 1:
            # only the new turn's blocks are judged (the assistant's text and tool_use, the
            # tool_result); the system prompt, the tools and every earlier block come from the cache
            assert jj.cache.misses - before == 3, (n, jj.cache.misses - before)
    # a block reads the same on every turn (Claude Code resends the conversation)
    first = outs[0]["messages"][2]["content"][0]["content"]
    assert all(o["messages"][2]["content"][0]["content"] == first for o in outs)
    assert outs[-1]["messages"][2]["content"][0].get("cache_control") is None  # the marker moved on
    assert outs[0]["messages"][2]["content"][0]["cache_control"] == {"type": "ephemeral"}


def test_the_cache_stays_within_its_bound():
    jj = new_judge(cache_bytes=64 * 1024)
    for i in range(200):
        jj.judge(body_of(claude_request([f"AKIA{i:016d} line {i}" + "z" * 2000])))
        assert jj.cache.used <= 64 * 1024
    assert len(jj.cache) < 200
    off = new_judge(cache_bytes=0)
    j = off.judge(body_of(claude_request([fixture_text("aws-credentials.txt")])))
    assert j.redactions == {"aws-access-id": 1, "aws-secret-key": 1} and len(off.cache) == 0


def test_provider_blobs_are_left_alone():
    sig = base64.b64encode(b"\x00" * 21 + base64.b64decode("AKIAIOSFODNN7EXAMPLE") + b"\x01" * 40).decode()
    assert AWS_ID in sig
    req = claude_request([])
    req["messages"].insert(1, {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "The user wants AKIAIOSFODNN7EXAMPLE checked.", "signature": sig},
        {"type": "redacted_thinking", "data": sig},
        {"type": "text", "text": "ok"}]})
    out = sent(new_judge().judge(body_of(req)))["messages"][1]["content"]
    assert out[0]["signature"] == sig and out[1]["data"] == sig
    assert out[0]["thinking"] == "The user wants <redacted:aws-access-id> checked."


def test_text_documents_are_scanned_base64_ones_are_not():
    doc_text = {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                               "data": f"key {AWS_ID}"}}
    pdf = base64.b64encode(b"%PDF-1.4 " + base64.b64decode(AWS_ID) * 3).decode()
    doc_pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": pdf}}
    out = sent(new_judge().judge(body_of(claude_request([[doc_text, doc_pdf]]))))
    blocks = out["messages"][2]["content"][0]["content"]
    assert blocks[0]["source"]["data"] == "key <redacted:aws-access-id>"
    assert blocks[1]["source"]["data"] == pdf


def test_tool_input_and_keys_are_text_too():
    req = claude_request([])
    req["messages"].append({"role": "assistant", "content": [
        {"type": "tool_use", "id": "toolu_x", "name": "Bash",
         "input": {"command": f"curl -H 'x-key: {STRIPE_TEST_KEY}' https://x", AWS_ID: 1}}]})
    out = sent(new_judge().judge(body_of(req)))["messages"][-1]["content"][0]["input"]
    assert out == {"command": "curl -H 'x-key: <redacted:stripe-key>' https://x", "<redacted:aws-access-id>": 1}


def test_redacted_bodies_keep_unicode_and_escapes():
    req = claude_request([f"naïve 日本語 \u2028 \"quoted\" \\ {AWS_ID} \ud800"])
    out = new_judge().judge(body_of(req))
    text = result_text(sent(out), 0)
    assert text == "naïve 日本語 \u2028 \"quoted\" \\ <redacted:aws-access-id> \ud800"


@pytest.mark.parametrize("body,why", [
    (b"{", "not JSON"),
    (b'{"model": "x"} trailing', "not JSON"),
    (b'{"model": "a", "model": "b"}', "appears twice"),
    (b'{"messages": [{"role": "user", "role": "assistant"}]}', "appears twice"),
    (b'{"temperature": NaN}', "NaN is not JSON"),
    (b'{"temperature": -Infinity}', "not JSON"),
    (b'{"x": "\xff\xfe"}', "not UTF-8"),
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
    (b'{"t": 1e999}', "re-written"),
], ids=["truncated", "trailing", "duplicate key", "nested duplicate", "nan", "infinity", "utf-8", "deep", "huge float"])
def test_what_cannot_be_parsed_is_refused(body, why):
    if why == "re-written":
        body = body_of(claude_request([AWS_ID]))[:-1] + b', "t": 1e999}'  # a redaction forces a rewrite
    j = new_judge().judge(body)
    assert j.refusal is not None and (j.refusal.status, j.refusal.code) == (400, "model_unparseable")
    assert why in j.refusal.text
    assert json.loads(j.refusal.body)["error"]["type"] == "invalid_request_error"


def test_an_empty_body_passes():
    assert new_judge().judge(b"").refusal is None


def test_a_placeholder_is_not_a_secret_but_a_real_value_next_to_it_is():
    text = ("ANTHROPIC_API_KEY=bot-bottle-placeholder-ANTHROPIC_API_KEY\n"
            "GITHUB_TOKEN=ghp_" + "a1B2" * 9 + "\nMY_API_KEY=Zx9-very-secret-value\n")
    j = new_judge().judge(body_of(claude_request([text])))
    out = result_text(sent(j), 0)
    assert "ANTHROPIC_API_KEY=bot-bottle-placeholder-ANTHROPIC_API_KEY" in out
    assert re.search(r"GITHUB_TOKEN=<redacted:(github-token|env-secret)>\n", out)
    assert "MY_API_KEY=<redacted:env-secret>" in out


def test_patterns_fold_case_as_pipelock_does():
    # pipelock compiles its patterns with (?i): a key written in another case is the same secret
    text = ("-----begin rsa private key-----\nMIIEow\n-----end rsa private key-----\n"
            "GHP_" + "a1B2" * 9 + " SK_TEST_4eC39HqLyjWDarjtT1zdp7dc")
    out = result_text(sent(new_judge().judge(body_of(claude_request([text])))), 0)
    assert out == "<redacted:private-key>\n<redacted:github-token> <redacted:stripe-key>", out


def test_the_cache_is_safe_across_threads():
    # large bodies are judged in worker threads at once (bottle_verdict.off_loop)
    import threading
    jj = new_judge(cache_bytes=256 * 1024)
    errors = []

    def worker(k):
        try:
            for i in range(40):
                j = jj.judge(body_of(claude_request([f"{AWS_ID} {k} {i} " + "q" * 3000])))
                assert j.redactions == {"aws-access-id": 1}
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors and 0 < jj.cache.used <= 256 * 1024
    assert jj.cache.used == sum(v.cost for v in jj.cache._d.values())
