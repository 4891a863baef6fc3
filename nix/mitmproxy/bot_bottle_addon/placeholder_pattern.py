"""pipelock's "Environment Variable Secret" DLP pattern made blind to the bottle's placeholders (`ANTHROPIC_API_KEY=bot-bottle-placeholder-…` in `env` output is not a secret), in RE2 syntax so the pipelock configs can carry the same text; pure, no I/O.
"""

import re

PLACEHOLDER_PREFIX = "bot-bottle-placeholder-"
ENV_SECRET_NAME = "Environment Variable Secret"

# pipelock v2.3.0's pattern (internal/config/defaults.go:196) is ENV_NAME + r"\b\s*=\s*\S{8,}".
ENV_NAME = r"(?-i:[A-Z][A-Z0-9]*[_-](?:SECRET(?:[_-]ACCESS)?[_-]?KEY|SECRET|PASSWORD|PASSWD|TOKEN|API[_-]?KEY))"


def value_not_placeholder(min_len: int = 8) -> str:
    r"""An RE2- and Python-compatible regex for `\S{min_len,}` that does not start with
    `bot-bottle-placeholder-` (RE2 has no lookahead: built by alternation). Alternative k:
    the prefix's first k characters, then one that differs from its k-th, then the rest of
    at least min_len characters; plus each proper prefix of length >= min_len that ends at
    whitespace or the end of the text. Matched case-insensitively (pipelock adds `(?i)`),
    a value starting with the prefix in any case is not matched."""
    p = PLACEHOLDER_PREFIX
    alts = []
    for k, ch in enumerate(p):
        rest = min_len - k - 1
        tail = rf"\S{{{rest},}}" if rest > 0 else r"\S*"
        alts.append(re.escape(p[:k]) + rf"[^\s{re.escape(ch)}]" + tail)
    for k in range(min_len, len(p)):
        alts.append(re.escape(p[:k]) + r"(?:\s|$)")
    return "(?:" + "|".join(alts) + ")"


# The override, by name, of pipelock's pattern: in both pipelock configs (rendered by the Rust
# side from the same text); the addon matches the same with linear_patterns.py's spelling.
def env_secret(name_rx: str, value_rx: str) -> str:
    """pipelock's "Environment Variable Secret" shape: a name regex, then `=`, then a value regex."""
    return name_rx + r"\b\s*=\s*" + value_rx


ENV_SECRET_RE2 = env_secret(ENV_NAME, value_not_placeholder())
