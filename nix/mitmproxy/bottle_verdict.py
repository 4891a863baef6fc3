"""bot-bottle's mitmproxy addon, the `mitmdump -s` entry: the BottleVerdict hooks that hand every decrypted request to pipelock for a verdict; does I/O (the request log on stdout, mitmproxy's log, pipelock's name lookup).

Loaded with `mitmdump -s bottle_verdict.py` (see nix/image-contract.json, section
"mitmproxy"). Everything the hooks decide comes from the pure package next to this file,
bot_bottle_addon/ (config, hosts, refusals, encodings, known values, DLP, injection, the
request log); the two wrappers around mitmproxy internals are in mitm_patches.py. The Nix
image and the test image copy all three; the tests load them from the repository.
docs/addon.md is the reference (config schema, request log schema, refusals, guarantees,
measurements, the file map).

Why: mitmproxy's upstream mode sends https flows to an upstream proxy as CONNECT tunnels
and re-encrypts them, so pipelock would only see a tunnel. This addon instead re-targets
each decrypted request at pipelock's plain-HTTP listener in absolute form, e.g.

    POST https://api.example.com/v1/messages HTTP/1.1     (to pipelock's listener)
    Host: api.example.com

and pipelock's answer goes back to the client unchanged and streamed.

Options:
  --set bottle_config=PATH      the addon config file (JSON, schema v1, docs/addon.md);
                                `env:NAME` reads the same JSON from environment variable NAME.
  --set bottle_pipelock=H:P     legacy/test only, used when bottle_config is unset.
  --set bottle_max_body=BYTES   legacy/test only, with bottle_pipelock.
Neither set -> every request is refused 502, nothing is sent anywhere.

What it guarantees (docs/addon.md has the reasons and the tests that show each):
- mitmproxy opens a server connection only to pipelock, and only for an HTTP request this
  addon re-targeted there (`server_connect`); raw TCP/UDP relaying is off (rawtcp=false),
  so no byte mitmproxy has not parsed as HTTP is ever relayed.
- CONNECT (and requests) to a sidecar, an IP literal, a single-label name or localhost are
  refused before any connection.
- Request bodies are buffered (pipelock must judge them whole), each up to max_body_bytes,
  all together up to a memory budget; over either -> refusal, the rest of the body is read
  and dropped, never buffered.
- Credentials: a placeholder becomes the real value only on the credential's bound hosts in
  its declared header; a real credential value or a guarded secret found anywhere the addon
  did not put it -> refusal before anything is sent; headers pipelock skips are scanned here.
- Requests to pipelock ask for `Accept-Encoding: identity`.
- One JSON log line per request on stdout (flushed); mitmdump's own flow output is off.
- pipelock unreachable (down, restarting) -> 503 `pipelock_unavailable` naming pipelock ("...
  bot-bottle fails closed, the request was not sent") with Retry-After, from the connection
  error path (no probe connection).
- Hosts approved live (`bottle allow-host`): the live policy file bottle writes into the
  confdir (bot_bottle_addon/live_policy.py) is looked at every LIVE_POLICY_POLL and loaded
  when it changed (host-label judging and the model lane's egress check follow it), with a log
  line naming its SHA-256 that bottle waits for. A file that cannot be used (or one removed
  after it was loaded) -> every request refused 503 `live_policy` until a valid one is loaded.
"""

import asyncio
import json
import logging
import os
import socket
import sys
import time

# mitmproxy's script loader puts this directory on sys.path only while it loads the script;
# the package and mitm_patches are imported now, and from here on regardless.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import mitm_patches  # noqa: E402
from bot_bottle_addon import refusal as refusals  # noqa: E402
from bot_bottle_addon.allowlist_hint import hint_text  # noqa: E402
from bot_bottle_addon.config import LEGACY_MAX_BODY, Config, OptionError, config_from_options  # noqa: E402
from bot_bottle_addon.decoded_dlp import encoded_secret_refusal  # noqa: E402
from bot_bottle_addon.dlp import unscanned_header_refusal  # noqa: E402
from bot_bottle_addon.encodings import MIN_SCAN_LEN, BadEncoding, decode_request_body  # noqa: E402
from bot_bottle_addon.flow_state import FlowState  # noqa: E402
from bot_bottle_addon.git_push import push_refusal  # noqa: E402
from bot_bottle_addon.hosts import host_header_refusal, is_ip_literal, norm_host, target_refusal  # noqa: E402
from bot_bottle_addon.injection import injection_plan  # noqa: E402
from bot_bottle_addon.known_values import find_known, known_places, leak_refusal  # noqa: E402
from bot_bottle_addon.live_policy import (LIVE_POLICY_FILE, LOADED_LINE, REFUSED_LINE, LivePolicyError,  # noqa: E402
                                          parse_live_policy, sha256_hex, with_approvals)
from bot_bottle_addon.model_lane.identity import identity_refusal, login_refusal  # noqa: E402
from bot_bottle_addon.model_lane.lane import ModelLaneJudge  # noqa: E402
from bot_bottle_addon.refusal import Refusal  # noqa: E402
from bot_bottle_addon.request_log import PIPELOCK_DOWN_MARK, log_line, may_be_pipelock_verdict, verdict  # noqa: E402
from bot_bottle_addon.rules import path_views, rules_refusal  # noqa: E402
from mitmproxy import ctx, exceptions, http  # noqa: E402
from mitmproxy.net.http import url as mitm_url  # noqa: E402

log = logging.getLogger("bottle_verdict")

READY_FILE = "bot-bottle-ready"  # in the confdir, once mitmproxy listens
LIVE_POLICY_POLL = 0.1  # seconds between looks at the live policy file (pipelock debounces 100 ms)
PIPELOCK_RESOLVE_TTL = 5.0  # seconds a resolved pipelock address is reused
META = "bot_bottle"  # flow.metadata key of this addon's per-flow state

# Bodies at least this big are decoded and searched in a worker thread; smaller ones
# inline (a thread hop costs more than their search, and most requests are small).
OFF_LOOP_BYTES = 256 * 1024

# Options that would let mitmproxy talk to origins itself, relay bytes it has not parsed as
# HTTP, or print flows on stdout (which carries the request log): forced to these values.
FORCED_OPTIONS = {"connection_strategy": "lazy", "upstream_cert": False, "rawtcp": False,
                  "http3": False, "websocket": False, "stream_large_bodies": None,
                  "onboarding": False, "flow_detail": 0}
# Options that would let traffic bypass pipelock: mitmdump refuses to start with any set.
BYPASS_OPTIONS = ("ignore_hosts", "allow_hosts", "tcp_hosts", "udp_hosts")


async def off_loop(size: int, fn, *args):
    """`fn(*args)`, in a worker thread when `size` says it will take a while, so other flows
    (a streaming answer) do not stall meanwhile."""
    if size >= OFF_LOOP_BYTES:
        return await asyncio.to_thread(fn, *args)
    return fn(*args)


def to_response(r: Refusal) -> http.Response:
    """The mitmproxy Response of one of the addon's own refusals."""
    return http.Response.make(r.status, r.body, r.headers)


def state(flow) -> FlowState:
    st = flow.metadata.get(META)
    if st is None:
        now = time.time()
        st = FlowState(t0=time.monotonic(), ts=flow.request.timestamp_start or now)
        flow.metadata[META] = st
    return st


class BottleVerdict:
    def __init__(self) -> None:
        self.cfg: Config | None = None
        self.buffered_total = 0
        self.tickets: dict[str, set[str]] = {}
        self.hostname = norm_host(socket.gethostname())
        # pipelock's resolved address (host, port, resolved at): a new server connection to
        # an IP skips mitmproxy's per-connection name lookup (an executor hop, and a DNS
        # round trip to Docker's resolver in a bottle).
        # (configured host, port) -> (ip, port, resolved at), for the web and the model pipelock
        self.pl_resolved: dict[tuple[str, int], tuple[str, int, float]] = {}
        self.model: ModelLaneJudge | None = None  # the model lane's judge (its verdict cache lives here)
        # the live policy file: (inode, mtime, size) last read, why it cannot be used, the poller
        self.live_seen: tuple[int, int, int] | None = None
        self.live_error: str | None = None
        self.live_task: asyncio.Task | None = None

    # -- options -------------------------------------------------------------------------
    def load(self, loader) -> None:
        loader.add_option("bottle_config", str, "",
                          "Path of the bot-bottle addon config (JSON, docs/addon.md); env:NAME reads it "
                          "from an environment variable.")
        loader.add_option("bottle_pipelock", str, "",
                          "Legacy/tests: pipelock's listener as HOST:PORT when bottle_config is unset.")
        loader.add_option("bottle_max_body", int, LEGACY_MAX_BODY,
                          "Legacy/tests: largest request body with bottle_pipelock.")
        mitm_patches.install(self)
        # stdout carries the request log and mitmproxy's own log lines: line by line, at once
        # (a pipe, e.g. `docker logs`, would otherwise hold them in a 8 KiB buffer).
        try:
            sys.stdout.reconfigure(line_buffering=True)
        except (AttributeError, ValueError):
            pass

    def configure(self, updated: set[str]) -> None:
        opts = ctx.options
        if updated & {"bottle_config", "bottle_pipelock", "bottle_max_body"}:
            try:
                self.cfg = config_from_options(opts.bottle_config, opts.bottle_pipelock, opts.bottle_max_body,
                                               os.environ)
            except OptionError as e:
                raise exceptions.OptionsError(str(e)) from None
            lane = self.cfg.model_lane if self.cfg else None
            self.model = ModelLaneJudge(lane, self.cfg.allowlist, self.cfg.known) if lane else None
            self.live_seen, self.live_error = None, None  # a new config: the live policy read again
        fix = {k: v for k, v in FORCED_OPTIONS.items() if hasattr(opts, k) and getattr(opts, k) != v}
        if fix:
            log.info("bottle_verdict: forcing %s", ", ".join(f"{k}={v}" for k, v in fix.items()))
            opts.update(**fix)
        for name in BYPASS_OPTIONS:
            if getattr(opts, name, None):
                raise exceptions.OptionsError(f"bottle_verdict: {name} must stay empty (it would bypass pipelock)")
        if opts.mode and any(not m.startswith("regular") for m in opts.mode):
            raise exceptions.OptionsError(f"bottle_verdict: only regular proxy mode is supported, got {opts.mode}")

    def running(self) -> None:
        c = self.cfg
        if c is not None:
            # before the ready file: a live policy already in the confdir is in force first
            self._check_live_policy()
            if self.live_task is None:
                self.live_task = asyncio.get_running_loop().create_task(self._watch_live_policy())
        self._mark_ready()
        if c is None:
            log.warning("bottle_verdict: no bottle_config; every request will be refused 502")
            return
        log.info("bottle_verdict: judging every request at pipelock %s (config %s; max body %d bytes, "
                 "body budget %d bytes; %d sidecars; credentials %s; guarded %s; unscanned headers %s)",
                 c.pipelock_text, c.source, c.max_body, c.budget, len(c.sidecars),
                 ",".join(x.name for x in c.credentials) or "-",
                 ",".join(n for n, _ in c.guarded) or "-", ",".join(sorted(c.unscanned)) or "-")
        if c.model_lane is not None:
            m = c.model_lane
            log.info("bottle_verdict: model lane: %s at pipelock %s (web_search %s; server hosts %s; "
                     "verdict cache %d bytes)", ",".join(f"{p.name}={'/'.join(p.hosts)}" for p in m.providers),
                     m.pipelock_text, m.web_search, ",".join(m.server_hosts) or "-", m.cache_bytes)
        for kind, name in c.too_short_to_search():
            log.warning("bottle_verdict: %s %s is shorter than %d characters; it is not searched for "
                        "in requests", kind, name, MIN_SCAN_LEN)

    def done(self) -> None:
        if self.live_task is not None:
            self.live_task.cancel()
            self.live_task = None

    # -- the live policy (bot_bottle_addon/live_policy.py) -----------------------------------
    async def _watch_live_policy(self) -> None:
        while True:
            await asyncio.sleep(LIVE_POLICY_POLL)
            try:
                self._check_live_policy()
            except Exception as e:  # never let the watcher die: fail closed instead
                self._live_unusable(f"reading it failed: {type(e).__name__}: {e}", b"")

    def _check_live_policy(self) -> None:
        """Loads the live policy file when it changed since it was last read. No file: the
        launch's allowlist (a fresh confdir); a file that cannot be used, or one removed after
        it was loaded: every request refused until a valid one is loaded."""
        if self.cfg is None:
            return
        path = os.path.join(os.path.expanduser(ctx.options.confdir), LIVE_POLICY_FILE)
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                key = (st.st_ino, st.st_mtime_ns, st.st_size)
                if key == self.live_seen:
                    return
                raw = f.read()
        except FileNotFoundError:
            if self.live_seen is not None and self.live_error is None:
                self._live_unusable(f"{path} was removed", b"")
            return
        except OSError as e:
            self.live_seen = None
            return self._live_unusable(f"cannot read {path}: {e.strerror}", b"")
        self.live_seen = key
        try:
            live = parse_live_policy(raw, self.cfg.bottle_id)
        except LivePolicyError as e:
            return self._live_unusable(f"{path}: {e}", raw)
        self.cfg = with_approvals(self.cfg, live.approved)
        if self.model is not None:
            self.model.set_allowlist(self.cfg.live_allowlist)
        self.live_error = None
        log.info(LOADED_LINE.format(sha=live.sha256, n=len(live.approved), hosts=",".join(live.approved) or "-"))

    def _live_unusable(self, why: str, raw: bytes) -> None:
        if why != self.live_error:  # said once, not at every look
            log.error(REFUSED_LINE.format(sha=sha256_hex(raw), why=why))
        self.live_error = why

    @staticmethod
    def _mark_ready() -> None:
        """READY_FILE in the confdir: bottle's readiness probe (nix/image-contract.json
        `ready_file`). `running` comes after mitmproxy's own proxy server has started
        listening (its addon runs before the scripts), so the file means "listening". The
        confdir is a tmpfs in a bottle: a restarted mitmproxy starts without it."""
        path = os.path.join(os.path.expanduser(ctx.options.confdir), READY_FILE)
        try:
            with open(path, "w"):
                pass
        except OSError as e:
            log.warning("bottle_verdict: cannot write %s: %s", path, e)

    # -- target checks ---------------------------------------------------------------------
    def target_refusal(self, host: str, port: int | None) -> Refusal | None:
        sidecars = self.cfg.sidecars if self.cfg else frozenset()
        return target_refusal(host, port, sidecars, self.hostname)

    def host_data_refusal(self, host: str, port: int | None) -> Refusal | None:
        """A name under a wildcard allowlist entry whose labels carry data (host_labels)."""
        if self.cfg is None:
            return None
        return self.cfg.host_labels.shape_refusal(host, f"{host}:{port}" if port else host)

    # -- CONNECT ---------------------------------------------------------------------------
    def http_connect(self, flow: http.HTTPFlow) -> None:
        st = state(flow)
        req = flow.request
        st.method, st.host, st.port = "CONNECT", req.host, req.port
        st.lane = self._lane(req.host)
        if self.live_error is not None:
            r = refusals.live_policy_unusable(self.live_error)
        elif req.headers.get(":protocol"):
            r = refusals.websocket_connect_refused()
        else:
            r = self.target_refusal(req.host, req.port) or self.host_data_refusal(req.host, req.port)
        if r is not None:
            flow.response = to_response(r)
            st.refused = r.logged
            self._emit(flow)

    # -- HTTP ------------------------------------------------------------------------------
    def requestheaders(self, flow: http.HTTPFlow) -> None:
        req = flow.request
        # Keep the whole body: pipelock must judge it before anything is sent; a streamed
        # request would open the server connection before the `request` hook.
        req.stream = False
        st = state(flow)
        st.method, st.scheme, st.host, st.port = req.method, req.scheme, req.host, req.port
        st.path = req.path
        st.lane = self._lane(req.host)
        if flow.response is not None:
            st.discard = True
            return
        r = self._early_refusal(flow)
        if r is not None:
            if r.code == "model_login":
                st.lane = "model"  # a provider's login endpoint: counted with the model lane
            self._refuse(flow, r)

    def _early_refusal(self, flow) -> Refusal | None:
        req = flow.request
        if self.cfg is None:
            return refusals.not_configured()
        if self.live_error is not None:
            return refusals.live_policy_unusable(self.live_error)
        if self._is_upgrade(req):
            return refusals.upgrade_refused()
        if req.method.upper() == "CONNECT":
            return refusals.nested_connect()
        r = self.target_refusal(req.host, req.port) or self.host_data_refusal(req.host, req.port)
        if r is not None:
            return r
        host_header = req.host_header
        if host_header:
            try:
                hh_host, hh_port = mitm_url.parse_authority(host_header, check=False)
            except ValueError:
                hh_host, hh_port = host_header, None
            r = host_header_refusal(host_header, hh_host, hh_port, req.host, req.port)
            if r is not None:
                return r
        # the bottle's per-host method/path rules (egress.rules), before the body is read
        r = rules_refusal(self.cfg.rules, req.method, req.host, req.data.path,
                          list(req.headers.items(multi=True)))
        if r is not None:
            return r
        r = self._model_refusal(req)
        if r is not None:
            return r
        length = req.headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > self.cfg.max_body:
            return refusals.too_large(int(length), self.cfg.max_body)
        return None

    def _lane(self, host: str) -> str:
        lane = self.cfg.model_lane if self.cfg else None
        return "model" if lane is not None and lane.provider_for(host) is not None else "web"

    def _model_refusal(self, req) -> Refusal | None:
        """A login from inside the bottle (any lane), and on the model lane an identity that is
        not the bottle's own; before the body is read."""
        lane = self.cfg.model_lane
        if lane is None:
            return None
        r = login_refusal(lane, req.host, req.path)
        if r is not None:
            return r
        provider = lane.provider_for(req.host)
        if provider is None:
            return None
        return identity_refusal(provider, req.host, list(req.headers.items(multi=True)), self.cfg.credentials)

    def on_body_chunk(self, flow, buf, n: int) -> bool:
        """Called by the patched mitmproxy (mitm_patches) for every request body chunk before
        it is buffered. False = drop the chunk (the request is or becomes refused)."""
        st = flow.metadata.get(META)
        if st is None or self.cfg is None:
            return True
        if st.discard:
            return False
        size = len(buf) + n
        if size > self.cfg.max_body:
            self._refuse(flow, refusals.too_large(size, self.cfg.max_body, exact=False))
            buf.clear()
            return False
        if self.buffered_total + n > self.cfg.budget:
            self._refuse(flow, refusals.memory_budget(self.buffered_total, self.cfg.budget))
            buf.clear()
            return False
        self.buffered_total += n
        st.buffered += n
        return True

    def _release(self, flow) -> None:
        st = flow.metadata.get(META)
        if st is not None and st.buffered:
            self.buffered_total -= st.buffered
            st.buffered = 0

    def _refuse(self, flow, r: Refusal) -> None:
        st = state(flow)
        if st.lane == "model":
            r = refusals.on_model_lane(r)  # the API's error JSON: the agent prints the reason
        flow.response = to_response(r)
        st.refused = r.logged
        st.discard = True
        self._release(flow)

    async def request(self, flow: http.HTTPFlow) -> None:
        st = state(flow)
        if flow.response is not None:
            self._release(flow)
            return  # refused above (or answered by another addon)
        req = flow.request
        cfg = self.cfg
        body = req.raw_content or b""
        if len(body) > cfg.max_body:  # defensive; on_body_chunk refuses first
            return self._refuse(flow, refusals.too_large(len(body), cfg.max_body))
        # 0. a compressed body is decoded first: found secrets hide in it, and pipelock
        #    refuses what it cannot scan. Off the event loop: other flows keep streaming.
        encoding = req.headers.get("content-encoding", "")
        if encoding and encoding.strip().lower() != "identity" and body:
            try:
                body = await off_loop(len(body), decode_request_body, encoding, body, cfg.max_body)
            except BadEncoding as e:
                return self._refuse(flow, e.refusal)
            del req.headers["content-encoding"]
            req.content = body  # sets content-length to the decoded size
        elif encoding:
            del req.headers["content-encoding"]
        # 0b. a git push: its ref updates judged against the bottle's git.push before any byte
        #     reaches the git host
        r = push_refusal(cfg.git_push, req.method, path_views(req.data.path), req.headers.get("content-type", ""),
                         body)
        if r is not None:
            return self._refuse(flow, r)
        # 1. found secrets: known values anywhere, before anything is injected (a large body
        #    takes a while: off the event loop). On the model lane only the URL and headers:
        #    the body's are redacted (1b).
        model = st.lane == "model" and self.model is not None
        hit = await off_loop(len(body), self._find_known, req, b"" if model else body)
        if hit is not None:
            known, where = hit
            return self._refuse(flow, leak_refusal(known, where, cfg.credentials))
        # 1b. the model lane: the body parsed, the provider's own egress judged, secrets redacted
        if model and body:
            judged = await off_loop(len(body), self.model.judge, body)
            st.redactions, st.server_egress = judged.redactions, judged.server_egress
            if judged.refusal is not None:
                return self._refuse(flow, judged.refusal)
            if judged.body is not body:
                body = judged.body
                req.content = body
        # 1c. the web lane: secrets in the body's encoded runs (hex, base64, base32, percent;
        #     nested), whatever its content type: decoded_dlp (the model lane redacts instead)
        if not model:
            r = await off_loop(len(body), encoded_secret_refusal, body, cfg.known, cfg.credentials)
            if r is not None:
                return self._refuse(flow, r)
        # 2. which declared headers get a real value
        headers = list(req.headers.items(multi=True))
        plan = injection_plan(req.scheme, req.host, headers, cfg.credentials)
        # 3. headers pipelock skips: pipelock v2.3.0's default patterns, unless injected here
        r = unscanned_header_refusal(headers, cfg.unscanned, plan, [c.placeholder for c in cfg.credentials])
        if r is not None:
            return self._refuse(flow, r)
        # 4. a new name under a wildcard entry, past the per-minute cap, is not handed to
        #    pipelock (which would resolve it): host_labels
        r = cfg.host_labels.refusal(req.host, f"{req.host}:{req.port}", time.monotonic())
        if r is not None:
            return self._refuse(flow, r)
        # 5. inject, ask for identity encoding, re-target at pipelock
        for lname, (cred, new_value) in plan.items():
            req.headers[lname] = new_value
            st.credentials.append(cred.name)
        req.headers["accept-encoding"] = "identity"
        st.body_len = len(body)
        host_header = req.host_header
        absolute = req.url  # e.g. https://api.example.com/v1/messages?x=1
        target_scheme, target_host, target_port = req.scheme, req.host, req.port
        ph, pp = await self._pipelock_address(cfg.model_lane.pipelock if model else cfg.pipelock)
        req.scheme = "http"
        req.host = ph  # the setter also rewrites Host/:authority ...
        req.port = pp
        req.path = absolute  # ... absolute-form request target
        req.host_header = host_header or mitm_url.hostport(target_scheme, target_host, target_port)
        st.retargeted = True
        self.tickets.setdefault(flow.client_conn.id, set()).add(flow.id)

    async def _pipelock_address(self, configured: tuple[str, int]) -> tuple[str, int]:
        """The address to send a request to `configured` (the web or the model pipelock) at:
        its name resolved, the result reused for PIPELOCK_RESOLVE_TTL."""
        host, port = configured
        r = self.pl_resolved.get(configured)
        if r is not None and time.monotonic() - r[2] < PIPELOCK_RESOLVE_TTL:
            return r[0], r[1]
        if is_ip_literal(host):
            return host, port
        try:
            infos = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM), 5)
            ip = infos[0][4][0]
        except (OSError, asyncio.TimeoutError, IndexError):
            return host, port  # mitmproxy's own connect then fails with the worded error
        self.pl_resolved[configured] = (ip, port, time.monotonic())
        return ip, port

    def _pipelocks(self) -> list[tuple[str, int]]:
        if self.cfg is None or self.cfg.pipelock is None:
            return []
        lane = self.cfg.model_lane
        return [self.cfg.pipelock] + ([lane.pipelock] if lane is not None else [])

    def _which_pipelock(self, addr) -> tuple[str, int] | None:
        """The configured pipelock (web or model) `addr` is, by name or resolved address."""
        if addr is None:
            return None
        a = (addr[0], addr[1])
        for p in self._pipelocks():
            r = self.pl_resolved.get(p)
            if a == p or (r is not None and a == (r[0], r[1])):
                return p
        return None

    def _is_pipelock(self, addr) -> bool:
        return self._which_pipelock(addr) is not None

    def _find_known(self, req, body: bytes):
        places = known_places(req.url.encode("utf-8", "surrogateescape"), req.headers.fields, body)
        return find_known(self.cfg.known, places)

    @staticmethod
    def _is_upgrade(req: http.Request) -> bool:
        if req.headers.get("upgrade", ""):
            return True  # any Upgrade (websocket, h2c, ...): refuse, never pass through
        return req.method.upper() == "CONNECT" and bool(req.headers.get(":protocol"))

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        st = state(flow)
        self._release(flow)
        if st.retargeted:
            # The request has been handed to pipelock: its body is no longer needed.
            flow.request.data.content = b""
        resp = flow.response
        if resp is None or st.refused is not None or flow.error is not None:
            return  # the addon's own answer (a refusal, pipelock unavailable): not streamed
        if may_be_pipelock_verdict(resp.status_code, resp.headers.get("content-type", ""),
                                   resp.headers.get("content-length", "")):
            return  # small text answer: buffered, so the log can quote it
        counter = st

        def count(data: bytes) -> bytes:
            counter.bytes_down += len(data)
            return data

        resp.stream = count

    def response(self, flow: http.HTTPFlow) -> None:
        self._allowlist_hint(flow)
        self._emit(flow)

    def _allowlist_hint(self, flow: http.HTTPFlow) -> None:
        """pipelock's allowlist block gains the way out (allowlist_hint.py); only a buffered
        (not streamed) 403 that pipelock wrote, before it is sent to the agent."""
        st = state(flow)
        resp = flow.response
        if (resp is None or st.refused is not None or not st.retargeted or resp.status_code != 403
                or callable(resp.stream) or self.cfg is None):
            return
        said = (resp.raw_content or b"").decode("utf-8", "replace")
        new = hint_text(said, self.cfg.bottle_id)
        if new is not None:
            st.pipelock_said = said  # the log quotes pipelock; the agent gets the hint too
            resp.content = new.encode()

    def error(self, flow: http.HTTPFlow) -> None:
        self._release(flow)
        self._emit(flow)

    def _end_ticket(self, flow) -> None:
        t = self.tickets.get(flow.client_conn.id)
        if t is not None:
            t.discard(flow.id)
            if not t:
                self.tickets.pop(flow.client_conn.id, None)

    # -- the request log ---------------------------------------------------------------------
    def _emit(self, flow: http.HTTPFlow) -> None:
        st = state(flow)
        self._end_ticket(flow)
        if st.logged:
            return
        st.logged = True
        resp = flow.response
        status = resp.status_code if resp is not None else None
        buffered = resp is not None and not callable(resp.stream)
        bytes_down = st.bytes_down
        if buffered and resp.raw_content is not None and flow.request.method.upper() != "HEAD":
            bytes_down = len(resp.raw_content)
        error = flow.error.msg if flow.error is not None else None
        text = None
        if st.refused is None and error is None and buffered and status in (403, 429, 502):
            text = st.pipelock_said or (resp.raw_content or b"").decode("utf-8", "replace")
        outcome = verdict(st.refused, error, status, text)
        known = self.cfg.known if self.cfg else []
        line = log_line(st, flow.id, flow.request.method, flow.request.host, status, outcome, bytes_down,
                        known, time.monotonic())
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()

    # -- connections -----------------------------------------------------------------------
    def server_connect(self, data) -> None:
        """The single door out: a connection to pipelock, for a request re-targeted there."""
        server = data.server
        addr = server.address
        tickets = self.tickets.get(data.client.id)
        if not self._is_pipelock(addr) or not tickets:
            server.error = (
                f"bot-bottle: mitmproxy connects only to pipelock, and only for an HTTP request it re-targeted "
                f"there; refused a connection to {addr[0] if addr else '?'}:{addr[1] if addr else '?'}")
            log.warning("bottle_verdict: %s", server.error)
            return
        tickets.pop()

    def server_connect_error(self, data) -> None:
        which = self._which_pipelock(data.server.address)
        if which is None:
            return
        self.pl_resolved.pop(which, None)  # resolve again next time (pipelock may have a new address)
        err = str(data.server.error or "")
        if PIPELOCK_DOWN_MARK in err or err.startswith("bot-bottle:"):
            return
        data.server.error = f"pipelock at {which[0]}:{which[1]} is unreachable ({err}); {PIPELOCK_DOWN_MARK}"
        log.warning("bottle_verdict: %s", data.server.error)

    @staticmethod
    def pipelock_unavailable(error: str) -> http.Response:
        """The answer to a request whose connection to pipelock failed (mitm_patches)."""
        return to_response(refusals.pipelock_unavailable(error))

    def client_disconnected(self, client) -> None:
        self.tickets.pop(client.id, None)

    # -- non-HTTP (unreachable with rawtcp=false; kept as a backstop) -----------------------
    def tcp_start(self, flow) -> None:
        log.warning("bottle_verdict: killing non-HTTP TCP flow to %s", flow.server_conn.address)
        flow.kill()

    def udp_start(self, flow) -> None:
        log.warning("bottle_verdict: killing UDP flow to %s", flow.server_conn.address)
        flow.kill()

    def websocket_start(self, flow) -> None:
        flow.kill()


addons = [BottleVerdict()]
