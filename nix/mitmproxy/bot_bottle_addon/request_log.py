"""The request log (docs/addon.md, a contract with the Rust side): a request's verdict, the line's fields, pipelock_reason_code; pure, no I/O (the entry script writes the line).
"""

import time

from .config import Known
from .flow_state import FlowState
from .known_values import redact

REASON_MAX = 300
PIPELOCK_DOWN_MARK = "bot-bottle fails closed, the request was not sent"
NESTED_CONNECT_MARK = "HTTP CONNECT request even though it is not running in regular"


def path_without_query_values(path: str) -> str:
    base, sep, query = path.partition("?")
    if not sep:
        return base
    keys = []
    for part in query.split("&"):
        if not part:
            continue
        k, eq, _ = part.partition("=")
        keys.append(k + ("=" if eq else ""))
    return base + "?" + "&".join(keys)


def pipelock_reason_code(text: str) -> str:
    """A stable code for a pipelock v2.3.0 block text (internal/proxy/forward.go,
    internal/proxy/bodyscan.go, internal/scanner/scanner.go)."""
    t = text.lower()
    table = [
        ("domain not in allowlist", "allowlist"), ("domain blocked", "allowlist"),
        ("request header contains secret", "header_dlp"),
        ("request body exceeds max_body_bytes", "body_too_large"),
        ("compressed", "compressed"), ("content-encoding", "compressed"),
        ("request body contains secret", "body_dlp"),
        ("environment variable leak", "env_leak"),
        ("rate limit exceeded", "rate_limit"),
        ("ssrf check failed: dns", "dns"), ("ssrf blocked", "ssrf"),
        ("response", "response_scan"),
        ("dlp match", "url_dlp"), ("high entropy", "url_dlp"), ("url length", "url_dlp"),
        ("crlf", "url_dlp"), ("path traversal", "url_dlp"),
    ]
    for needle, code in table:
        if needle in t:
            return code
    return "other"


def may_be_pipelock_verdict(status: int, content_type: str, content_length: str) -> bool:
    """A response that may be pipelock's own verdict: a small text/plain 403/429/502. Such a
    response is buffered rather than streamed, so its text can be quoted in the log."""
    if status not in (403, 429, 502):
        return False
    if not content_type.lower().startswith("text/plain"):
        return False
    return content_length.isdigit() and int(content_length) <= 8192


def verdict(refused: tuple[str, str] | None, error: str | None, status: int | None,
            buffered_text: str | None) -> tuple[str, str | None, str | None, str | None]:
    """(verdict, by, reason_code, reason) of a finished flow: the addon's own refusal
    (`refused`), else mitmproxy's error text (`error`), else a pipelock verdict read from the
    text of a buffered (not streamed) 403/429/502 answer (`buffered_text`), else allowed."""
    if refused is not None:
        code, reason = refused
        return "refused", "bot-bottle", code, reason
    if error is not None:
        if PIPELOCK_DOWN_MARK in error:
            return "failed", "bot-bottle", "pipelock_unavailable", error
        if NESTED_CONNECT_MARK in error:
            return "refused", "bot-bottle", "nested_connect", error
        return "failed", None, "connection_error", error
    if buffered_text is not None and status in (403, 429, 502):
        first = buffered_text.split("\n", 1)[0]
        if status == 502 and first.strip() == "forward proxy fetch failed":
            return "failed", "pipelock", "fetch_failed", first
        if first.startswith("blocked: ") or first.startswith("CONNECT blocked: "):
            return "blocked", "pipelock", pipelock_reason_code(first), first
    return "allowed", None, None, None


def log_line(st: FlowState, flow_id: str, method: str, host: str, status: int | None,
             outcome: tuple[str, str | None, str | None, str | None], bytes_down: int,
             known: list[Known], now_monotonic: float) -> dict:
    """The request's log line (keys in the documented order). `method`/`host` are used when
    the flow state has none; known values are redacted from host, path and reason."""
    v, by, code, reason = outcome
    return {
        "bot_bottle": "request", "v": 1,
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(st.ts)) + f".{int(st.ts * 1000) % 1000:03d}Z",
        "id": flow_id, "method": st.method or method,
        "scheme": st.scheme, "host": redact(st.host or host, known), "port": st.port,
        "path": redact(path_without_query_values(st.path), known) if st.path is not None else None,
        "status": status, "verdict": v, "by": by, "reason_code": code,
        "reason": redact(reason, known)[:REASON_MAX] if reason else reason,
        "credential": ",".join(st.credentials) or None,
        "bytes_up": st.body_len if v == "allowed" or (v == "failed" and by != "bot-bottle") else 0,
        "bytes_down": bytes_down,
        "duration_ms": round((now_monotonic - st.t0) * 1000, 1),
        "lane": st.lane,
        "redactions": dict(st.redactions),
        "server_egress": list(st.server_egress),
    }
