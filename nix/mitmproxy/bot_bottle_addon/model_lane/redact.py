"""Redactor: the model lane's redaction of a request's JSON: every string (and key) outside binary payloads searched for the bottle's own secret values (raw and encoded) and the secret patterns, each hit replaced by `<redacted:CLASS>`, per content block through the verdict cache; pure, no I/O.

Not searched (never changed): image/document `source.data` of a base64 source (binary data:
AWS-ID-looking text occurs in it by chance, and changing it breaks the image), a thinking
block's `signature` and a redacted_thinking block's `data` (the provider's own opaque blobs,
which it checks). Everything else that is a string is text the provider reads.
"""

import hashlib
import json

from ..config import Known
from .cache import BlockCache, Verdict
from .patterns import any_hit, find_spans

SEP = "\x00"  # joins a block's strings for the quick look (a match across it is only a false alarm)


def placeholder(cls: str) -> str:
    return f"<redacted:{cls}>"


def secret_class(name: str) -> str:
    return f"secret:{name}"


def _skipped(d: dict, key: str) -> bool:
    t = d.get("type")
    return ((key == "data" and t in ("base64", "redacted_thinking"))
            or (key == "signature" and t == "thinking"))


def _url_source(d: dict, key: str, v) -> str | None:
    """The URL of a `source` the provider fetches itself ({"type": "url", "url": ...})."""
    if key == "source" and isinstance(v, dict) and v.get("type") == "url" and isinstance(v.get("url"), str):
        return v["url"]
    return None


def strings_of(v, out: list) -> list:
    """Every string of a JSON value that is text (keys included, skipped places left out)."""
    if isinstance(v, str):
        out.append(v)
    elif isinstance(v, list):
        for x in v:
            strings_of(x, out)
    elif isinstance(v, dict):
        for k, x in v.items():
            out.append(k)
            if not _skipped(v, k):
                strings_of(x, out)
    return out


def urls_of(v, out: list) -> list:
    if isinstance(v, list):
        for x in v:
            urls_of(x, out)
    elif isinstance(v, dict):
        for k, x in v.items():
            u = _url_source(v, k, x)
            if u is not None:
                out.append(u)
            urls_of(x, out)
    return out


def canonical(v) -> bytes:
    """The JSON a block is keyed by (its own key order: a resent block is sent the same way)."""
    return json.dumps(v, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode()


class Redactor:
    def __init__(self, known: list[Known], cache: BlockCache):
        # the bottle's own values in every searched form, as text; longest first, so a
        # longer form is replaced before a shorter one inside it
        forms = [(f.decode("utf-8"), secret_class(k.name)) for k in known for f in k.forms]
        self.forms = sorted(forms, key=lambda x: len(x[0]), reverse=True)
        self.cache = cache

    # -- text ------------------------------------------------------------------------------
    def dirty(self, text: str) -> bool:
        return any(f in text for f, _ in self.forms) or any_hit(text)

    def redact_text(self, s: str, counts: dict) -> str:
        for f, cls in self.forms:
            if f in s:
                counts[cls] = counts.get(cls, 0) + s.count(f)
                s = s.replace(f, placeholder(cls))
        spans = find_spans(s)
        if not spans:
            return s
        parts, pos = [], 0
        for start, end, cls in spans:
            parts.append(s[pos:start])
            parts.append(placeholder(cls))
            counts[cls] = counts.get(cls, 0) + 1
            pos = end
        parts.append(s[pos:])
        return "".join(parts)

    def redact_value(self, v, counts: dict):
        if isinstance(v, str):
            return self.redact_text(v, counts)
        if isinstance(v, list):
            return [self.redact_value(x, counts) for x in v]
        if isinstance(v, dict):
            return {self.redact_text(k, counts): (x if _skipped(v, k) else self.redact_value(x, counts))
                    for k, x in v.items()}
        return v

    # -- blocks ----------------------------------------------------------------------------
    def judge_block(self, block) -> Verdict:
        """A block's verdict, from the cache when it was judged before. A dict block's
        `cache_control` is not part of it (Claude Code moves that marker between turns)."""
        bare = {k: x for k, x in block.items() if k != "cache_control"} if isinstance(block, dict) else block
        key = hashlib.sha256(canonical(bare)).digest()
        v = self.cache.get(key)
        if v is not None:
            return v
        urls = tuple(urls_of(bare, []))
        if self.dirty(SEP.join(strings_of(bare, []))):
            counts: dict = {}
            red = self.redact_value(bare, counts)
            v = Verdict(canonical(red).decode() if counts else None, counts, urls)
        else:
            v = Verdict(None, {}, urls)
        self.cache.put(key, v)
        return v

    def block(self, block, counts: dict, urls: list):
        """The block as the provider gets it; its redactions added to `counts`, its source
        URLs to `urls`."""
        v = self.judge_block(block)
        urls.extend(v.urls)
        for c, n in v.counts.items():
            counts[c] = counts.get(c, 0) + n
        if v.redacted_json is None:
            return block
        red = json.loads(v.redacted_json)
        if isinstance(block, dict) and "cache_control" in block:
            red["cache_control"] = block["cache_control"]
        return red
