"""The model lane (issue 18; docs/model-lane.md): requests to a model provider's API judged by a policy of their own; pure, no I/O.

    config     the `allowlist` and `model_lane` config keys: ModelLane, Provider, Login
    identity   identity pinning (only the bottle's own credential reaches the provider), login refusal
    egress     server-side egress: mcp_servers, web_fetch/web_search and other server tools, URL sources
    patterns   the secret patterns (pipelock's default set, critical and high) as redaction classes
    redact     Redactor: the bottle's own values and the patterns replaced by `<redacted:CLASS>`
    cache      BlockCache: a verdict per content block by its sha256, bounded in bytes
    lane       ModelLaneJudge: a request body parsed, egress judged, redacted; the result or refusal
"""
