"""The addon's own refusals (docs/addon.md "The addon's own refusals"): the body format, the
reason header, and every code the catalogue makes documented."""

import inspect
import re

from bot_bottle_addon import refusal as catalogue
from bot_bottle_addon.refusal import Refusal, memory_budget, refusal, too_large
from conftest import REPO


def test_format():
    r = refusal(403, "internal_target", "x.internal names a sidecar", "use another host")
    assert r.body == b"blocked: bot-bottle: x.internal names a sidecar; use another host\n"
    assert r.headers == {"Content-Type": "text/plain; charset=utf-8", "X-Bot-Bottle-Block-Reason": "internal_target"}
    assert r.logged == ("internal_target", "blocked: bot-bottle: x.internal names a sidecar; use another host")


def test_memory_budget_says_when_to_retry():
    r = memory_budget(60_000_000, 67_108_864)
    assert (r.status, r.code, r.headers["Retry-After"]) == (503, "memory_budget", "2")
    assert "already holding 60000000 bytes of request bodies, its budget is 67108864 bytes" in r.text


def test_too_large_declared_and_counted():
    assert "the request body (20000000 bytes) exceeds the bottle's limit of 16777216 bytes" in \
        too_large(20_000_000, 16_777_216).text
    assert "the request body (more than 16777216 bytes) exceeds" in too_large(16_777_300, 16_777_216, exact=False).text


def catalogue_refusals() -> list[Refusal]:
    out = []
    for name, fn in inspect.getmembers(catalogue, inspect.isfunction):
        if fn.__module__ != catalogue.__name__ or name in ("refusal", "model_refusal", "on_model_lane"):
            continue
        args = {"where": "h:1", "host_header": "h", "host": "h", "port": 1, "size": 2, "max_body": 1,
                "buffered_total": 1, "budget": 2, "encoding": "br", "limit": 1, "coding": "gzip", "name": "N",
                "header": "x-api-key", "hosts": ["h"], "pattern": "P",
                "provider": "anthropic", "why": "W", "what": "W", "entry": "*.h",
                "per_minute": 20, "retry_after": 3, "how": "hex",
                "error": "pipelock at p:8888 is unreachable (refused); bot-bottle fails closed, the request was not sent"}
        params = inspect.signature(fn).parameters
        out.append(fn(**{k: args[k] for k in params if k in args}))
    return out


def test_every_refusal_code_is_documented():
    doc = (REPO / "docs" / "addon.md").read_text()
    table = doc[doc.index("## The addon's own refusals"):doc.index("## Behaviour")]
    documented = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\| `(\w+)` \| (\d+)", table, re.M)}
    made = catalogue_refusals()
    assert len(made) >= 15
    for r in made:
        assert r.code in documented, f"{r.code} is not in docs/addon.md's refusal table"
        assert r.status == documented[r.code], (r.code, r.status)
        assert r.text.startswith("blocked: bot-bottle: ") and r.text.endswith("\n") and r.text.count("\n") == 1


def test_on_the_model_lane_every_refusal_is_the_apis_error_json():
    import json
    from bot_bottle_addon.refusal import on_model_lane
    kinds = {}
    for r in catalogue_refusals():
        m = on_model_lane(r)
        assert (m.status, m.code, m.text, m.headers["X-Bot-Bottle-Block-Reason"]) == (r.status, r.code, r.text, r.code)
        assert m.headers["Content-Type"] == "application/json"
        err = json.loads(m.body)
        assert err["type"] == "error" and err["error"]["message"] == r.text.strip()
        kinds[r.status] = err["error"]["type"]
        assert all(m.headers[k] == v for k, v in r.headers.items() if k != "Content-Type")  # Retry-After kept
    assert kinds[403] == "permission_error" and kinds[413] == "request_too_large"
    assert kinds[503] == "api_error" and kinds[400] == "invalid_request_error"
