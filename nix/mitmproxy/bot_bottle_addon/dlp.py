"""pipelock v2.3.0's default DLP patterns (verbatim) and validators, matched by the addon against the headers pipelock is told to skip; pure, no I/O.
"""

import base64
import binascii
import hashlib
import re
import unicodedata

from .encodings import URL_DECODE_DEPTH, percent_decodings
from .linear_patterns import LINEAR
from .refusal import Refusal, header_dlp

ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)

# pipelock v2.3.0's default DLP patterns, verbatim: internal/config/defaults.go (tag v2.3.0,
# commit 7a3b7de), the line number is the first field (the last entry: core.go). pipelock compiles each with a (?i)
# prefix (scanner.New); three have post-match validators (internal/scanner/validate.go).
# The addon applies them to the headers pipelock is told to skip (ignore_headers), which
# pipelock would otherwise have scanned with exactly these patterns.
PIPELOCK_DEFAULT_DLP_PATTERNS = [
    (71, 'Anthropic API Key', r'''sk-ant-[a-zA-Z0-9\-_]{10,}''', 'critical', None),
    (72, 'OpenAI API Key', r'''sk-proj-[a-zA-Z0-9\-_]{10,}''', 'critical', None),
    (73, 'OpenAI Service Key', r'''sk-svcacct-[a-zA-Z0-9\-]{10,}''', 'critical', None),
    (74, 'Fireworks API Key', r'''fw_[a-zA-Z0-9]{24,}''', 'critical', None),
    (75, 'Google API Key', r'''AIza[0-9A-Za-z\-_]{35}''', 'high', None),
    (76, 'Google OAuth Client Secret', r'''GOCSPX-[A-Za-z0-9_\-]{28,}''', 'critical', None),
    (78, 'Stripe Key', r'''[sr]k[-_](live|test)[-_][a-zA-Z0-9]{20,}''', 'critical', None),
    (80, 'Stripe Webhook Secret', r'''whsec_[a-zA-Z0-9_\-]{20,}''', 'critical', None),
    (83, 'GitHub Token', r'''gh[pousr]_[A-Za-z0-9_]{36,}''', 'critical', None),
    (84, 'GitHub Fine-Grained PAT', r'''github_pat_[a-zA-Z0-9_]{36,}''', 'critical', None),
    (86, 'GitLab PAT', r'''glpat-[a-zA-Z0-9\-_]{20,}''', 'critical', None),
    (92, 'AWS Access ID', r'''(AKIA|A3T|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16,}''', 'critical', None),
    (96, 'AWS Secret Key', r'''(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY|secret.?access.?key|SecretAccessKey)\s*["'=:\s]{1,5}\s*[A-Za-z0-9/+=]{40}''', 'critical', None),
    (97, 'Google OAuth Token', r'''ya29\.[a-zA-Z0-9_-]{20,}''', 'critical', None),
    (100, 'Slack Token', r'''xox[bpras]-[0-9a-zA-Z-]{15,}''', 'critical', None),
    (101, 'Slack App Token', r'''xapp-[0-9]+-[A-Za-z0-9_]+-[0-9]+-[a-f0-9]+''', 'critical', None),
    (102, 'Discord Bot Token', r'''[MN][A-Za-z0-9]{23,}\.[A-Za-z0-9\-_]{6}\.[A-Za-z0-9\-_]{27,}''', 'critical', None),
    (105, 'Twilio API Key', r'''SK[a-f0-9]{32}''', 'high', None),
    (106, 'SendGrid API Key', r'''SG\.[a-zA-Z0-9_-]{22}\.[a-zA-Z0-9_-]{43}''', 'critical', None),
    (107, 'Mailgun API Key', r'''key-[a-zA-Z0-9]{32}''', 'high', None),
    (111, 'New Relic API Key', r'''NRAK-[A-Z0-9]{27,}''', 'critical', None),
    (114, 'Hugging Face Token', r'''hf_[A-Za-z0-9]{20,}''', 'critical', None),
    (115, 'Databricks Token', r'''dapi[a-z0-9]{30,}''', 'critical', None),
    (116, 'Replicate API Token', r'''r8_[A-Za-z0-9]{20,}''', 'critical', None),
    (117, 'Together AI Key', r'''tok_[a-z0-9]{40,}''', 'critical', None),
    (119, 'Pinecone API Key', r'''pcsk_[a-zA-Z0-9]{36,}''', 'critical', None),
    (121, 'Groq API Key', r'''gsk_[a-zA-Z0-9]{48,}''', 'critical', None),
    (123, 'xAI API Key', r'''xai-[a-zA-Z0-9\-_]{80,}''', 'critical', None),
    (127, 'DigitalOcean Token', r'''dop_v1_[a-f0-9]{64}''', 'critical', None),
    (128, 'HashiCorp Vault Token', r'''hvs\.[a-zA-Z0-9]{23,}''', 'critical', None),
    (129, 'Vercel Token', r'''(?:vercel|vc[piark])_[a-zA-Z0-9]{24,}''', 'critical', None),
    (130, 'Supabase Service Key', r'''sb_secret_[a-zA-Z0-9_-]{20,}''', 'critical', None),
    (133, 'npm Token', r'''npm_[A-Za-z0-9]{36,}''', 'critical', None),
    (134, 'PyPI Token', r'''pypi-[A-Za-z0-9_-]{16,}''', 'critical', None),
    (137, 'Linear API Key', r'''lin_api_[a-zA-Z0-9]{40,}''', 'high', None),
    (138, 'Notion API Key', r'''ntn_[a-zA-Z0-9]{40,}''', 'high', None),
    (139, 'Sentry Auth Token', r'''sntrys_[a-zA-Z0-9]{40,}''', 'high', None),
    (142, 'Private Key Header', r'''-----BEGIN\s+(RSA\s+|EC\s+|DSA\s+|OPENSSH\s+)?PRIVATE\s+KEY-----''', 'critical', None),
    (143, 'JWT Token', r'''(ey[a-zA-Z0-9_\-=]{10,}\.){2}[a-zA-Z0-9_\-=]{10,}''', 'high', None),
    (148, 'Bitcoin WIF Private Key', r'''(?:5[1-9A-HJ-NP-Za-km-z]{50}|[KL][1-9A-HJ-NP-Za-km-z]{51})''', 'critical', 'wif'),
    (151, 'Extended Private Key', r'''[xyzt]prv[1-9A-HJ-NP-Za-km-z]{107,108}''', 'critical', None),
    (154, 'Ethereum Private Key', r'''0x[0-9a-f]{64}\b''', 'critical', None),
    (162, 'Social Security Number', r'''\b\d{3}-\d{2}-\d{4}\b''', 'low', None),
    (163, 'Google OAuth Client ID', r'''[0-9]{6,}-[0-9A-Za-z_]{32}\.apps\.googleusercontent\.com''', 'medium', None),
    (184, 'Credential in URL', r'''(?m)(?:^|[?&;])\s*(?:password|passwd|secret|token|apikey|api_key|api-key)\s*=\s*[^\s&]{4,}''', 'high', None),
    (196, 'Environment Variable Secret', r'''(?-i:[A-Z][A-Z0-9]*[_-](?:SECRET(?:[_-]ACCESS)?[_-]?KEY|SECRET|PASSWORD|PASSWD|TOKEN|API[_-]?KEY))\b\s*=\s*\S{8,}''', 'high', None),
    (205, 'Credit Card Number', r'''\b\d{4}(?:[- ]?\d){11,15}\b''', 'medium', 'luhn'),
    (206, 'IBAN', r'''\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b''', 'medium', 'mod97'),
    # pipelock's immutable core floor (internal/scanner/core.go, scanCoreDLP) repeats most of
    # the above and adds this one (core.go:68): 56 entries there, 49 distinct names here.
    (68, 'GCP Service Account Key', r'''"type"\s*:\s*"service_account"''', 'critical', None),
]


def _luhn(s: str) -> bool:
    d = [int(c) for c in s if c.isdigit()]
    n = len(d)
    if n < 15 or n > 19:
        return False
    p4 = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]
    ok = {4: n in (16, 19), 5: 1 <= d[1] <= 5 and n == 16,
          3: (n == 15) if d[1] in (4, 7) else (3528 <= p4 <= 3589 and 16 <= n <= 19),
          6: (p4 == 6011 or 6440 <= p4 <= 6499 or d[1] == 5) and n in (16, 19),
          2: 2221 <= p4 <= 2720 and n == 16}.get(d[0], False)
    if not ok:
        return False
    total = 0
    for i, x in enumerate(reversed(d)):
        if i % 2:
            x *= 2
            x -= 9 if x > 9 else 0
        total += x
    return total % 10 == 0


def _mod97(s: str) -> bool:  # pipelock also checks the per-country length table
    c = re.sub(r"[ -]", "", s).upper()
    if not 15 <= len(c) <= 34:
        return False
    r = c[4:] + c[:4]
    try:
        return int("".join(str(int(ch, 36)) for ch in r)) % 97 == 1
    except ValueError:
        return False


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _wif(s: str) -> bool:
    try:
        n = 0
        for ch in s:
            n = n * 58 + _B58.index(ch)
    except ValueError:
        return False
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    raw = b"\0" * (len(s) - len(s.lstrip("1"))) + raw
    if len(raw) < 5:
        return False
    body, check = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] != check or body[0] != 0x80:
        return False
    payload = body[1:]
    return len(payload) == 32 or (len(payload) == 33 and payload[32] == 1)


VALIDATORS = {"luhn": _luhn, "mod97": _mod97, "wif": _wif}
# The patterns as both pipelock configs have them: the defaults, with "Environment Variable
# Secret" overridden by name so the bottle's placeholders are not secrets (placeholder_pattern).
# Compiled from linear_patterns.py where pipelock's spelling would backtrack quadratically
# in Python (the same matches; the placeholder-blind environment-variable one included).
COMPILED_PATTERNS = [(name, re.compile(LINEAR.get(name, rx), re.IGNORECASE),
                      VALIDATORS.get(val))
                     for _line, name, rx, _sev, val in PIPELOCK_DEFAULT_DLP_PATTERNS]


def dlp_texts(value: str) -> list[str]:
    """The forms of a header value that are matched against the patterns: as sent,
    normalised (NFKC, zero-width characters removed), percent-/form-decoded, and each
    base64/hex-looking token decoded (e.g. the user:password of `Basic ...`)."""
    v = unicodedata.normalize("NFKC", value).translate(ZERO_WIDTH)
    out = [value, v]
    out.extend(percent_decodings(v, URL_DECODE_DEPTH))
    for tok in re.findall(r"[A-Za-z0-9+/_=-]{12,}", v):
        out.extend(_decodings(tok))
    return list(dict.fromkeys(out))  # an ASCII value is its own NFKC form: match it once


def _decodings(tok: str) -> list[str]:
    out = []
    t = tok.rstrip("=")
    for alt in (None, b"-_"):
        try:
            raw = base64.b64decode(t + "=" * (-len(t) % 4), altchars=alt, validate=True)
        except (binascii.Error, ValueError):
            continue
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", tok):
        try:
            out.append(bytes.fromhex(tok).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            pass
    return out


def dlp_match(value: str) -> str | None:
    for text in dlp_texts(value):
        for name, rx, validator in COMPILED_PATTERNS:
            for m in rx.finditer(text):
                if validator is None or validator(m.group(0)):
                    return name
    return None


def unscanned_header_refusal(headers, unscanned: frozenset[str], injected, placeholders: list[str]) -> Refusal | None:
    """The headers pipelock skips (`unscanned`, lower case) carry no secret the addon did
    not put there: each one it did not inject into (`injected`: lower-case names) is matched,
    with the credentials' placeholders removed (they may look like keys). `headers` are
    (name, value) pairs as received."""
    for name, value in headers:
        lname = name.lower()
        if lname not in unscanned or lname in injected:
            continue
        text = value
        for p in placeholders:
            text = text.replace(p, "")
        pattern = dlp_match(text)
        if pattern:
            return header_dlp(name, pattern)
    return None
