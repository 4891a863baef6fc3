"""ModelLaneJudge: one model request's body judged and made ready for the provider: parsed (strictly), server-side egress checked, redacted per content block through the bottle's verdict cache; the result or the refusal; pure, no I/O.

The provider receives the body as sent when nothing was redacted, else the parsed request
re-serialised with the redactions (image bytes and every other string unchanged). Duplicate
keys, NaN/Infinity, invalid UTF-8, a body that is not JSON: refused (`model_unparseable`),
never forwarded unjudged (the model pipelock does not scan bodies).
"""

import json
from dataclasses import dataclass, field

from ..config import Known
from ..refusal import Refusal, model_unparseable
from .cache import BlockCache
from .config import ModelLane
from .egress import EgressJudge
from .redact import Redactor

BLOCK_LISTS = ("system", "tools")  # top-level lists whose elements are judged (and cached) one by one


class Unparseable(ValueError):
    pass


@dataclass
class Judged:
    body: bytes  # what the provider gets
    redactions: dict = field(default_factory=dict)  # class -> count
    server_egress: list = field(default_factory=list)  # what the provider may reach for it
    refusal: Refusal | None = None


def _no_duplicates(pairs):
    d = dict(pairs)
    if len(d) != len(pairs):
        seen = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise Unparseable(f"the key {dup[:40]!r} appears twice in one object")
    return d


def _no_constant(name):
    raise Unparseable(f"{name} is not JSON")


def parse(body: bytes):
    try:
        return json.loads(body, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except Unparseable:
        raise
    except RecursionError:
        raise Unparseable("the JSON is nested too deeply") from None
    except UnicodeDecodeError:
        raise Unparseable("the body is not UTF-8") from None
    except ValueError as e:
        raise Unparseable(f"the body is not JSON ({e})") from None


def serialise(obj) -> bytes:
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (\ud800) in a string: keep it escaped
        return json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode()


class ModelLaneJudge:
    def __init__(self, lane: ModelLane, allowlist: tuple[str, ...], known: list[Known]):
        self.cache = BlockCache(lane.cache_bytes)
        self.redactor = Redactor(known, self.cache)
        self.egress = EgressJudge(lane, allowlist)

    def set_allowlist(self, allowlist: tuple[str, ...]) -> None:
        """The bottle's allowlist changed live (live_policy): egress is judged against it
        from the next request on (one attribute swap; a judgement in flight keeps the old)."""
        self.egress = EgressJudge(self.egress.lane, allowlist)

    def judge(self, body: bytes) -> Judged:
        """The body (already decoded from any Content-Encoding) judged. An empty body passes."""
        if not body.strip():
            return Judged(body)
        try:
            obj = parse(body)
            counts: dict = {}
            used: list = []
            out, refusal = self._top(obj, counts, used)
            if refusal is not None:
                return Judged(body, counts, used, refusal)
            new = serialise(out) if counts else body
        except Unparseable as e:
            return Judged(body, refusal=model_unparseable(str(e)))
        except (ValueError, RecursionError) as e:  # a float too large for JSON, nesting
            return Judged(body, refusal=model_unparseable(f"the JSON cannot be re-written ({type(e).__name__})"))
        return Judged(new, counts, used)

    def _top(self, obj, counts: dict, used: list):
        """A request: Messages-API parameters, or a batch of them (`requests[].params`)."""
        if not isinstance(obj, dict):
            return self.redactor.redact_value(obj, counts), None
        reqs = obj.get("requests")
        if isinstance(reqs, list) and any(isinstance(r, dict) and isinstance(r.get("params"), dict) for r in reqs):
            out = {}
            for k, v in obj.items():
                if k != "requests":
                    out[k] = self.redactor.redact_value(v, counts)
                    continue
                out[k] = []
                for r in v:
                    if isinstance(r, dict) and isinstance(r.get("params"), dict):
                        params, refusal = self._params(r["params"], counts, used)
                        if refusal is not None:
                            return None, refusal
                        r = {**{x: self.redactor.redact_value(y, counts) for x, y in r.items() if x != "params"},
                             "params": params}
                    else:
                        r = self.redactor.redact_value(r, counts)
                    out[k].append(r)
            return out, None
        return self._params(obj, counts, used)

    def _params(self, p: dict, counts: dict, used: list):
        urls: list = []
        out = {}
        for k, v in p.items():
            if k == "messages" and isinstance(v, list):
                out[k] = [self._message(m, counts, urls) for m in v]
            elif k in BLOCK_LISTS and isinstance(v, list):
                out[k] = [self.redactor.block(b, counts, urls) for b in v]
            elif k == "system" and isinstance(v, str):
                out[k] = self.redactor.block(v, counts, urls)
            else:
                out[k] = self.redactor.redact_value(v, counts)
        egress, refusal = self.egress.judge(p, urls)
        used.extend(egress)
        return out, refusal

    def _message(self, m, counts: dict, urls: list):
        if not isinstance(m, dict):
            return self.redactor.redact_value(m, counts)
        out = {}
        for k, v in m.items():
            if k == "content" and isinstance(v, list):
                out[k] = [self.redactor.block(b, counts, urls) for b in v]
            elif k == "content" and isinstance(v, str):
                out[k] = self.redactor.block(v, counts, urls)
            else:
                out[k] = self.redactor.redact_value(v, counts)
        return out
