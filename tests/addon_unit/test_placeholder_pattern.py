"""The "Environment Variable Secret" pattern blind to the bottle's placeholders (placeholder_pattern.py):
the same text overrides pipelock's pattern by name in both pipelock configs, and the addon's header
DLP uses it. It matches exactly what pipelock's default matches, except values that start with
`bot-bottle-placeholder-`."""

import itertools
import re

from bot_bottle_addon.dlp import PIPELOCK_DEFAULT_DLP_PATTERNS, dlp_match
from bot_bottle_addon.placeholder_pattern import ENV_SECRET_NAME, ENV_SECRET_RE2, PLACEHOLDER_PREFIX

DEFAULT = re.compile(next(rx for _, n, rx, _, _ in PIPELOCK_DEFAULT_DLP_PATTERNS if n == ENV_SECRET_NAME), re.I)
NEW = re.compile(ENV_SECRET_RE2, re.I)


def values():
    p = PLACEHOLDER_PREFIX
    out = ["bot-bottle-placeholder-ANTHROPIC_API_KEY", "BOT-BOTTLE-PLACEHOLDER-X", p, p[:-1], p[:8], p[:7],
           "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "replace-me-please",
           "short", "12345678", "bot-bottle-placeholdex-1234", "bot-bottlex", "b" * 30, "bo", "bot-bot-bot-bot"]
    # every prefix of the placeholder prefix, with every kind of continuation
    for k in range(len(p) + 1):
        for tail in ("", "x", "X", "-", "ZZZZZZZZZZ", " next", "\tz"):
            out.append(p[:k] + tail)
    return out


LINES = [f"{name}{sep}{v}" for name, sep, v in itertools.product(
    ["ANTHROPIC_API_KEY", "MY_SECRET", "DB_PASSWORD", "GH-TOKEN", "lower_token", "API_KEY"],
    ["=", " = ", "=\t"], values())]


def test_same_as_pipelocks_default_except_placeholders():
    assert len(LINES) > 3000
    for line in LINES:
        value = re.split(r"\s*=\s*", line, maxsplit=1)[1]
        expected = bool(DEFAULT.search(line)) and not value.lower().startswith(PLACEHOLDER_PREFIX)
        assert bool(NEW.search(line)) == expected, (line, ENV_SECRET_RE2)


def test_re2_compatible_text():
    assert "(?=" not in ENV_SECRET_RE2 and "(?!" not in ENV_SECRET_RE2 and "(?<" not in ENV_SECRET_RE2


def test_the_web_lanes_header_dlp_ignores_placeholder_lines():
    assert dlp_match("ANTHROPIC_API_KEY=bot-bottle-placeholder-ANTHROPIC_API_KEY") is None
    assert dlp_match("GIT_TOKEN=bot-bottle-placeholder-GIT_TOKEN; HOME=/home/agent") is None
    assert dlp_match("MY_API_KEY=Zx9-very-secret-value") == ENV_SECRET_NAME
