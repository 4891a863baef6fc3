"""The model lane's secret patterns: pipelock v2.3.0's default DLP set (its critical and high ones) as redaction classes, each with the span it replaces, matched fast (case folded once per text); pure, no I/O.

Speed: Python's `re` loses its literal-prefix search under IGNORECASE (about 12 ms per MB per
pattern here). pipelock's `(?i)` is ASCII case folding in practice, so each pattern is
lower-cased (letters outside escapes) and matched case-sensitively against the text with
A-Z folded to a-z, a translation that keeps every offset: about 90 ms per MB for the whole
set instead of 550 ms. Patterns with a case-sensitive part (`(?-i:…)`) run on the text as is.
"""

import re

from ..dlp import PIPELOCK_DEFAULT_DLP_PATTERNS, VALIDATORS
from ..linear_patterns import ENV_NAME, LINEAR
from ..placeholder_pattern import ENV_SECRET_NAME, env_secret, value_not_placeholder

FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

# class slug per pipelock pattern name: the redaction's `<redacted:CLASS>`, the log's key
CLASSES = {
    "Anthropic API Key": "anthropic-api-key", "OpenAI API Key": "openai-api-key",
    "OpenAI Service Key": "openai-service-key", "Fireworks API Key": "fireworks-api-key",
    "Google API Key": "google-api-key", "Google OAuth Client Secret": "google-oauth-client-secret",
    "Stripe Key": "stripe-key", "Stripe Webhook Secret": "stripe-webhook-secret",
    "GitHub Token": "github-token", "GitHub Fine-Grained PAT": "github-pat", "GitLab PAT": "gitlab-pat",
    "AWS Access ID": "aws-access-id", "AWS Secret Key": "aws-secret-key",
    "Google OAuth Token": "google-oauth-token", "Slack Token": "slack-token",
    "Slack App Token": "slack-app-token", "Discord Bot Token": "discord-bot-token",
    "Twilio API Key": "twilio-api-key", "SendGrid API Key": "sendgrid-api-key",
    "Mailgun API Key": "mailgun-api-key", "New Relic API Key": "new-relic-api-key",
    "Hugging Face Token": "hugging-face-token", "Databricks Token": "databricks-token",
    "Replicate API Token": "replicate-api-token", "Together AI Key": "together-ai-key",
    "Pinecone API Key": "pinecone-api-key", "Groq API Key": "groq-api-key", "xAI API Key": "xai-api-key",
    "DigitalOcean Token": "digitalocean-token", "HashiCorp Vault Token": "vault-token",
    "Vercel Token": "vercel-token", "Supabase Service Key": "supabase-service-key", "npm Token": "npm-token",
    "PyPI Token": "pypi-token", "Linear API Key": "linear-api-key", "Notion API Key": "notion-api-key",
    "Sentry Auth Token": "sentry-auth-token", "Private Key Header": "private-key", "JWT Token": "jwt",
    "Bitcoin WIF Private Key": "bitcoin-wif-key", "Extended Private Key": "extended-private-key",
    "Ethereum Private Key": "ethereum-private-key", "Credential in URL": "credential-in-url",
    "Environment Variable Secret": "env-secret", "GCP Service Account Key": "gcp-service-account-key",
}

# Where the model lane's regex differs from pipelock's:
# - a name before the value (`AWS_SECRET_ACCESS_KEY=`, `FOO_TOKEN=`, `?token=`): only the value
#   (group `v`) is replaced, so the model still reads which setting it was;
# - a PEM header is widened to the whole block when its END line follows (the key's body is the
#   secret, the header only its label);
# - "Credential in URL" only after `?`, `&` or `;`: pipelock also matches `name=value` at the
#   start of a line, which in a conversation is source code (`password = form["password"]`);
# - "Environment Variable Secret" ignores the bottle's placeholders (as both pipelock configs);
# - "AWS Access ID" case-sensitive, as AWS issues them (upper case; pipelock folds case).
OVERRIDES = {
    # linear_patterns.py: Python's `re` would take quadratic time on them as pipelock writes
    # them (its environment-variable one is replaced below, with the value as group `v`)
    **LINEAR,
    "AWS Access ID": r"(?-i:(?:AKIA|A3T|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16,})",
    "AWS Secret Key": r"(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY|secret.?access.?key|SecretAccessKey)"
                      r"""\s*["'=:\s]{1,5}\s*(?P<v>[A-Za-z0-9/+=]{40})""",
    "Credential in URL": r"[?&;]\s*(?:password|passwd|secret|token|apikey|api_key|api-key)\s*=\s*(?P<v>[^\s&]{4,})",
    ENV_SECRET_NAME: env_secret(ENV_NAME, "(?P<v>" + value_not_placeholder() + ")"),
    "Private Key Header": r"-----BEGIN\s+(?P<kind>RSA\s+|EC\s+|DSA\s+|OPENSSH\s+|ENCRYPTED\s+)?PRIVATE\s+KEY-----"
                          r"(?:[A-Za-z0-9+/=\s:,\-]{0,16384}?-----END\s+(?P=kind)?PRIVATE\s+KEY-----)?",
}

# Left out on the model lane (pipelock's low/medium severity: personal data and public ids,
# common in code and test fixtures): pipelock still refuses them on the web lane.
LEFT_OUT = {"Social Security Number", "Credit Card Number", "IBAN", "Google OAuth Client ID"}


def fold_pattern(rx: str) -> str:
    """`rx` with its letters lower-cased, except escapes (`\\S`, `\\b`) and group names."""
    out, i = [], 0
    while i < len(rx):
        if rx[i] == "\\":
            out.append(rx[i:i + 2])
            i += 2
        elif rx.startswith("(?P<", i) or rx.startswith("(?P=", i):
            j = rx.index(">" if rx[i + 3] == "<" else ")", i)
            out.append(rx[i:j + 1])
            i = j + 1
        else:
            out.append(rx[i].lower())
            i += 1
    return "".join(out)


class Pattern:
    """One redaction class. `folded`: matched against the case-folded text."""

    __slots__ = ("name", "cls", "rx", "folded", "validator")

    def __init__(self, name: str, rx_text: str, validator):
        self.name, self.cls, self.validator = name, CLASSES[name], validator
        self.folded = "(?-i:" not in rx_text
        self.rx = re.compile(fold_pattern(rx_text) if self.folded else rx_text)

    def spans(self, text: str, folded: str):
        """(start, end) of each match's secret part (group `v` when the pattern has one)."""
        has_v = "v" in self.rx.groupindex
        for m in self.rx.finditer(folded if self.folded else text):
            if self.validator is not None and not self.validator(text[m.start():m.end()]):
                continue
            yield m.span("v") if has_v else m.span()

    def hit(self, text: str, folded: str) -> bool:
        return next(self.spans(text, folded), None) is not None


PATTERNS = [Pattern(name, OVERRIDES.get(name, rx), VALIDATORS.get(val))
            for _line, name, rx, _sev, val in PIPELOCK_DEFAULT_DLP_PATTERNS if name not in LEFT_OUT]


def find_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, class) of every secret in `text`, non-overlapping: of overlapping
    matches the one starting first (then the longest) wins."""
    folded = text.translate(FOLD)
    found = [(s, e, p.cls) for p in PATTERNS for s, e in p.spans(text, folded) if e > s]
    found.sort(key=lambda x: (x[0], -x[1]))
    out, end = [], -1
    for s, e, c in found:
        if s >= end:
            out.append((s, e, c))
            end = e
    return out


def any_hit(text: str) -> bool:
    folded = text.translate(FOLD)
    return any(p.hit(text, folded) for p in PATTERNS)
