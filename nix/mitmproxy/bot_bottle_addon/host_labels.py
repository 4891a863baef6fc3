"""Host names under a wildcard allowlist entry that carry data, and the cap on new names per entry per minute; pure, no I/O (the clock is handed in).

Why: pipelock resolves every allowed name it fetches, and that lookup leaves the bottle as
DNS, through the engine's resolver to whoever serves the domain's names. Under an exact
entry the name is fixed; under `*.example.com` the agent chooses the labels, and a name
like `7365637265745f6b6579.x.example.com` carries data in the lookup itself, before
pipelock refuses anything. So the addon judges the labels the wildcard lets the agent
choose, from the name alone, before any lookup, and caps how many new names per entry per
minute reach pipelock at all (what slips past the shape rules is bounded by the cap).
docs/dns.md gives the rules, the benign corpus they were tuned on, and their limits.
"""

import re
from collections import deque
from dataclasses import dataclass, field

from .refusal import Refusal, host_data, host_rate

MAX_LABELS = 6  # labels under the wildcard's apex (ElastiCache: name.id.ng.0001.use1.cache)
MAX_CHARS = 96  # characters under the apex (an S3 bucket of 63 plus .s3.dualstack.region)
MAX_HEX = 16  # one hex run (a load balancer's 16-hex id); 17+ carries data
MAX_DIGITS = 20  # one run of digits (account and project numbers are 12 to 16)
MAX_MIXED = 20  # one run of letters and digits (CloudFront ids are 14, Front Door's 16)
MAX_LETTERS = 16  # letters alone: from this length, a run without word-like vowels is data
# Data a name can carry, in bits, across all labels under the apex: each random-looking run
# counts what its alphabet holds per character (digits 3.3, hex 4, letters 4.7, letters and
# digits 5.2). 88 bits = 11 bytes; the most in the corpus is an AWS CDK bucket (85).
MAX_RANDOM_BITS = 88
BITS = {"digits": 3.32, "hex": 4.0, "letters": 4.7, "mixed": 5.17}
NEW_NAMES_PER_MINUTE = 20  # new names per wildcard entry, refused 429 beyond
WINDOW_SECONDS = 60.0
REMEMBERED = 4096  # names remembered per entry (a name seen before is not new)

VOWELS = frozenset("aeiouy")
HEX = re.compile(r"[0-9a-f]+")
SEGMENT_SPLIT = re.compile(r"[-_]+")
WORD_NUMBER = re.compile(r"([a-z]+)([0-9]+)|([0-9]+)([a-z]+)")


def wildcard_apexes(allowlist) -> list[str]:
    """The apexes of the allowlist's wildcard entries (`*.example.com` -> `example.com`),
    longest first: a name is judged under the most specific entry that covers it."""
    apexes = {e[2:].lower().rstrip(".") for e in allowlist if isinstance(e, str) and e.startswith("*.")}
    return sorted(apexes, key=len, reverse=True)


def covering_apex(host: str, apexes: list[str], exact: frozenset[str]) -> str | None:
    """The wildcard apex whose labels the agent chose in `host` (lower-cased, no trailing
    dot), or None when an exact entry names the host or no wildcard covers it."""
    if host in exact:
        return None
    for apex in apexes:
        if host.endswith("." + apex):
            return apex
    return None


def _vowel_ratio(s: str) -> float:
    return sum(ch in VOWELS for ch in s) / len(s)


def _random_bits(seg: str) -> tuple[float, str | None]:
    """(the bits of data one segment of a label may carry when it looks random, what is
    data-like on its own or None). Segments are a label's parts between `-`/`_`."""
    n = len(seg)
    digits = sum(ch.isdigit() for ch in seg)
    letters = n - digits
    if digits == n:
        if n > MAX_DIGITS:
            return n, f"a run of {n} digits"
        return (n * BITS["digits"] if n >= 6 else 0), None
    if digits and HEX.fullmatch(seg):
        if n > MAX_HEX:
            return n, f"a hex run of {n} characters"
        return (n * BITS["hex"] if n >= 4 else 0), None
    if digits:
        m = WORD_NUMBER.fullmatch(seg)
        if m and _vowel_ratio(m.group(1) or m.group(4)) >= 0.25:
            # a word and a number (`productionresultssa19`, `cluster0`): the number counts
            return _random_bits(m.group(2) or m.group(3))
        if n > MAX_MIXED:
            return n, f"a base32/base64-like run of {n} letters and digits"
        return (n * BITS["mixed"] if n >= 4 else 0), None
    word_like = _vowel_ratio(seg) >= 0.25 if letters else False
    if not word_like and n >= MAX_LETTERS:
        return n, f"a run of {n} letters without the vowels of words"
    if n > 63:
        return n, f"a label of {n} characters"
    return (n * BITS["letters"] if n >= 6 and not word_like else 0), None


def data_reason(host: str, apex: str) -> str | None:
    """What in the labels under `apex` looks like data, or None. `host` is as the agent
    sent it (case matters: upper-case letters are one more bit each)."""
    sub = host[: -(len(apex) + 1)]
    if sub != sub.lower():
        return "upper-case letters (a name's case can carry data)"
    if len(sub) > MAX_CHARS:
        return f"{len(sub)} characters (at most {MAX_CHARS})"
    labels = sub.split(".")
    if len(labels) > MAX_LABELS:
        return f"{len(labels)} labels (at most {MAX_LABELS})"
    total = 0
    for label in labels:
        for seg in SEGMENT_SPLIT.split(label):
            if not seg:
                continue
            bits, why = _random_bits(seg)
            if why:
                return f"{why} in label {label!r}"
            total += bits
    if total > MAX_RANDOM_BITS:
        return (f"random-looking runs across its labels that can carry {total:.0f} bits "
                f"(at most {MAX_RANDOM_BITS})")
    return None


@dataclass
class _Entry:
    recent: deque = field(default_factory=deque)  # (time, name) of new names in the window
    seen: dict = field(default_factory=dict)  # name -> None, insertion-ordered, bounded


@dataclass
class HostLabels:
    """The judge of names under wildcard entries, with the per-entry rate state."""

    apexes: list[str]
    exact: frozenset[str]
    per_minute: int = NEW_NAMES_PER_MINUTE
    entries: dict = field(default_factory=dict)

    @classmethod
    def from_allowlist(cls, allowlist) -> "HostLabels":
        exact = frozenset(e.lower().rstrip(".") for e in allowlist if isinstance(e, str) and not e.startswith("*."))
        return cls(wildcard_apexes(allowlist), exact)

    def with_allowlist(self, allowlist) -> "HostLabels":
        """The judge of another allowlist (a live approval), keeping the cap's state of the
        wildcard entries that stay (a reload does not reset the cap)."""
        labels = HostLabels.from_allowlist(allowlist)
        labels.per_minute = self.per_minute
        labels.entries = {k: v for k, v in self.entries.items() if k in labels.apexes}
        return labels

    def shape_refusal(self, host: str, where: str) -> Refusal | None:
        """A name whose labels under a wildcard entry look like data (`where` is quoted:
        host or host:port)."""
        h = host.strip().rstrip(".")
        apex = covering_apex(h.lower(), self.apexes, self.exact)
        if apex is None:
            return None
        why = data_reason(h, apex)
        return host_data(where, f"*.{apex}", why) if why else None

    def refusal(self, host: str, where: str, now: float) -> Refusal | None:
        """shape_refusal, then the cap: at most `per_minute` names under one wildcard entry
        reach pipelock for the first time in any 60 s (a name seen before is free)."""
        r = self.shape_refusal(host, where)
        if r is not None:
            return r
        h = host.strip().rstrip(".").lower()
        apex = covering_apex(h, self.apexes, self.exact)
        if apex is None:
            return None
        e = self.entries.setdefault(apex, _Entry())
        if h in e.seen:
            return None
        while e.recent and now - e.recent[0] >= WINDOW_SECONDS:
            e.recent.popleft()
        if len(e.recent) >= self.per_minute:
            wait = max(1, int(WINDOW_SECONDS - (now - e.recent[0])) + 1)
            return host_rate(where, f"*.{apex}", self.per_minute, wait)
        e.recent.append(now)
        e.seen[h] = None
        if len(e.seen) > REMEMBERED:
            e.seen.pop(next(iter(e.seen)))
        return None
