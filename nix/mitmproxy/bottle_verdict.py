"""bot-bottle's mitmproxy addon: hand every decrypted request to pipelock for a verdict.

Loaded with `mitmdump -s bottle_verdict.py` (see nix/image-contract.json, section
"mitmproxy"). The same file is used by the Nix image and by the tests.

Why: mitmproxy's upstream mode sends https flows to an upstream proxy as CONNECT tunnels
and re-encrypts them, so pipelock would only see a tunnel. This addon instead re-targets
each decrypted request at pipelock's plain-HTTP listener in absolute form, e.g.

    POST https://api.example.com/v1/messages HTTP/1.1     (to pipelock's listener)
    Host: api.example.com

with method, headers and body intact, and pipelock's answer (its verdict, or the origin's
response it fetched) goes back to the client unchanged and streamed.

Options (set by the launcher):
  --set bottle_pipelock=HOST:PORT   pipelock's listener (required; unset -> every request
                                    is answered 502, nothing is sent anywhere)
  --set bottle_max_body=BYTES       largest request body passed on (default 33554432 =
                                    32 MiB); larger -> 413 from this addon

Guarantees (details and reasons in docs/addon.md):
- mitmproxy connects to nothing but pipelock: the `server_connect` hook kills every server
  connection whose address is not pipelock's (this also covers raw TCP/UDP flows, eager
  connection strategies and passthrough), and the addon insists on
  connection_strategy=lazy and upstream_cert=false.
- Non-HTTP traffic (TCP or UDP flows, e.g. a CONNECT tunnel carrying SSH) is killed, and
  WebSocket upgrades are refused with 403 and a message: pipelock cannot judge them.
- pipelock down: 502 whose message names pipelock; requests are never retried.
- Response bodies are streamed (server-sent events arrive as produced); request bodies are
  buffered up to bottle_max_body so pipelock sees the whole body before deciding.
- Hooks doing network I/O are async.
"""

from __future__ import annotations

import asyncio
import logging

from mitmproxy import ctx, exceptions, http
from mitmproxy.net.http import url as mitm_url

log = logging.getLogger("bottle_verdict")

DEFAULT_MAX_BODY = 32 * 1024 * 1024
PROBE_TIMEOUT = 5.0
# Marks flows this addon answered itself or re-targeted.
META = "bottle_verdict"


def parse_hostport(value: str) -> tuple[str, int]:
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.lstrip(":")
    else:
        host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


def text_response(status: int, message: str, **headers: str) -> http.Response:
    h = {"Content-Type": "text/plain; charset=utf-8", **{k.replace("_", "-"): v for k, v in headers.items()}}
    return http.Response.make(status, message.encode(), h)


class BottleVerdict:
    def __init__(self) -> None:
        self.pipelock: tuple[str, int] | None = None
        self.max_body = DEFAULT_MAX_BODY

    # -- options -------------------------------------------------------------------------
    def load(self, loader) -> None:
        loader.add_option(
            "bottle_pipelock", str, "",
            "pipelock's plain-HTTP listener as HOST:PORT; every request goes there in absolute form.",
        )
        loader.add_option(
            "bottle_max_body", int, DEFAULT_MAX_BODY,
            "Largest request body (bytes) handed to pipelock; larger requests get 413.",
        )

    def configure(self, updated: set[str]) -> None:
        if "bottle_pipelock" in updated:
            value = ctx.options.bottle_pipelock
            if value:
                try:
                    self.pipelock = parse_hostport(value)
                except ValueError as e:
                    raise exceptions.OptionsError(f"bottle_pipelock: {e}") from None
            else:
                self.pipelock = None
        if "bottle_max_body" in updated:
            if ctx.options.bottle_max_body <= 0:
                raise exceptions.OptionsError("bottle_max_body must be positive")
            self.max_body = ctx.options.bottle_max_body
        # Options that would let mitmproxy talk to origins itself or pass traffic through
        # unjudged. The server_connect guard below kills such connections anyway; here we
        # keep the configuration honest so that nothing breaks in a confusing way.
        fix = {}
        if ctx.options.connection_strategy != "lazy":
            fix["connection_strategy"] = "lazy"
        if ctx.options.upstream_cert:
            fix["upstream_cert"] = False
        if getattr(ctx.options, "onboarding", False):
            fix["onboarding"] = False  # no local http://mitm.it app: every request is judged
        if fix:
            log.info("bottle_verdict: forcing %s", ", ".join(f"{k}={v}" for k, v in fix.items()))
            ctx.options.update(**fix)
        for name in ("ignore_hosts", "allow_hosts", "tcp_hosts", "udp_hosts"):
            if getattr(ctx.options, name, None):
                raise exceptions.OptionsError(
                    f"bottle_verdict: {name} must stay empty (it would bypass pipelock)")
        if ctx.options.mode and any(not m.startswith("regular") for m in ctx.options.mode):
            raise exceptions.OptionsError(
                f"bottle_verdict: only regular proxy mode is supported, got {ctx.options.mode}")

    def running(self) -> None:
        if self.pipelock is None:
            log.warning("bottle_verdict: bottle_pipelock is not set; every request will be answered 502")
        else:
            log.info("bottle_verdict: judging every request at pipelock %s:%d (max body %d bytes)",
                     *self.pipelock, self.max_body)

    # -- HTTP ----------------------------------------------------------------------------
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        # Keep the whole body: pipelock must judge it before anything is sent, and a
        # streamed request would open the server connection before the `request` hook.
        req.stream = False
        if flow.response is not None:
            return
        if self._is_websocket(req):
            flow.response = text_response(
                403,
                "blocked: bot-bottle refuses WebSocket upgrades (pipelock cannot inspect "
                "WebSocket traffic); use plain HTTP requests\n",
                X_Bot_Bottle_Block_Reason="websocket_unsupported",
            )
            flow.metadata[META] = "refused-websocket"
            return
        length = req.headers.get("content-length")
        if length is not None and length.strip().isdigit() and int(length) > self.max_body:
            flow.response = self._too_large(int(length))

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return  # answered above (413, WebSocket refusal) or by another addon
        req = flow.request
        if len(req.raw_content or b"") > self.max_body:
            flow.response = self._too_large(len(req.raw_content or b""))
            return
        if self.pipelock is None:
            flow.response = text_response(
                502, "bot-bottle: pipelock address not configured (bottle_pipelock); request not sent\n")
            return
        if req.method.upper() == "CONNECT":  # defensive: CONNECT is handled by http_connect
            return
        # The URL pipelock judges and fetches is the connection's target (CONNECT
        # authority or absolute-form URL). A Host header naming another host would let a
        # client talk to one host while pipelock judged another (domain fronting).
        target_host = req.host
        host_header = req.host_header
        if host_header:
            try:
                hh_host, hh_port = mitm_url.parse_authority(host_header, check=False)
            except ValueError:
                hh_host, hh_port = host_header, None
            if hh_host.lower().rstrip(".") != target_host.lower().rstrip(".") or (
                hh_port is not None and hh_port != req.port
            ):
                flow.response = text_response(
                    421,
                    f"bot-bottle: Host header {host_header!r} does not match the connection "
                    f"target {target_host}:{req.port}; request not sent\n",
                )
                return
        absolute = req.url  # e.g. https://api.example.com/v1/messages?x=1
        target_scheme, target_port = req.scheme, req.port
        ph, pp = self.pipelock
        req.scheme = "http"
        req.host = ph  # the setter also rewrites Host/:authority ...
        req.port = pp
        req.path = absolute  # ... absolute-form request target
        if host_header:
            req.host_header = host_header  # ... so put the original Host back
        else:
            req.host_header = mitm_url.hostport(target_scheme, target_host, target_port)
        flow.metadata[META] = absolute

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        # Stream every response body as it arrives (server-sent events, downloads).
        if flow.response is not None:
            flow.response.stream = True

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.error and flow.metadata.get(META):
            log.warning("bottle_verdict: %s %s failed: %s", flow.request.method,
                        flow.metadata.get(META), flow.error.msg)

    def _too_large(self, size: int) -> http.Response:
        return text_response(
            413,
            f"bot-bottle: request body of {size} bytes exceeds the limit of {self.max_body} "
            f"bytes (bottle_max_body); request not sent\n",
        )

    @staticmethod
    def _is_websocket(req: http.Request) -> bool:
        upgrade = req.headers.get("upgrade", "")
        if upgrade:
            return True  # any Upgrade (websocket, h2c, ...): refuse, never pass through
        # HTTP/2 extended CONNECT (RFC 8441) for WebSockets
        return req.method.upper() == "CONNECT" and bool(req.headers.get(":protocol"))

    # -- connections -----------------------------------------------------------------------
    async def server_connect(self, data) -> None:
        """The single door out: mitmproxy may open connections to pipelock only."""
        server = data.server
        addr = server.address
        if self.pipelock is None or addr is None or (addr[0], addr[1]) != self.pipelock:
            server.error = (
                f"bot-bottle: mitmproxy connects only to pipelock; refused a direct connection "
                f"to {addr[0] if addr else '?'}:{addr[1] if addr else '?'}"
            )
            log.warning("bottle_verdict: %s", server.error)
            return
        # Probe so that a pipelock outage is reported as such (mitmproxy's own error text
        # would only say "connection refused"). The probe sends no bytes.
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(self.pipelock[0], self.pipelock[1]), PROBE_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as e:
            server.error = (
                f"pipelock at {self.pipelock[0]}:{self.pipelock[1]} is unreachable "
                f"({e.__class__.__name__}: {e}); bot-bottle fails closed, the request was not sent"
            )
            log.warning("bottle_verdict: %s", server.error)
            return
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass

    # -- non-HTTP ------------------------------------------------------------------------
    def tcp_start(self, flow) -> None:
        log.warning("bottle_verdict: killing non-HTTP TCP flow to %s (pipelock cannot judge it)",
                    flow.server_conn.address)
        flow.kill()

    def udp_start(self, flow) -> None:
        log.warning("bottle_verdict: killing UDP flow to %s", flow.server_conn.address)
        flow.kill()

    def websocket_start(self, flow) -> None:  # unreachable: upgrades are refused above
        flow.kill()


addons = [BottleVerdict()]
