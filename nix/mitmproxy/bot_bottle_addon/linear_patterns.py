"""Linear-time Python spellings of the pipelock patterns that Python's `re` would run in time quadratic in their input, for the addon's header and body DLP and the model lane's redaction; pure, no I/O.

Why: pipelock's regex engine (Go's RE2) never backtracks; Python's does. Written as pipelock
writes them, three default patterns cost time quadratic in the length of a run of their
leading character class, because every start inside the run scans to its end: 100 KB of
base32 took 37 s for the environment-variable name, 1 MB of base64 prose 180 s for the
Discord token. Each is anchored here at the start of its run, with the leftmost possible
start inside the run found by a lazy, atomic prefix (Python 3.11+): the same matches, the
secret part as group `v` at the same place, each run scanned a bounded number of times.
tests/addon_unit/test_linear_patterns.py compares them with pipelock's spelling.
"""

from .placeholder_pattern import ENV_SECRET_NAME, env_secret, value_not_placeholder

# The name: from the start of its [A-Z0-9] run, digits, then a letter (as `[A-Z]` needs);
# pipelock's: placeholder_pattern.ENV_NAME.
ENV_NAME = (r"(?-i:(?<![A-Z0-9])[0-9]*[A-Z][A-Z0-9]*+[_-]"
            r"(?:SECRET(?:[_-]ACCESS)?[_-]?KEY|SECRET|PASSWORD|PASSWD|TOKEN|API[_-]?KEY))")
# Discord: the leftmost M/N of an alphanumeric run that a dot ends, with 23 more before it.
DISCORD = (r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]{24,}\.)(?>[A-Za-z0-9]*?(?=[MN][A-Za-z0-9]{23}))"
           r"(?P<v>[MN][A-Za-z0-9]*+\.[A-Za-z0-9\-_]{6}\.[A-Za-z0-9\-_]{27,})")
# JWT: the leftmost `ey` of a run of its characters that a dot ends, then the same again.
_JWT = r"A-Za-z0-9_\-="
JWT = (rf"(?<![{_JWT}])(?=[{_JWT}]{{12,}}\.)(?>[{_JWT}]*?(?=ey[{_JWT}]{{10}}))"
       rf"(?P<v>ey[{_JWT}]*+\.ey[{_JWT}]{{10,}}\.[{_JWT}]{{10,}})")


# By pipelock's pattern name (the environment-variable one as both pipelock configs carry
# it: blind to the bottle's placeholders).
LINEAR = {
    "Discord Bot Token": DISCORD,
    "JWT Token": JWT,
    ENV_SECRET_NAME: env_secret(ENV_NAME, value_not_placeholder()),
}
