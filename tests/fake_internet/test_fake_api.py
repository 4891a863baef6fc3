"""The fake Anthropic API (tests/images/origin/fake_anthropic.py) behaves like the real one
where bot-bottle's tests and Claude Code depend on it: the SSE events in the real order and
shapes, JSON messages, gzip, the credential check, long streams, a scripted tool use, and
a record of what it received."""

from __future__ import annotations

import gzip
import json
import time
import zlib

import httpx
import pytest

import fake_anthropic
from conftest import API, real_format_api_key

TEXT_EVENTS = ["message_start", "content_block_start", "ping", "content_block_delta",
               "content_block_stop", "message_delta", "message_stop"]


def body(stream=True, text="say hi", tools=None, messages=None, **extra) -> dict:
    b = {"model": "claude-sonnet-4-5-20250929", "max_tokens": 1024, "stream": stream,
         "messages": messages or [{"role": "user", "content": [{"type": "text", "text": text}]}]}
    if tools is not None:
        b["tools"] = tools
    b.update(extra)
    return b


BASH_TOOL = {"name": "Bash", "description": "Run a shell command",
             "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}


def parse_sse(text: str) -> list[tuple[str, dict]]:
    """[(event name, data)] of a text/event-stream body; every event has both lines."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        assert set(fields) == {"event", "data"}, block
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def collapse(names: list[str]) -> list[str]:
    """Runs of the same name as one (the deltas)."""
    return [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]


def post(http, key, payload, path="/v1/messages?beta=true", headers=None):
    h = {"x-api-key": key, "anthropic-version": "2023-06-01", "content-type": "application/json"}
    h.update(headers or {})
    return http.post(API + path, headers=h, content=json.dumps(payload).encode())


def timed_events(http, key, payload, path="/v1/messages?beta=true", headers=None):
    """POST and read the stream as it comes: (response, [(seconds since send, name, data)])."""
    h = {"x-api-key": key, "content-type": "application/json"}
    h.update(headers or {})
    t0 = time.monotonic()
    out, buf = [], ""
    with http.stream("POST", API + path, headers=h, content=json.dumps(payload).encode()) as r:
        for chunk in r.iter_text():
            buf += chunk
            while "\n\n" in buf:
                block, buf = buf.split("\n\n", 1)
                (name, data), = parse_sse(block + "\n\n")
                out.append((time.monotonic() - t0, name, data))
    return r, out


# -- hello, routing ---------------------------------------------------------------------
def test_hello_needs_no_credential(http):
    r = http.head(API + "/api/hello")
    assert r.status_code == 200
    assert r.headers["request-id"].startswith("req_")


def test_unknown_api_path_is_a_404_error_json(http, api_key):
    r = http.get(API + "/api/claude_cli/bootstrap", headers={"x-api-key": api_key})
    assert r.status_code == 404
    assert r.json()["type"] == "error" and r.json()["error"]["type"] == "not_found_error"


def test_event_logging_and_statsig_take_anything(http):
    r = http.post(API + "/api/event_logging/v2/batch", content=b'{"events": []}')
    assert r.status_code == 200 and r.json() == {}
    for method in ("GET", "POST"):
        r = http.request(method, "https://statsig.anthropic.com/v1/rgstr", content=b"{}")
        assert r.status_code == 200 and r.json() == {"success": True}


# -- the stream -------------------------------------------------------------------------
def test_stream_has_the_real_event_order_and_shapes(http, api_key, control):
    text = control.config()["api"]["text"]
    r = post(http, api_key, body(), headers={"accept-encoding": "identity"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert "content-encoding" not in r.headers
    events = parse_sse(r.text)
    names = [n for n, _ in events]
    assert collapse(names) == TEXT_EVENTS
    for name, data in events:  # the event line names the data's type
        assert data["type"] == name
    start = events[0][1]["message"]
    assert set(start) == {"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"}
    assert start["id"].startswith("msg_") and start["type"] == "message" and start["role"] == "assistant"
    assert start["model"] == "claude-sonnet-4-5-20250929"
    assert start["content"] == [] and start["stop_reason"] is None
    assert start["usage"]["input_tokens"] > 0 and start["usage"]["output_tokens"] == 1
    assert events[1][1] == {"type": "content_block_start", "index": 0,
                            "content_block": {"type": "text", "text": ""}}
    deltas = [d for n, d in events if n == "content_block_delta"]
    assert len(deltas) > 1
    assert all(d["index"] == 0 and d["delta"]["type"] == "text_delta" for d in deltas)
    assert "".join(d["delta"]["text"] for d in deltas) == text
    assert events[-3][1] == {"type": "content_block_stop", "index": 0}
    md = events[-2][1]
    assert md["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert md["usage"]["output_tokens"] == len(deltas)
    assert events[-1][1] == {"type": "message_stop"}


def test_non_streamed_message_is_one_json_message(http, api_key, control):
    text = control.config()["api"]["text"]
    r = post(http, api_key, body(stream=False), path="/v1/messages")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    m = r.json()
    assert m["type"] == "message" and m["role"] == "assistant" and m["id"].startswith("msg_")
    assert m["content"] == [{"type": "text", "text": text}]
    assert m["stop_reason"] == "end_turn" and m["stop_sequence"] is None
    assert m["usage"]["output_tokens"] > 0


def test_answer_text_is_configurable(http, api_key, control):
    control.config(api={"text": "Just this."})
    events = parse_sse(post(http, api_key, body()).text)
    assert "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta") == "Just this."


def test_bad_json_and_missing_messages_are_400(http, api_key):
    r = http.post(API + "/v1/messages", headers={"x-api-key": api_key}, content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    r = post(http, api_key, {"model": "m", "max_tokens": 5})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


# -- gzip -------------------------------------------------------------------------------
def test_gzip_when_accept_encoding_allows_it(http, api_key):
    for ae in ("gzip", "gzip, deflate, br, zstd", "br;q=1.0, gzip;q=0.5", "*"):
        raw_body = body()
        with http.stream("POST", API + "/v1/messages?beta=true", content=json.dumps(raw_body).encode(),
                         headers={"x-api-key": api_key, "accept-encoding": ae}) as r:
            raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip", ae
        assert r.headers["vary"] == "Accept-Encoding"
        events = parse_sse(gzip.decompress(raw).decode())
        assert collapse([n for n, _ in events]) == TEXT_EVENTS
        r = post(http, api_key, body(stream=False), headers={"accept-encoding": ae})
        assert r.headers["content-encoding"] == "gzip" and r.json()["type"] == "message"


def test_no_gzip_when_not_allowed(http, api_key, control):
    for ae in ("identity", "gzip;q=0", "br", "*;q=0"):
        r = post(http, api_key, body(stream=False), headers={"accept-encoding": ae})
        assert "content-encoding" not in r.headers, ae
        assert r.json()["type"] == "message"
    control.config(api={"gzip": False})
    r = post(http, api_key, body(), headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in r.headers


def test_gzip_stream_still_arrives_event_by_event(http, api_key):
    r, events = timed_events(http, api_key, body(), path="/v1/messages?duration_s=3&interval_ms=500",
                             headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    deltas = [t for t, n, _ in events if n == "content_block_delta"]
    assert len(deltas) == 6
    assert deltas[0] < 1.2 and events[-1][0] > 2.8  # the first delta long before the end
    gaps = [b - a for a, b in zip(deltas, deltas[1:])]
    assert all(0.3 < g < 1.5 for g in gaps), gaps


def test_accepts_gzip_parsing():
    assert fake_anthropic.accepts_gzip("gzip")
    assert fake_anthropic.accepts_gzip("deflate, GZIP;q=0.1")
    assert fake_anthropic.accepts_gzip("*")
    assert not fake_anthropic.accepts_gzip(None)
    assert not fake_anthropic.accepts_gzip("identity")
    assert not fake_anthropic.accepts_gzip("gzip;q=0, *")
    assert not fake_anthropic.accepts_gzip("gzip;q=0.0")


def test_gzip_request_body_is_decoded_and_recorded_decoded(http, api_key, control):
    payload = json.dumps(body(stream=False, text="compressed request")).encode()
    r = http.post(API + "/v1/messages", content=gzip.compress(payload),
                  headers={"x-api-key": api_key, "content-encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "message"
    seen, = control.seen(host="api.anthropic.com")["requests"]
    assert seen["body_encoding"] == "gzip" and seen["decoded_len"] == len(payload)
    assert json.loads(seen["body"])["messages"][0]["content"][0]["text"] == "compressed request"
    r = http.post(API + "/v1/messages", content=b"not gzip",
                  headers={"x-api-key": api_key, "content-encoding": "gzip"})
    assert r.status_code == 400
    r = http.post(API + "/v1/messages", content=zlib.compress(payload),
                  headers={"x-api-key": api_key, "content-encoding": "deflate"})
    assert r.status_code == 200


# -- the credential ---------------------------------------------------------------------
def test_credential_is_checked(http, api_key):
    wrong = real_format_api_key()
    cases = [
        ({}, 401, "x-api-key header is required"),
        ({"x-api-key": wrong}, 401, "invalid x-api-key"),
        ({"authorization": f"Bearer {wrong}"}, 401, "Invalid bearer token"),
        ({"authorization": f"Basic {api_key}"}, 401, "x-api-key header is required"),
        ({"x-api-key": api_key}, 200, None),
        ({"authorization": f"Bearer {api_key}"}, 200, None),
    ]
    for headers, status, message in cases:
        for stream in (True, False):
            r = http.post(API + "/v1/messages?beta=true", headers=headers,
                          content=json.dumps(body(stream=stream)).encode())
            assert r.status_code == status, (headers, r.text)
            if message:
                e = r.json()
                assert e["type"] == "error" and e["request_id"].startswith("req_")
                assert e["error"] == {"type": "authentication_error", "message": message}
                assert r.headers["content-type"] == "application/json"


def test_no_configured_key_refuses_every_credential(http, api_key, control):
    control.config(api={"keys": []})
    assert post(http, api_key, body()).status_code == 401
    control.config(api={"keys": ["other", api_key]})
    assert post(http, api_key, body()).status_code == 200


def test_the_credential_it_saw_is_recorded(http, api_key, control):
    post(http, api_key, body())
    http.post(API + "/v1/messages", headers={"authorization": f"Bearer {api_key}"},
              content=json.dumps(body(stream=False)).encode())
    reqs = control.seen(host="api.anthropic.com", path="/v1/messages")["requests"]
    assert len(reqs) == 2
    first = {k.lower(): v for k, v in reqs[0]["headers"]}
    second = {k.lower(): v for k, v in reqs[1]["headers"]}
    assert first["x-api-key"] == api_key and reqs[0]["path"] == "/v1/messages?beta=true"
    assert second["authorization"] == f"Bearer {api_key}"
    assert json.loads(reqs[0]["body"])["messages"][0]["content"][0]["text"] == "say hi"
    assert reqs[0]["scheme"] == "https" and reqs[0]["host"] == "api.anthropic.com"
    # the control calls are not in the record
    assert all(not r["path"].startswith("/__") for r in control.seen()["requests"])


def test_large_bodies_are_recorded_whole_up_to_a_mebibyte(http, api_key, control):
    big = "x" * (900 * 1024)
    post(http, api_key, body(stream=False, text=big))
    seen, = control.seen(path="/v1/messages")["requests"]
    assert json.loads(seen["body"])["messages"][0]["content"][0]["text"] == big


# -- long streams -----------------------------------------------------------------------
def test_stream_duration_from_the_query(http, api_key):
    r, events = timed_events(http, api_key, body(), path="/v1/messages?beta=true&duration_s=4&interval_ms=500")
    deltas = [t for t, n, _ in events if n == "content_block_delta"]
    assert len(deltas) == 8
    assert 3.8 < events[-1][0] < 6.0, events[-1][0]
    assert collapse([n for _, n, _ in events]) == TEXT_EVENTS


def test_a_40_second_answer_set_by_control(http, api_key, control):
    """The knob tests use for a stream longer than pipelock's 30 s default."""
    control.config(api={"duration_s": 40, "interval_ms": 1000})
    r, events = timed_events(http, api_key, body())
    deltas = [(t, d) for t, n, d in events if n == "content_block_delta"]
    assert len(deltas) == 40
    assert events[-1][1] == "message_stop" and 39.5 < events[-1][0] < 45, events[-1][0]
    assert deltas[0][0] < 2.0 and deltas[20][0] > 19  # spread over the whole time
    words = "".join(d["delta"]["text"] for _, d in deltas).split()
    assert len(words) == 40 and words[:3] == ["Hello", "from", "the"]


def test_duration_without_interval_defaults_to_half_a_second(http, api_key, control):
    control.config(api={"duration_s": 2})
    r, events = timed_events(http, api_key, body())
    assert len([1 for _, n, _ in events if n == "content_block_delta"]) == 4


def test_non_numeric_knob_is_400(http, api_key):
    r = post(http, api_key, body(), path="/v1/messages?duration_s=long")
    assert r.status_code == 400


# -- tool use ---------------------------------------------------------------------------
def test_tool_use_script_first_asks_for_bash_then_answers(http, api_key, control):
    control.config(api={"script": "tool_use"})
    first = body(tools=[BASH_TOOL])
    events = parse_sse(post(http, api_key, first).text)
    names = [n for n, _ in events]
    assert collapse(names) == TEXT_EVENTS
    block = events[1][1]["content_block"]
    assert block["type"] == "tool_use" and block["name"] == "Bash" and block["input"] == {}
    assert block["id"].startswith("toolu_")
    deltas = [d["delta"] for n, d in events if n == "content_block_delta"]
    assert all(d["type"] == "input_json_delta" for d in deltas) and len(deltas) >= 2
    args = json.loads("".join(d["partial_json"] for d in deltas))
    assert args == {"command": "echo MARKER-$((6*7))", "description": "Print a marker"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"

    # The second request carries the tool result (Claude Code appends a system message
    # after it): the final text answer quotes the output.
    second = body(tools=[BASH_TOOL], messages=first["messages"] + [
        {"role": "assistant", "content": [dict(block, input=args)]},
        {"role": "user", "content": [{"tool_use_id": block["id"], "type": "tool_result",
                                      "content": "MARKER-42", "is_error": False}]},
        {"role": "system", "content": [{"type": "text", "text": "# Environment"}]},
    ])
    events = parse_sse(post(http, api_key, second).text)
    assert events[1][1]["content_block"]["type"] == "text"
    text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
    assert text.endswith("Tool output: MARKER-42")
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"


def test_tool_use_only_when_the_tool_is_offered(http, api_key, control):
    control.config(api={"script": "tool_use"})
    events = parse_sse(post(http, api_key, body()).text)  # no tools: e.g. a title request
    assert events[1][1]["content_block"]["type"] == "text"
    events = parse_sse(post(http, api_key, body(tools=[dict(BASH_TOOL, name="Read")])).text)
    assert events[1][1]["content_block"]["type"] == "text"


def test_tool_use_not_streamed_and_configurable(http, api_key, control):
    control.config(api={"script": "tool_use", "tool_command": "id -u", "tool_description": "who"})
    m = post(http, api_key, body(stream=False, tools=[BASH_TOOL])).json()
    assert m["stop_reason"] == "tool_use"
    tool, = m["content"]
    assert tool["type"] == "tool_use" and tool["input"] == {"command": "id -u", "description": "who"}


def test_tool_input_scripts_any_tool_call(http, api_key, control):
    control.config(api={"script": "tool_use", "tool_name": "Read",
                        "tool_input": {"file_path": "/home/agent/work/shot.png"}})
    m = post(http, api_key, body(stream=False, tools=[dict(BASH_TOOL, name="Read")])).json()
    tool, = m["content"]
    assert (tool["name"], tool["input"]) == ("Read", {"file_path": "/home/agent/work/shot.png"})
    events = parse_sse(post(http, api_key, body(tools=[dict(BASH_TOOL, name="Read")])).text)
    args = "".join(d["delta"]["partial_json"] for n, d in events if n == "content_block_delta")
    assert json.loads(args) == {"file_path": "/home/agent/work/shot.png"}
    status, err = control.call("POST", "/__config", {"api": {"tool_input": "cat x"}})
    assert status == 400 and "tool_input" in json.dumps(err)


def test_tool_result_as_blocks(http, api_key):
    msgs = [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01",
                                          "content": [{"type": "text", "text": "out-1"}]}]}]
    m = post(http, api_key, body(stream=False, messages=msgs)).json()
    assert m["content"][0]["text"].endswith("Tool output: out-1")


# -- other endpoints --------------------------------------------------------------------
def test_count_tokens_and_models(http, api_key):
    r = post(http, api_key, body(stream=False), path="/v1/messages/count_tokens")
    assert r.status_code == 200 and r.json()["input_tokens"] > 0
    r = http.get(API + "/v1/models", headers={"x-api-key": api_key})
    assert r.status_code == 200 and r.json()["data"][0]["type"] == "model"
    assert http.get(API + "/v1/models").status_code == 401


def test_plain_http_serves_the_api_too(api_key):
    with httpx.Client(timeout=30, trust_env=False) as c:
        r = c.post("http://api.anthropic.com/v1/messages", headers={"x-api-key": api_key},
                   content=json.dumps(body(stream=False)).encode())
    assert r.status_code == 200 and r.json()["type"] == "message"


@pytest.mark.parametrize("text,n,expect", [
    ("a b c", None, ["a ", "b ", "c"]),
    ("a b c", 2, ["a ", "b c"]),
    ("a b", 5, ["a ", "b ", "a ", "b ", "a"]),
    ("one", 1, ["one"]),
])
def test_answer_pieces(text, n, expect):
    assert fake_anthropic.answer_pieces(text, n) == expect
