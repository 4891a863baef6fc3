"""A fake Anthropic API for the fake internet (loaded by origin.py; standard library only).

Serves the hosts in API_HOSTS (api.anthropic.com) and TELEMETRY_HOSTS
(statsig.anthropic.com). It behaves like the real Messages API where bot-bottle's tests
and Claude Code depend on it (../../../../shared/facts/claude-code.md in the workspace;
the event names and JSON shapes are the real API's):

  HEAD|GET /api/hello           200, no credential needed (Claude Code's reachability check).
  POST /v1/messages[?beta=true] the credential must be one of api.keys (x-api-key: <key> or
                                Authorization: Bearer <key>), else 401 with the API's error
                                JSON {"type": "error", "error": {"type":
                                "authentication_error", "message": ...}, "request_id": ...}.
                                "stream": true -> text/event-stream with the events
                                message_start, content_block_start, ping,
                                content_block_delta..., content_block_stop, message_delta,
                                message_stop (in that order; `event:` lines carry the same
                                names as the data's "type"); otherwise one JSON message.
                                Bad JSON or no "messages" list -> 400 invalid_request_error.
  POST /v1/messages/count_tokens {"input_tokens": n} (same credential check).
  GET  /v1/models               a one-model list (same credential check).
  *    /api/event_logging/...   200 {} (Claude Code's event batches; no credential check).
  anything else on the API host 404 not_found_error JSON (Claude Code 2.1.332 also asks
                                /api/claude_code/settings, /api/claude_cli/bootstrap, ...
                                and carries on after a 404).
  statsig.anthropic.com         200 {"success": true} to every method and path (telemetry).

Request bodies sent with Content-Encoding gzip or deflate are decoded (Claude Code 2.1.332
sometimes gzips its /v1/messages body: seen when its side calls to /api/... had failed).
Responses are gzip-compressed (Content-Encoding: gzip, Vary: Accept-Encoding) whenever the
request's Accept-Encoding allows gzip and api.gzip is true (the default); a stream is
compressed with a sync flush after every event, so it still arrives event by event.
Every response carries a `request-id: req_...` header.

Answers (api.* settings, changed through origin.py's /__config; see its docstring):
  text          the answer text (default below). Streamed as one text_delta per word
                (each word keeps its following space).
  duration_s    > 0: a long stream. The answer is spread over about this many seconds:
                n = max(1, round(duration_s * 1000 / interval_ms)) text deltas (the words of
                `text` repeated in order until there are n), each preceded by a pause of
                interval_ms. Per request, the query parameters ?duration_s=&interval_ms=
                override the settings (the real CLI cannot add them; tests that drive the
                CLI use /__config instead).
  interval_ms   pause before each text delta (default 0; 500 when only duration_s is set).
  script        "text" (default) or "tool_use": when the request offers a tool named
                tool_name and its last message (role "system" messages skipped: Claude Code
                appends one after the user's) does not hold a tool_result, the answer is a
                tool_use block for that tool (id toolu_01, toolu_02, ...; input streamed as
                input_json_delta pieces of {"command": tool_command, "description":
                tool_description}; stop_reason "tool_use"). A request whose last message
                holds a tool_result gets the final text answer: `text` followed by
                " Tool output: <the tool_result's text>". Requests that offer no such tool
                (side requests, for example a title) get the plain text answer.
  tool_name, tool_command, tool_description   the tool call (Bash, echo MARKER-$((6*7))).
  tool_input    null (default) or a JSON object: when set, the tool call's whole input instead
                of {"command": tool_command, "description": tool_description}, e.g.
                {"tool_name": "Read", "tool_input": {"file_path": "/home/agent/work/shot.png"}}.
  gzip          false: never compress.
  keys          the accepted credential values (empty: every request is refused with 401).
"""

from __future__ import annotations

import gzip
import itertools
import json
import secrets
import time
import zlib

API_HOSTS = {"api.anthropic.com"}
TELEMETRY_HOSTS = {"statsig.anthropic.com"}

DEFAULTS = {
    "keys": [],
    "text": "Hello from the fake Anthropic API. The bottle works.",
    "duration_s": 0,
    "interval_ms": 0,
    "gzip": True,
    "script": "text",
    "tool_name": "Bash",
    "tool_command": "echo MARKER-$((6*7))",
    "tool_description": "Print a marker",
    "tool_input": None,
}

MODEL_DEFAULT = "claude-sonnet-4-5-20250929"
_ids = itertools.count(1)
_tool_ids = itertools.count(1)


def serves(host: str) -> bool:
    return host in API_HOSTS or host in TELEMETRY_HOSTS


# -- helpers ---------------------------------------------------------------------------
def accepts_gzip(accept_encoding: str | None) -> bool:
    """True when an Accept-Encoding value allows gzip (q > 0, named or by '*')."""
    if not accept_encoding:
        return False
    named, star = None, None
    for item in accept_encoding.split(","):
        parts = [p.strip() for p in item.split(";")]
        coding = parts[0].lower()
        q = 1.0
        for p in parts[1:]:
            if p.lower().startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if coding in ("gzip", "x-gzip"):
            named = q if named is None else max(named, q)
        elif coding == "*":
            star = q
    if named is not None:
        return named > 0
    return bool(star and star > 0)


def request_id() -> str:
    return "req_fake" + secrets.token_hex(12)


def error_body(kind: str, message: str, rid: str) -> dict:
    return {"type": "error", "error": {"type": kind, "message": message}, "request_id": rid}


def credential(headers) -> tuple[str | None, str | None]:
    """(header it came in, value) for x-api-key or Authorization: Bearer; x-api-key first."""
    key = headers.get("x-api-key")
    if key:
        return "x-api-key", key
    auth = headers.get("Authorization") or ""
    if auth[:7].lower() == "bearer ":
        return "authorization", auth[7:].strip()
    return None, None


def words(text: str) -> list[str]:
    """The text in pieces of one word plus its following whitespace; joined they give text."""
    out, cur = [], ""
    for ch in text:
        if ch.isspace():
            cur += ch
        else:
            if cur and cur[-1].isspace():
                out.append(cur)
                cur = ""
            cur += ch
    if cur:
        out.append(cur)
    return out or [""]


def answer_pieces(text: str, n: int | None) -> list[str]:
    """The text deltas: one per word, or exactly n (words repeated in order)."""
    base = words(text)
    if not n:
        return base
    if n <= len(base):
        return base[: n - 1] + ["".join(base[n - 1:])]
    # Repeat: make sure a repeated word is separated from the next one.
    cyc = [w if w[-1:].isspace() else w + " " for w in base]
    out = [cyc[i % len(cyc)] for i in range(n)]
    out[-1] = out[-1].rstrip()
    return out


def last_tool_result(body: dict) -> str | None:
    """Text of the tool_result in the last message (messages with role "system", which
    Claude Code appends after the user's, skipped), or None when it holds none."""
    msgs = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") != "system"]
    if not msgs:
        return None
    content = msgs[-1].get("content")
    if not isinstance(content, list):
        return None
    for block in content:
        if isinstance(block, dict) and block.get("type") == "tool_result":
            c = block.get("content")
            if isinstance(c, str):
                return c
            if isinstance(c, list):
                return "".join(b.get("text", "") for b in c if isinstance(b, dict))
            return ""
    return None


def offers_tool(body: dict, name: str) -> bool:
    return any(isinstance(t, dict) and t.get("name") == name for t in body.get("tools") or [])


def plan_answer(body: dict, cfg: dict, n: int | None):
    """("text", pieces) or ("tool_use", tool_block, json pieces)."""
    result = last_tool_result(body)
    if result is not None:
        text = cfg["text"] + " Tool output: " + result.strip()
        return ("text", answer_pieces(text, n))
    if cfg["script"] == "tool_use" and offers_tool(body, cfg["tool_name"]):
        tool = {"type": "tool_use", "id": "toolu_%02d" % next(_tool_ids), "name": cfg["tool_name"],
                "input": {}}
        given = cfg.get("tool_input")
        args = json.dumps(given if isinstance(given, dict)
                          else {"command": cfg["tool_command"], "description": cfg["tool_description"]})
        cut = max(1, len(args) // 2)
        return ("tool_use", tool, [args[:cut], args[cut:]])
    return ("text", answer_pieces(cfg["text"], n))


def usage_in(raw_len: int) -> dict:
    return {"input_tokens": max(1, raw_len // 4), "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0, "output_tokens": 1}


# -- the handler -----------------------------------------------------------------------
class Reply:
    """Writes one response on an http.server handler, gzip'd when allowed."""

    def __init__(self, h, cfg):
        self.h = h
        self.rid = request_id()
        self.gzip = cfg["gzip"] and accepts_gzip(h.headers.get("Accept-Encoding"))

    def json(self, status: int, obj: dict, extra: dict | None = None):
        body = json.dumps(obj).encode()
        if self.gzip:
            body = gzip.compress(body)
        h = self.h
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("request-id", self.rid)
        h.send_header("Vary", "Accept-Encoding")
        if self.gzip:
            h.send_header("Content-Encoding", "gzip")
        for k, v in (extra or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def error(self, status: int, kind: str, message: str, extra: dict | None = None):
        self.json(status, error_body(kind, message, self.rid), extra)

    # streaming
    def start_stream(self):
        h = self.h
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream; charset=utf-8")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("request-id", self.rid)
        h.send_header("Vary", "Accept-Encoding")
        if self.gzip:
            h.send_header("Content-Encoding", "gzip")
            self.z = zlib.compressobj(6, zlib.DEFLATED, 31)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()

    def _chunk(self, data: bytes):
        if data:
            self.h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.h.wfile.flush()

    def event(self, obj: dict):
        data = f"event: {obj['type']}\ndata: {json.dumps(obj)}\n\n".encode()
        if self.gzip:
            data = self.z.compress(data) + self.z.flush(zlib.Z_SYNC_FLUSH)
        self._chunk(data)

    def end_stream(self):
        if self.gzip:
            self._chunk(self.z.flush())
        self.h.wfile.write(b"0\r\n\r\n")
        self.h.wfile.flush()


def handle(h, host: str, path: str, query: dict, raw: bytes, cfg: dict, decode=None):
    """Answer one request for an API or telemetry host on handler h (body already read).
    decode(body, content_encoding) -> bytes decodes a compressed request body (ValueError
    when it cannot)."""
    r = Reply(h, cfg)
    if host in TELEMETRY_HOSTS:
        return r.json(200, {"success": True})
    if path == "/api/hello":
        return r.json(200, {"message": "hello"})
    if path.startswith("/api/event_logging/"):
        return r.json(200, {})

    known = {("POST", "/v1/messages"), ("POST", "/v1/messages/count_tokens"), ("GET", "/v1/models")}
    if (h.command, path) not in known:
        return r.error(404, "not_found_error", "Not Found")

    where, value = credential(h.headers)
    if value is None:
        return r.error(401, "authentication_error", "x-api-key header is required")
    if value not in cfg["keys"]:
        what = "invalid x-api-key" if where == "x-api-key" else "Invalid bearer token"
        return r.error(401, "authentication_error", what)

    encoding = (h.headers.get("Content-Encoding") or "").strip().lower()
    if encoding and decode is not None:
        try:
            raw = decode(raw, encoding)
        except ValueError as e:
            return r.error(400, "invalid_request_error", str(e))

    if path == "/v1/models":
        return r.json(200, {"data": [{"type": "model", "id": MODEL_DEFAULT,
                                      "display_name": "Fake Claude",
                                      "created_at": "2025-09-29T00:00:00Z"}],
                            "has_more": False, "first_id": MODEL_DEFAULT, "last_id": MODEL_DEFAULT})
    try:
        body = json.loads(raw or b"null")
    except ValueError as e:
        return r.error(400, "invalid_request_error", f"invalid JSON body: {e}")
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return r.error(400, "invalid_request_error", "messages: Field required")
    if path == "/v1/messages/count_tokens":
        return r.json(200, {"input_tokens": max(1, len(raw) // 4)})

    def knob(name, cast):
        v = query.get(name, [None])[0]
        return cast(v) if v not in (None, "") else cast(cfg[name])

    try:
        duration = knob("duration_s", float)
        interval = knob("interval_ms", float)
    except ValueError:
        return r.error(400, "invalid_request_error", "duration_s and interval_ms must be numbers")
    if duration > 0 and interval <= 0:
        interval = 500.0
    n = max(1, round(duration * 1000 / interval)) if duration > 0 else None
    pause = interval / 1000.0

    model = body.get("model") or MODEL_DEFAULT
    msg_id = "msg_fake%020d" % next(_ids)
    plan = plan_answer(body, cfg, n)

    if not body.get("stream"):
        if plan[0] == "text":
            text = "".join(plan[1])
            if pause:
                time.sleep(pause * len(plan[1]))
            content, stop, out_tokens = [{"type": "text", "text": text}], "end_turn", len(plan[1])
        else:
            tool = dict(plan[1], input=json.loads("".join(plan[2])))
            content, stop, out_tokens = [tool], "tool_use", 20
        usage = usage_in(len(raw))
        usage["output_tokens"] = out_tokens
        return r.json(200, {"id": msg_id, "type": "message", "role": "assistant", "model": model,
                            "content": content, "stop_reason": stop, "stop_sequence": None,
                            "usage": usage})

    r.start_stream()
    r.event({"type": "message_start",
             "message": {"id": msg_id, "type": "message", "role": "assistant", "model": model,
                         "content": [], "stop_reason": None, "stop_sequence": None,
                         "usage": usage_in(len(raw))}})
    if plan[0] == "text":
        r.event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
        r.event({"type": "ping"})
        for piece in plan[1]:
            if pause:
                time.sleep(pause)
            r.event({"type": "content_block_delta", "index": 0,
                     "delta": {"type": "text_delta", "text": piece}})
        stop, out_tokens = "end_turn", len(plan[1])
    else:
        r.event({"type": "content_block_start", "index": 0, "content_block": plan[1]})
        r.event({"type": "ping"})
        for piece in plan[2]:
            if pause:
                time.sleep(pause)
            r.event({"type": "content_block_delta", "index": 0,
                     "delta": {"type": "input_json_delta", "partial_json": piece}})
        stop, out_tokens = "tool_use", 20
    r.event({"type": "content_block_stop", "index": 0})
    r.event({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
             "usage": {"output_tokens": out_tokens}})
    r.event({"type": "message_stop"})
    r.end_stream()
