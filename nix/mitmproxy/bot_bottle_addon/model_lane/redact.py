"""Redactor: the model lane's redaction of a request's JSON: every string (and key) outside binary payloads searched for the bottle's own secret values (raw and encoded) and the secret patterns, raw and inside encoded runs (decoded_dlp's hex, base64, base32, percent, 3 layers), each hit replaced by `<redacted:CLASS>` (an encoded run whole), per content block through the verdict cache; pure, no I/O.

Not searched (never changed): image/document `source.data` of a base64 source (binary data:
AWS-ID-looking text occurs in it by chance, and changing it breaks the image), a thinking
block's `signature` and a redacted_thinking block's `data` (the provider's own opaque blobs,
which it checks). Everything else that is a string is text the provider reads.
"""

import hashlib
import itertools
import json

from ..config import Known
from ..decoded_dlp import Budget, run_forms, runs, wrapped_runs
from .cache import BlockCache, Verdict
from .patterns import any_hit, find_spans

SEP = "\x00"  # joins a block's strings for the quick look (a match across it is only a false alarm)
ENCODED_PASSES = 3  # a string's encoded runs searched again after a replacement (overlapping runs)


def _ascii(s: str) -> bytes:
    """`s` as bytes, one byte a character (anything not ASCII is `?`, in no encoded run), so a
    run's offsets are the string's."""
    return s.encode("ascii", "replace")


def _runs_of(b: bytes):
    """A text's encoded runs: on their own line or not, wrapped in lines; percent-encoded
    with one escape or more (`aws_secret_access_key%3D…` has three)."""
    return itertools.chain(runs(b, min_escapes=1), wrapped_runs(b))


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
        return any(f in text for f, _ in self.forms) or any_hit(text) or self._encoded_dirty(text)

    def _encoded_dirty(self, text: str) -> bool:
        """The quick look at a text's encoded runs: all their decoded forms searched at once."""
        b = _ascii(text)
        forms = [f.decode("latin-1") for _s, _e, fs in run_forms(_runs_of(b), Budget()) for _h, f in fs]
        if not forms:
            return False
        joined = SEP.join(forms)
        return any(f in joined for f, _ in self.forms) or any_hit(joined)

    def _decoded_class(self, forms) -> str | None:
        """The class of the secret in a run's decoded forms: a bottle's own value first, then
        the first pattern match, the most decoded form first (an intermediate base32 layer
        matches "AWS Access ID" by chance about once in 26,000 characters; the PEM key it
        encodes is the better name)."""
        deepest = sorted(forms, key=lambda hf: -hf[0].count(" then "))
        texts = [f.decode("latin-1") for _h, f in deepest]
        for t in texts:
            for f, cls in self.forms:
                if f in t:
                    return cls
        for t in texts:
            spans = find_spans(t)
            if spans:
                return spans[0][2]
        return None

    def redact_encoded(self, s: str, counts: dict) -> str:
        """`s` with each encoded run (hex, base64, base32, percent; wrapped in lines or not;
        nested up to 3 layers) whose decoded text holds a secret replaced whole by its
        class's placeholder."""
        for _ in range(ENCODED_PASSES):
            b = _ascii(s)
            found = sorted(_runs_of(b), key=lambda r: (r[0], -r[1]))
            parts, pos = [], 0
            for start, end, forms in run_forms(found, Budget()):
                if start < pos:
                    continue  # inside a run replaced already
                cls = self._decoded_class(forms)
                if cls is None:
                    continue
                parts += [s[pos:start], placeholder(cls)]
                counts[cls] = counts.get(cls, 0) + 1
                pos = end
            if not parts:
                return s
            parts.append(s[pos:])
            s = "".join(parts)
        return s

    def redact_text(self, s: str, counts: dict) -> str:
        for f, cls in self.forms:
            if f in s:
                counts[cls] = counts.get(cls, 0) + s.count(f)
                s = s.replace(f, placeholder(cls))
        spans = find_spans(s)
        if spans:
            parts, pos = [], 0
            for start, end, cls in spans:
                parts.append(s[pos:start])
                parts.append(placeholder(cls))
                counts[cls] = counts.get(cls, 0) + 1
                pos = end
            parts.append(s[pos:])
            s = "".join(parts)
        return self.redact_encoded(s, counts)

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
