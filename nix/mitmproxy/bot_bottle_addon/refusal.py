"""Refusal: the addon's own answer (status, reason code, text, headers), and every refusal it makes; pure, no I/O.

The entry script (bottle_verdict.py) turns a Refusal into a mitmproxy Response. docs/addon.md
"The addon's own refusals" lists the codes; design.md gives the format: `blocked: bot-bottle:
<what happened>; <what to do>`.
"""

import json
from dataclasses import dataclass

BLOCK_REASON_HEADER = "X-Bot-Bottle-Block-Reason"


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    what: str
    todo: str
    extra_headers: tuple[tuple[str, str], ...] = ()
    # On the model lane: the provider's error type; the body is then the Anthropic API's error
    # JSON with the text as its message, so the agent (Claude Code) prints the reason.
    api_error: str | None = None

    @property
    def text(self) -> str:
        """The refusal's text (one line, newline-terminated): the body, or the JSON body's message."""
        return f"blocked: bot-bottle: {self.what}; {self.todo}\n"

    @property
    def body(self) -> bytes:
        if self.api_error is not None:
            return json.dumps({"type": "error", "error": {"type": self.api_error, "message": self.text.strip()}}
                              ).encode() + b"\n"
        return self.text.encode()

    @property
    def headers(self) -> dict[str, str]:
        ctype = "application/json" if self.api_error is not None else "text/plain; charset=utf-8"
        h = {"Content-Type": ctype, BLOCK_REASON_HEADER: self.code}
        h.update(dict(self.extra_headers))
        return h

    @property
    def logged(self) -> tuple[str, str]:
        """(reason code, reason text) for the request log."""
        return self.code, self.text.strip()


def refusal(status: int, code: str, what: str, todo: str, **headers: str) -> Refusal:
    """A refusal; keyword headers are named with `_` for `-` (Retry_After=...)."""
    return Refusal(status, code, what, todo, tuple((k.replace("_", "-"), v) for k, v in headers.items()))


# -- the catalogue (docs/addon.md "The addon's own refusals") ----------------------------
def not_configured() -> Refusal:
    return refusal(502, "not_configured", "mitmproxy has no bottle_config, so there is no pipelock to "
                   "judge requests; the request was not sent", "restart the bottle")


def pipelock_unavailable(error: str) -> Refusal:
    """pipelock cannot be reached (it died and bottle is restarting it): the request was not
    sent, and may be sent again in a moment. `error` is the addon's fail-closed wording."""
    return refusal(503, "pipelock_unavailable", error, "retry in a few seconds (bottle restarts pipelock)",
                   Retry_After="2")


def live_policy_unusable(why: str) -> Refusal:
    """The live policy file bottle wrote could not be used: the addon does not know the
    allowlist pipelock has, so it refuses everything until a valid one is loaded."""
    return refusal(503, "live_policy", f"the bottle's live policy (bottle allow-host) could not be loaded "
                   f"({why}), so the request was not sent", "retry in a few seconds; the person running the "
                   "bottle sees the failed change and can run allow-host or deny-host again",
                   Retry_After="2")


def upgrade_refused() -> Refusal:
    return refusal(403, "websocket_unsupported", "WebSocket and other protocol upgrades are refused "
                   "(pipelock cannot inspect them)", "use plain HTTP requests")


def websocket_connect_refused() -> Refusal:
    return refusal(403, "websocket_unsupported", "WebSocket over HTTP/2 CONNECT is refused (pipelock "
                   "cannot inspect WebSocket traffic)", "use plain HTTP requests")


def nested_connect() -> Refusal:
    return refusal(403, "nested_connect", "CONNECT inside a tunnel is refused", "send the request itself")


def ip_literal(where: str) -> Refusal:
    return refusal(403, "ip_literal", f"{where} is an IP address; bot-bottle only lets requests to host "
                   "names through (pipelock judges names)", "use the host name")


def internal_target(where: str) -> Refusal:
    return refusal(403, "internal_target", f"{where} names this bottle's own sidecars or an internal "
                   "(single-label, localhost) host, which the agent may not reach",
                   "use a fully qualified host name from the bottle's allowlist")


def host_mismatch(host_header: str, host: str, port: int | None) -> Refusal:
    return refusal(421, "host_mismatch", f"the Host header {host_header!r} does not match the "
                   f"connection target {host}:{port}", "send Host equal to the URL's host")


def too_large(size: int, max_body: int, exact: bool = True) -> Refusal:
    what = f"{size} bytes" if exact else f"more than {max_body} bytes"
    return refusal(413, "body_too_large", f"the request body ({what}) exceeds the bottle's limit of "
                   f"{max_body} bytes (egress.max_request_mb)",
                   "send a smaller body, or raise egress.max_request_mb in the bottle's manifest")


def memory_budget(buffered_total: int, budget: int) -> Refusal:
    return refusal(503, "memory_budget", f"mitmproxy is already holding {buffered_total} bytes of request "
                   f"bodies, its budget is {budget} bytes", "retry when other uploads have finished",
                   Retry_After="2")


def unsupported_encoding(encoding: str) -> Refusal:
    return refusal(415, "unsupported_encoding",
                   f"the request body uses Content-Encoding {encoding!r}, which neither bot-bottle nor "
                   "pipelock can scan", "send it uncompressed, or gzip- or deflate-encoded")


def decoded_too_large(limit: int) -> Refusal:
    return refusal(413, "body_too_large",
                   f"the request body decompresses to more than the bottle's limit of {limit} "
                   "bytes", "send a smaller body (or raise egress.max_request_mb in your manifest)")


def bad_encoding(coding: str) -> Refusal:
    return refusal(400, "bad_encoding",
                   f"the request body is not valid {coding} data", "send it uncompressed, or encoded correctly")


def credential_leak(name: str, where: str, header: str, hosts: list[str]) -> Refusal:
    return refusal(403, "credential_leak", f"the request carries the real value of credential "
                   f"{name} ({where}), which the agent must never hold",
                   f"send the placeholder in ${name} instead; bot-bottle puts the real value "
                   f"into the {header} header of requests to {', '.join(hosts)}")


def secret_leak(name: str, where: str) -> Refusal:
    return refusal(403, "secret_leak", f"the request carries the value of the bottle's secret "
                   f"{name} ({where})", "do not send this secret anywhere")


def header_dlp(header: str, pattern: str) -> Refusal:
    return refusal(403, "header_dlp", f"the {header} header contains a secret ({pattern}) and bot-bottle did not "
                   "put it there", "do not send credentials yourself; declare them as bottle credentials")


def host_data(where: str, entry: str, why: str) -> Refusal:
    return refusal(403, "host_data", f"the host name {where} looks like it carries data in the labels "
                   f"under the allowlist entry {entry}: {why}; resolving it would send that data out "
                   "in a DNS lookup, so it was not resolved", "use the host's real name, or list it "
                   "exactly in egress.allowlist (docs/dns.md)")


def host_rate(where: str, entry: str, per_minute: int, retry_after: int) -> Refusal:
    return refusal(429, "host_rate", f"{where} would be the name number {per_minute + 1} under the "
                   f"allowlist entry {entry} resolved for the first time within a minute (at most "
                   f"{per_minute}: each new name is a DNS lookup that leaves the bottle)",
                   f"retry in {retry_after} s, or list the hosts exactly in egress.allowlist",
                   Retry_After=str(retry_after))


def encoded_secret(pattern: str, how: str) -> Refusal:
    return refusal(403, "encoded_secret", f"the request body carries a secret ({pattern}) encoded as {how}",
                   "do not send secrets, encoded or not")


# -- the model lane (model_lane/; docs/model-lane.md) ---------------------------------------
def model_refusal(status: int, code: str, what: str, todo: str) -> Refusal:
    """A model-lane refusal: the Anthropic API's error JSON (permission_error for 403,
    invalid_request_error otherwise), readable by the agent."""
    kind = "permission_error" if status == 403 else "invalid_request_error"
    return Refusal(status, code, what, todo, (), kind)


# The Messages API's error types by status (docs.anthropic.com "Errors").
API_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                   404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error"}


def on_model_lane(r: Refusal) -> Refusal:
    """Any refusal as the model lane answers it: in the API's error JSON (so Claude Code prints
    the reason), the same status, code and text. A refusal in a protocol's own format (git's
    report-status: git_push.PushRefused) is left as it is."""
    if r.api_error is not None or type(r) is not Refusal:
        return r
    kind = API_ERROR_TYPES.get(r.status, "api_error" if r.status >= 500 else "invalid_request_error")
    return Refusal(r.status, r.code, r.what, r.todo, r.extra_headers, kind)


def model_identity(header: str, provider: str) -> Refusal:
    return model_refusal(403, "model_identity", f"the {header} header of this request to the {provider} API "
                         "carries an identity that is not this bottle's own (only the bottle's credential may "
                         "reach the model provider, whatever the value's format)",
                         "send the placeholder the bottle gave you, or no such header; bot-bottle puts the "
                         "bottle's own credential in")


def model_login(provider: str) -> Refusal:
    return model_refusal(403, "model_login", f"logging in to {provider} from inside the bottle is refused "
                         "(the token it returns would be a credential the agent holds)",
                         "on the host run `claude setup-token` and pass the token to the bottle as "
                         "CLAUDE_CODE_OAUTH_TOKEN (or pass ANTHROPIC_API_KEY)")


def model_server_egress(what: str) -> Refusal:
    return model_refusal(403, "model_server_egress", f"this request would make the model provider reach {what}, "
                         "outside the bottle's allowlist",
                         "drop it, or allow it in the manifest (bottles.NAME.model.server_hosts, "
                         "bottles.NAME.model.web_search)")


def model_unparseable(why: str) -> Refusal:
    return model_refusal(400, "model_unparseable", f"the request to the model API cannot be judged: {why}",
                         "send one JSON object (UTF-8, no duplicate keys)")
