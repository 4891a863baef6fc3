"""Real-format sample values and configs for the host-run addon tests: deterministic values of
real credentials' formats and lengths (no real secret), and an addon config like the one the
Rust side renders (snapshots/*.snap)."""

import hashlib

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def fake_key(prefix: str, n: int, seed: str, alphabet: str = ALNUM) -> str:
    """A deterministic value of a real credential's format and length."""
    out, i = [], 0
    while len(out) < n:
        for b in hashlib.sha256(f"{seed}-{i}".encode()).digest():
            out.append(alphabet[b % len(alphabet)])
        i += 1
    return prefix + "".join(out[:n])


ANTHROPIC_KEY = fake_key("sk-ant-api03-", 93, "api", ALNUM + "-_") + "AA"  # 108 characters, as issued
OAUTH_TOKEN = fake_key("sk-ant-oat01-", 95, "oat", ALNUM + "-_")
GITHUB_TOKEN = fake_key("ghp_", 36, "git")  # classic PAT: ghp_ + 36
GUARDED_VALUE = "tOk3n-9f8A7b6C5d4E3f2G1h0-zzQ"  # a forwarded secret: high entropy, >= 16 characters
PIPELOCK = "bot-bottle-pipelock-forger-01234567"
MITM = "bot-bottle-mitm-forger-01234567"

CREDENTIALS = [
    {"name": "ANTHROPIC_API_KEY", "env": "BOT_BOTTLE_CREDENTIAL_ANTHROPIC_API_KEY", "value": ANTHROPIC_KEY,
     "hosts": ["api.anthropic.com"], "header": "x-api-key", "scheme": None,
     "placeholder": "bot-bottle-placeholder-ANTHROPIC_API_KEY"},
    {"name": "CLAUDE_CODE_OAUTH_TOKEN", "env": "BOT_BOTTLE_CREDENTIAL_CLAUDE_CODE_OAUTH_TOKEN", "value": OAUTH_TOKEN,
     "hosts": ["api.anthropic.com"], "header": "Authorization", "scheme": "Bearer",
     "placeholder": "bot-bottle-placeholder-CLAUDE_CODE_OAUTH_TOKEN"},
    {"name": "GIT_TOKEN", "env": "BOT_BOTTLE_CREDENTIAL_GIT_TOKEN", "value": GITHUB_TOKEN,
     "hosts": ["github.com", "*.github.com"], "header": "authorization", "scheme": "Basic",
     "placeholder": "bot-bottle-placeholder-GIT_TOKEN", "username": "x-access-token"},
]
GUARDED = [{"name": "LEAK_TOKEN", "env": "BOT_BOTTLE_GUARDED_LEAK_TOKEN", "value": GUARDED_VALUE}]


def addon_config(credentials=None, guarded=None, **overrides) -> dict:
    """The addon config (schema v1) the product renders for these credentials."""
    creds = CREDENTIALS if credentials is None else credentials
    guard = GUARDED if guarded is None else guarded
    cfg = {
        "version": 1,
        "pipelock": f"{PIPELOCK}:8888",
        "max_body_bytes": 16 * 1024 * 1024,
        "sidecars": [PIPELOCK, MITM],
        "credentials": [{k: v for k, v in c.items() if k != "value"} for c in creds],
        "guarded": [{k: v for k, v in g.items() if k != "value"} for g in guard],
        "unscanned_headers": ["authorization", "x-api-key"],
    }
    cfg.update(overrides)
    return cfg


def addon_env(credentials=None, guarded=None) -> dict:
    """mitmproxy's environment: the real values, by the variables the config names."""
    creds = CREDENTIALS if credentials is None else credentials
    guard = GUARDED if guarded is None else guarded
    return {c["env"]: c["value"] for c in [*creds, *guard]}


def parsed(**overrides):
    """The parsed Config of addon_config(**overrides) with addon_env()."""
    from bot_bottle_addon.config import parse_config
    return parse_config(addon_config(**overrides), addon_env())
