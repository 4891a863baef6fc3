"""The two wrappers around mitmproxy 12 internals that no public hook replaces (imports mitmproxy; no I/O of its own).

1. HttpStream.state_consume_request_body: every request body chunk passes through the addon's
   on_body_chunk before it is buffered, which counts it against the per-request limit and the
   memory budget and can drop it (a refused request's body is read, not buffered).
2. ConnectionHandler.server_event: when a connection to pipelock fails, the error text the
   client gets (mitmproxy's 502) is the addon's fail-closed wording, which its
   server_connect_error hook put on the connection, instead of the bare OS error.

Checked by the tests on every mitmproxy update (tests/addon/test_memory.py, the pipelock-down
tests): if mitmproxy renames or reshapes these, they fail.
"""

from bot_bottle_addon.request_log import PIPELOCK_DOWN_MARK
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
    """Install both wrappers (once per process); body chunks go to `addon.on_body_chunk`."""
    _wrap_request_body(addon)
    _wrap_server_event()


def _wrap_request_body(addon) -> None:
    stream_cls = mhttp.HttpStream
    current = stream_cls.state_consume_request_body
    gate = getattr(current, "_bot_bottle_gate", None)
    if gate is not None:
        gate.addon = addon
        return
    gate = _Gate(addon)
    orig_consume = current

    def state_consume_request_body(self, event):
        if isinstance(event, mhttp.RequestData) and gate.addon is not None:
            if not gate.addon.on_body_chunk(self.flow, self.request_body_buf, len(event.data)):
                return
        yield from orig_consume(self, event)

    state_consume_request_body._bot_bottle_gate = gate
    stream_cls.state_consume_request_body = state_consume_request_body


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
