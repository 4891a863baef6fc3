"""BlockCache: the model lane's verdict per content block, keyed by the sha256 of the block's JSON, least recently used first out, within a byte bound per bottle; pure, no I/O.

A conversation is resent whole on every turn; its blocks are judged once. An entry holds the
block's verdict: the redacted block's JSON (None when nothing was redacted: the block goes
on as sent), the redaction counts, the URLs the provider would fetch for it. Its cost is its
key, its JSON and a fixed overhead; the sum stays within `limit` bytes (0: no cache). Large
bodies are judged in worker threads (bottle_verdict.off_loop): every access holds a lock.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

ENTRY_OVERHEAD = 200  # bytes an entry costs beyond its redacted JSON (key, tuple, dict slot)


@dataclass(frozen=True)
class Verdict:
    redacted_json: str | None  # the block as the provider gets it; None = unchanged
    counts: dict = field(default_factory=dict)  # class -> redactions in the block
    urls: tuple[str, ...] = ()  # source URLs the provider would fetch

    @property
    def cost(self) -> int:
        return ENTRY_OVERHEAD + len(self.redacted_json or "") + sum(len(u) for u in self.urls)


class BlockCache:
    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0
        self.hits = 0
        self.misses = 0
        self._d: OrderedDict[bytes, Verdict] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._d)

    def get(self, key: bytes) -> Verdict | None:
        with self._lock:
            v = self._d.get(key)
            if v is None:
                self.misses += 1
                return None
            self._d.move_to_end(key)
            self.hits += 1
            return v

    def put(self, key: bytes, v: Verdict) -> None:
        cost = v.cost
        if cost > self.limit:
            return  # larger than the whole cache: judged again next time
        with self._lock:
            old = self._d.pop(key, None)
            if old is not None:
                self.used -= old.cost
            while self._d and self.used + cost > self.limit:
                _, gone = self._d.popitem(last=False)
                self.used -= gone.cost
            self._d[key] = v
            self.used += cost
