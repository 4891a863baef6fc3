"""The linear-time spellings of three pipelock patterns (linear_patterns.py: the
environment-variable name, the Discord bot token, the JWT) find exactly what pipelock's own
spelling finds, at the same places, on texts made to hold many near misses: runs of the
patterns' characters broken by the characters that end them. Both users are compared: the
model lane's redaction (the secret's span) and the addon's DLP (dlp.COMPILED_PATTERNS, case
folded, where each match must end where pipelock's does).
"""

import random
import re

import pytest

from bot_bottle_addon.dlp import COMPILED_PATTERNS, PIPELOCK_DEFAULT_DLP_PATTERNS
from bot_bottle_addon.linear_patterns import LINEAR
from bot_bottle_addon.model_lane.patterns import OVERRIDES, PATTERNS, Pattern
from bot_bottle_addon.placeholder_pattern import (ENV_NAME, ENV_SECRET_NAME, ENV_SECRET_RE2, env_secret,
                                                  value_not_placeholder)

PIPELOCK = {name: rx for _line, name, rx, _sev, _val in PIPELOCK_DEFAULT_DLP_PATTERNS}
# pipelock's spelling, with the lane's other change kept (the value group, placeholders left out)
AS_PIPELOCK_WRITES_IT = {
    "Discord Bot Token": PIPELOCK["Discord Bot Token"],
    "JWT Token": PIPELOCK["JWT Token"],
    ENV_SECRET_NAME: env_secret(ENV_NAME, "(?P<v>" + value_not_placeholder() + ")"),
}

PIECES = {
    "Discord Bot Token": (["M", "N", "m", "n", "a", "Z", "0", "9", "MTk4NjIy", "x" * 23, "N" * 24,
                           "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs", ".Cl2FMQ.", "Zn" * 14],
                          [".", ".", "-", "_", " ", "\n"]),
    "JWT Token": (["ey", "eyJ", "e", "y", "A", "z", "0", "_", "-", "=", "J" * 10, "eyJhbGciOiJIUzI1NiJ9",
               "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
               ".eyJzdWIiOiIxMjM0NTY3ODkwIn0."],
                  [".", ".", " ", "/", "\n"]),
    ENV_SECRET_NAME: (["A", "Z", "9", "0", "AWS", "MY", "SECRET", "TOKEN", "API", "KEY", "ACCESS",
                       "PASSWORD", "_", "-", "a", "hunter2222", "bot-bottle-placeholder-x",
                       "DB_PASSWORD=correct-horse", "_TOKEN=", "9X_API_KEY"],
                      ["=", " = ", " ", "_", "-", "\n", "=s3cr3tValue!"]),
}


def texts(name, count=400, seed=7):
    rng = random.Random(seed)
    parts, ends = PIECES[name]
    for _ in range(count):
        out = []
        for _ in range(rng.randint(1, 60)):
            out.append(rng.choice(parts) * rng.choice([1, 1, 1, 2, 5, 12]))
            if rng.random() < 0.3:
                out.append(rng.choice(ends))
        yield "".join(out)


def lane_pattern(name):
    return next(p for p in PATTERNS if p.name == name)


@pytest.mark.parametrize("name", sorted(AS_PIPELOCK_WRITES_IT))
def test_the_fast_spelling_finds_what_pipelocks_spelling_finds(name):
    fast, slow = lane_pattern(name), Pattern(name, AS_PIPELOCK_WRITES_IT[name], None)
    assert OVERRIDES[name] != AS_PIPELOCK_WRITES_IT[name]
    seen = 0
    for text in texts(name):
        folded = text.lower()
        want = list(slow.spans(text, folded))
        assert list(fast.spans(text, folded)) == want, text
        seen += bool(want)
    assert seen >= 40, "too few texts with a match to compare"


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_the_addons_dlp_matches_where_pipelocks_spelling_does(name):
    ours = next(rx for n, rx, _v in COMPILED_PATTERNS if n == name)
    theirs = re.compile(ENV_SECRET_RE2 if name == ENV_SECRET_NAME else PIPELOCK[name], re.IGNORECASE)
    assert ours.pattern != theirs.pattern
    seen = 0
    for text in texts(name, seed=11):
        want = [m.end() for m in theirs.finditer(text)]
        assert [m.end() for m in ours.finditer(text)] == want, text
        seen += bool(want)
    assert seen >= 40, "too few texts with a match to compare"


@pytest.mark.parametrize("name, text, secret", [
    ("Discord Bot Token", "token: MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs ok",
     "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"),
    ("Discord Bot Token", "xyzMTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs",
     "MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs"),
    ("JWT Token", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
     "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    (ENV_SECRET_NAME, "export 9DB_PASSWORD=correct-horse-battery", "correct-horse-battery"),
    (ENV_SECRET_NAME, "MY_APP_TOKEN=ghx_abcdefgh12345678", "ghx_abcdefgh12345678"),
])
def test_real_shapes_are_still_found(name, text, secret):
    p = lane_pattern(name)
    assert [text[s:e] for s, e in p.spans(text, text.lower())] == [secret]
