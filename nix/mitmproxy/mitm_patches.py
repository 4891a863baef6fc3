"""The two wrappers around mitmproxy 12 internals that no public hook replaces (imports mitmproxy; no I/O of its own).

1. HttpStream.state_consume_request_body: every request body chunk passes through the addon's
   on_body_chunk before it is buffered, which counts it against the per-request limit and the
   memory budget and can drop it (a refused request's body is read, not buffered).
2. ConnectionHandler.server_event: when a connection to pipelock fails, the error text the
   flow carries is the addon's fail-closed wording, which its server_connect_error hook put
   on the connection, instead of the bare OS error.
3. HttpStream.handle_protocol_error: that failure (and only it) is answered as the addon's
   own 503 `pipelock_unavailable` refusal (addon.pipelock_unavailable), sent like any
   response an addon sets, instead of mitmproxy's 502 error page or an HTTP/2 stream reset.

Checked by the tests on every mitmproxy update (tests/addon/test_memory.py, the pipelock-down
tests): if mitmproxy renames or reshapes these, they fail.
"""

from bot_bottle_addon.request_log import PIPELOCK_DOWN_MARK
from mitmproxy import flow as mflow
from mitmproxy.proxy import events as mevents
from mitmproxy.proxy import server as mserver
from mitmproxy.proxy.layers import http as mhttp


class _Gate:
    """The addon a wrapper hands body chunks to. It lives in the wrapper's closure and on the
    wrapper (`_bot_bottle_gate`), so a second install (mitmproxy reloading the script, whose
    new addon instance calls install again) re-points the one wrapper at the new addon."""

    def __init__(self, addon):
        self.addon = addon


def install(addon) -> None:
    """Install the wrappers (once per process); body chunks go to `addon.on_body_chunk`, a
    failed connection to pipelock to `addon.pipelock_unavailable`."""
    gate = _wrap_request_body(addon)
    _wrap_server_event()
    _wrap_protocol_error(gate)


def _wrap_request_body(addon) -> _Gate:
    stream_cls = mhttp.HttpStream
    current = stream_cls.state_consume_request_body
    gate = getattr(current, "_bot_bottle_gate", None)
    if gate is not None:
        gate.addon = addon
        return gate
    gate = _Gate(addon)
    orig_consume = current

    def state_consume_request_body(self, event):
        if isinstance(event, mhttp.RequestData) and gate.addon is not None:
            if not gate.addon.on_body_chunk(self.flow, self.request_body_buf, len(event.data)):
                return
        yield from orig_consume(self, event)

    state_consume_request_body._bot_bottle_gate = gate
    stream_cls.state_consume_request_body = state_consume_request_body
    return gate


def _wrap_protocol_error(gate: _Gate) -> None:
    stream_cls = mhttp.HttpStream
    orig = stream_cls.handle_protocol_error
    if getattr(orig, "_bot_bottle", False):
        return

    def handle_protocol_error(self, event):
        pipelock_down = (isinstance(event, mhttp.ResponseProtocolError)
                         and event.code == mhttp.ErrorCode.CONNECT_FAILED
                         and PIPELOCK_DOWN_MARK in (event.message or "")
                         and self.flow.response is None and gate.addon is not None)
        if not pipelock_down:
            yield from orig(self, event)
            return
        # The flow's error says what happened (the request log's `failed` line); the client
        # gets an ordinary response, through the same hooks as one an addon sets.
        self.flow.error = mflow.Error(event.message)
        self.flow.response = gate.addon.pipelock_unavailable(event.message)
        yield mhttp.HttpResponseHeadersHook(self.flow)
        yield from self.send_response()

    handle_protocol_error._bot_bottle = True
    stream_cls.handle_protocol_error = handle_protocol_error


def _wrap_server_event() -> None:
    handler_cls = mserver.ConnectionHandler
    orig_event = handler_cls.server_event
    if getattr(orig_event, "_bot_bottle", False):
        return

    async def server_event(self, event):
        if isinstance(event, mevents.OpenConnectionCompleted) and isinstance(event.reply, str):
            err = getattr(event.command.connection, "error", None)
            if isinstance(err, str) and PIPELOCK_DOWN_MARK in err:
                event.reply = err
        return await orig_event(self, event)

    server_event._bot_bottle = True
    handler_cls.server_event = server_event
