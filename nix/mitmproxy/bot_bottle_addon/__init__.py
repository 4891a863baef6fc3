"""bot-bottle's verdict addon, its pure parts: no mitmproxy import, no I/O but where a module says so.

The package map (one line per module; docs/addon.md "Files" has the longer version):
    config        the addon config (schema v1): Config, Credential, Known, parse_config, the options
    hosts         host names: normalising, allowlist matching, IP literals, HOST:PORT, forbidden targets
    refusal       Refusal (status, code, text, headers) and every refusal the addon answers with
    encodings     request body decoding (gzip/deflate), percent decodings, a value's encoded forms
    known_values  known values (credentials' real values, guarded secrets): search and log redaction
    dlp           pipelock v2.3.0's default DLP patterns and validators, for the headers it skips
    decoded_dlp   secrets in a body's encoded runs (hex, base64, base32, percent; 3 layers), any content type
    injection     which declared header of a request gets a credential's real value
    request_log   the request log line and its verdict, pipelock_reason_code
    flow_state    FlowState, what the hooks remember about one flow
    rules         per-host method/path rules (egress.rules): the path as servers may read it, globs, refusal
    git_push      git push policy (git.push): receive-pack ref updates read (pkt-line), judged, git's answer
    linear_patterns  linear-time Python spellings of three pipelock patterns (same matches, no quadratic backtracking)
    placeholder_pattern  pipelock's "Environment Variable Secret" blind to the bottle's placeholders (RE2 text)
    model_lane    the model lane (subpackage): provider requests judged by their own policy (identity, egress, redaction)
    allowlist_hint  pipelock's allowlist block plus the way out: `bottle allow-host <id> <host>`
    host_labels   names under wildcard allowlist entries that carry data; new names per entry per minute
    live_policy   the hosts approved live (`bottle allow-host`): the file in the confdir, the config with them

The mitmproxy side sits next to the package: bottle_verdict.py (the `mitmdump -s` entry, the
hooks) and mitm_patches.py (the two wrappers around mitmproxy internals).
"""
