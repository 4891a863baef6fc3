#!/usr/bin/env python3
"""pipelock CONFORMANCE DOUBLE for bot-bottle's tests. NOT pipelock. The product never uses it.

No registry reachable from this project's machines serves the real pipelock binary, so CI runs
this stand-in. It imitates pipelock **v2.3.0** (tag v2.3.0, commit 7a3b7de4) in every behaviour
bot-bottle relies on; each piece of code below names the v2.3.0 source file (and function) it
follows. docs/pipelock.md describes pipelock itself, with file:line references, and lists what
tests/pipelock_conformance/ checks against this double and against a real pipelock.
Python 3 standard library only. Installed as /usr/local/bin/pipelock in the test image:

    pipelock run --config FILE [--listen ADDR] [--mode strict|balanced|audit]
    pipelock healthcheck [--addr HOST:PORT]      exit 0 when GET /health answers 200
    pipelock version                              (printed on stderr, like cobra's cmd.Printf)

What it follows (v2.3.0 file in brackets)
- Config [internal/config/load.go, schema.go, normalize.go, validate.go]: one document, strict
  at every depth: every key of v2.3.0's schema (450 keys, table SCHEMA below, generated from
  schema.go, canary.go and redact/config.go) is accepted with yaml.v3's type rules, any other key
  is a startup error `loading config: parsing config F: yaml: unmarshal errors:\n  line N: field K
  not found in type config.T` (exit 1). Omitted security booleans default to true
  (applySecurityDefaults), zero values get ApplyDefaults' defaults, then Validate's checks for the
  sections bot-bottle uses. DIFFERENCE: the file must be JSON (valid YAML, what the product
  renders); YAML-only syntax is refused with a clear error.
- Listener [internal/proxy/proxy.go Start/buildHandler + Go net/http]: HTTP/1.1 parsed like Go's
  server: request line split on single spaces, any RFC 7230 token is a method (`123 /health
  HTTP/1.1` reaches /health), Host required on HTTP/1.1, keep-alive and pipelining, 5 s header
  timeout, 10 s whole-request read timeout, 120 s idle timeout; CONNECT -> tunnel; absolute-form
  `http://` and `https://` -> forward proxy; /health; anything else 404 `404 page not found`.
- URL scanning [internal/scanner/scanner.go scan, core.go]: scheme, CRLF, path traversal,
  allowlist (strict mode only; `*.x` matches x and its subdomains), blocklist, core SSRF literal,
  core DLP, DLP patterns over the URL and its decodings, BIP-39 seed phrases, environment
  secrets (raw, URL-decoded, base64 std/url padded or not, hex, base32), path/query entropy
  (>= 20 chars, > 4.5 bits), subdomain entropy, SSRF (DNS resolution; private, loopback,
  link-local, CGNAT, multicast blocked unless trusted_domains / ssrf.ip_allowlist; DNS failure
  blocks), per-registrable-domain rate limit (60/min default), URL length. Reasons verbatim.
- Request bodies and headers [internal/proxy/bodyscan.go, forward.go]: compressed bodies
  refused, max_body_bytes (5 MiB default) fail-closed, JSON/form/multipart/text extraction,
  per-string then joined DLP scan [internal/scanner/text_dlp.go ScanTextForDLP]; headers in
  header_mode sensitive (default list) or all (minus ignore_headers; names scanned too), case
  insensitive (Go's CanonicalHeaderKey); `blocked: request header contains secret`.
- Forwarding [proxy.go NewProxy client, forward.go handleForwardHTTP]: upstream timeout
  fetch_proxy.timeout_seconds covers connect, redirects and the whole body (a stream is cut with a
  clean end), the client's Accept-Encoding is passed on (no transparent decompression),
  redirects followed inside (each hop scanned; the 5th redirect fails: 502), hop-by-hop and
  forwarded-client headers stripped, Go's Referer on redirects.
- Responses [forward.go, internal/proxy/sse.go, internal/mcp/sse_generic.go, scanner/response.go]:
  text/event-stream scanned event by event (sse_streaming action block ends the stream, warn
  logs), re-emitted as `event:/id:/retry:/data:` lines; other responses buffered up to
  max_response_mb (10 default) and cut there silently, then scanned for prompt injection
  (response_scanning.action, warn by default; core patterns always); compressed responses 403.
- Blocks [forward.go]: status 403 (429 rate limit), Go's http.Error: `Content-Type: text/plain;
  charset=utf-8`, `X-Content-Type-Options: nosniff`, body `blocked: <reason>\\n`. v2.3.0 sends
  NO X-Pipelock-Block-Reason header (that arrives in v2.4).
- Logs [internal/audit/logger.go]: zerolog-style JSON lines on stdout, pipelock's event names
  and fields (forward_http, blocked, header_dlp, body_dlp, anomaly, response_scan, redirect,
  tunnel_open, tunnel_close, error, startup, config_reload).
- Reload [internal/config/reload.go, internal/cli/runtime/server.go Reload,
  internal/config/reloadwarn.go]: SIGHUP or a change of the file re-reads it; a bad file keeps
  the old config (`pipelock: config reload failed: …` on stderr); the same file again within
  2 s is skipped; in strict mode a reload that weakens the config (mode, enforce, DLP
  patterns, body or response scanning, seed phrases, SSRF: trusted_domains or
  ssrf.ip_allowlist added, internal emptied, forward proxy off) is rejected (`error` event,
  method CONFIG_RELOAD, `rejected: security downgrade from strict mode`); widening
  api_allowlist is not a downgrade. Connections in flight keep going; success logs
  `config_reload` with the new file's SHA-256.

Differences from pipelock v2.3.0 (none matters to bot-bottle; docs/pipelock.md says why)
- JSON-as-YAML only (above), with YAML `#` comment lines. Keys of features bot-bottle does not use (MCP, WebSocket proxy,
  TLS interception, kill switch, emit, sandbox, agents, canary tokens, address protection,
  session profiling, adaptive enforcement, taint, redaction, suppress, browser shield, media
  policy, scan API, data budget, ...) are accepted and type-checked but their features are not
  implemented; a config that enables one gets a stderr warning. /fetch, /ws, /metrics, /stats
  and the kill-switch API are not implemented (404).
- Normalization is approximate: NFKC, Unicode confusables and invisible characters are handled
  (tables below), the response scanner's base64/hex decoding pass is not.
- Error texts that embed Go error values (DNS failures, dial errors) are shaped like Go's but
  not byte-equal. `logging.format: text` writes plain lines, not zerolog's console format.
- The rate limit groups hosts by registrable domain with a small public-suffix subset
  (PUBLIC_SUFFIXES below, plus the default rule "last label"), not the whole Mozilla list.
- Regexes run on Python's `re` with re.ASCII (RE2's \\b \\w \\s \\d are ASCII); RE2-only syntax
  in user patterns may not compile here.

Test-only environment knobs (NOT pipelock; never set in the image; tests set them)
- PIPELOCK_DOUBLE_WAIT_FOR="name1,name2": while any of these host names does not resolve,
  /health answers 503 {"status": "waiting", "unresolved": [...]} (a launcher waiting for
  pipelock's health also waits for the test network to be wired). Requests are served meanwhile.
- PIPELOCK_DOUBLE_SOURCE_ADDR=IP: bind upstream sockets to this local address, so a test on one
  host can tell the double's connections to an origin from anyone else's.
Variables named PIPELOCK_DOUBLE_* are never treated as secrets by scan_env.
"""

import argparse
import base64
import binascii
import datetime
import decimal
import hashlib
import http.client
import ipaddress
import json
import math
import os
import re
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import unicodedata
import urllib.parse

DOUBLE_VERSION = "2.3.0-test-double"   # what `pipelock version` and /health report

# --------------------------------------------------------------------------------------------
# Config schema: every YAML key pipelock v2.3.0 accepts, with its Go type. Generated from
# internal/config/schema.go, internal/config/canary.go and internal/redact/config.go (struct
# fields with a `yaml:"..."` tag, `yaml:"-"` excluded). yaml.v3 with KnownFields(true)
# (internal/config/load.go:33-37) rejects any other key at any depth.
# --------------------------------------------------------------------------------------------
SCHEMA = {
    # internal/config/schema.go:203
    "Config": {
        "version": "int", "mode": "string", "enforce": "*bool", "explain_blocks": "*bool",
        "api_allowlist": "[]string", "suppress": "[]SuppressEntry", "fetch_proxy": "FetchProxy",
        "forward_proxy": "ForwardProxy", "websocket_proxy": "WebSocketProxy", "dlp": "DLP",
        "canary_tokens": "CanaryTokens", "response_scanning": "ResponseScanning",
        "mcp_input_scanning": "MCPInputScanning", "mcp_tool_scanning": "MCPToolScanning",
        "mcp_tool_policy": "MCPToolPolicy", "git_protection": "GitProtection",
        "logging": "LoggingConfig", "session_profiling": "SessionProfiling",
        "adaptive_enforcement": "AdaptiveEnforcement", "mcp_session_binding": "MCPSessionBinding",
        "request_body_scanning": "RequestBodyScanning", "kill_switch": "KillSwitch",
        "sentry": "SentryConfig", "metrics_listen": "string", "emit": "EmitConfig",
        "tool_chain_detection": "ToolChainDetection", "mcp_ws_listener": "MCPWSListener",
        "tls_interception": "TLSInterception", "cross_request_detection": "CrossRequestDetection",
        "reverse_proxy": "ReverseProxy", "scan_api": "ScanAPI",
        "address_protection": "AddressProtection", "seed_phrase_detection": "SeedPhraseDetection",
        "rules": "Rules", "file_sentry": "FileSentry", "sandbox": "Sandbox",
        "flight_recorder": "FlightRecorder", "mcp_binary_integrity": "MCPBinaryIntegrity",
        "mcp_tool_provenance": "MCPToolProvenance", "behavioral_baseline": "BehavioralBaseline",
        "airlock": "Airlock", "browser_shield": "BrowserShield", "media_policy": "MediaPolicy",
        "a2a_scanning": "A2AScanning", "taint": "TaintConfig",
        "mediation_envelope": "MediationEnvelope", "redaction": "redact.Config",
        "agents": "map[string]AgentProfile", "default_agent_identity": "string",
        "bind_default_agent_identity": "bool", "license_key": "string", "license_file": "string",
        "license_public_key": "string", "internal": "[]string", "trusted_domains": "[]string",
        "ssrf": "SSRF",
    },
    # internal/config/schema.go:580
    "A2AScanning": {
        "enabled": "bool", "action": "string", "scan_agent_cards": "bool",
        "detect_card_drift": "bool", "session_smuggling_detection": "bool",
        "max_context_messages": "int", "max_contexts": "int", "scan_raw_parts": "bool",
        "max_raw_size": "int",
    },
    # internal/config/schema.go:545
    "AdaptiveEnforcement": {
        "enabled": "bool", "escalation_threshold": "float64", "decay_per_clean_request": "float64",
        "levels": "EscalationLevels", "exempt_domains": "[]string",
    },
    # internal/config/schema.go:485
    "AddressChains": {
        "eth": "*bool", "btc": "*bool", "sol": "*bool", "bnb": "*bool",
    },
    # internal/config/schema.go:474
    "AddressProtection": {
        "enabled": "bool", "action": "string", "unknown_action": "string",
        "allowed_addresses": "[]string", "chains": "AddressChains",
        "similarity": "SimilarityConfig",
    },
    # internal/config/schema.go:742
    "AgentDLP": {
        "include_defaults": "*bool", "patterns": "[]DLPPattern",
    },
    # internal/config/schema.go:725
    "AgentProfile": {
        "listeners": "[]string", "source_cidrs": "[]string", "mode": "string", "enforce": "*bool",
        "api_allowlist": "[]string", "dlp": "*AgentDLP", "rate_limit": "*AgentRateLimit",
        "session_profiling": "*AgentSessionProf", "mcp_tool_policy": "*MCPToolPolicy",
        "budget": "BudgetConfig", "allowed_addresses": "[]string",
        "sandbox": "*AgentSandboxOverride", "trusted_domains": "[]string",
    },
    # internal/config/schema.go:748
    "AgentRateLimit": {
        "max_requests_per_minute": "int", "max_data_per_minute": "int",
    },
    # internal/config/schema.go:183
    "AgentSandboxOverride": {
        "enabled": "*bool", "strict": "*bool", "best_effort": "*bool", "workspace": "string",
        "filesystem": "*SandboxFilesystem",
    },
    # internal/config/schema.go:756
    "AgentSessionProf": {
        "domain_burst": "int", "anomaly_action": "string", "volume_spike_ratio": "float64",
    },
    # internal/config/schema.go:909
    "Airlock": {
        "enabled": "bool", "triggers": "AirlockTriggers", "timers": "AirlockTimers",
        "tool_freeze": "AirlockToolFreeze",
    },
    # internal/config/schema.go:928
    "AirlockTimers": {
        "soft_minutes": "int", "hard_minutes": "int", "drain_minutes": "int",
        "drain_timeout_seconds": "int",
    },
    # internal/config/schema.go:936
    "AirlockToolFreeze": {
        "snapshot_on_entry": "bool", "allow_cached_tools": "bool",
    },
    # internal/config/schema.go:918
    "AirlockTriggers": {
        "on_elevated": "string", "on_high": "string", "on_critical": "string",
        "on_severity": "string", "anomaly_count": "int", "anomaly_window_minutes": "int",
    },
    # internal/config/schema.go:894
    "BehavioralBaseline": {
        "enabled": "bool", "learning_window": "int", "deviation_action": "string",
        "profile_dir": "string", "auto_ratify": "bool", "sensitivity_sigma": "float64",
        "lock_dimensions": "[]string", "poison_resistance": "bool", "seasonality_mode": "string",
    },
    # internal/config/schema.go:952
    "BrowserShield": {
        "enabled": "bool", "strictness": "string", "max_shield_bytes": "int",
        "oversize_action": "string", "exempt_domains": "[]string",
        "strip_extension_probing": "bool", "strip_hidden_traps": "bool",
        "strip_tracking_pixels": "bool", "inject_fingerprint_shims": "bool",
        "tracking_domains": "[]string",
    },
    # internal/config/schema.go:763
    "BudgetConfig": {
        "max_requests_per_session": "int", "max_bytes_per_session": "int",
        "max_unique_domains_per_session": "int", "window_minutes": "int",
        "max_tool_calls_per_session": "int", "max_concurrent_tool_calls": "int",
        "max_wall_clock_minutes": "int", "max_retries_per_tool": "int",
        "max_retries_per_endpoint": "int", "loop_detection_window": "int", "fan_out_limit": "int",
        "fan_out_window_seconds": "int", "cost_multipliers": "map[string]float64",
        "dow_action": "string",
    },
    # internal/config/canary.go:23
    "CanaryToken": {
        "name": "string", "value": "string", "env_var": "string",
    },
    # internal/config/canary.go:17
    "CanaryTokens": {
        "enabled": "bool", "tokens": "[]CanaryToken",
    },
    # internal/config/schema.go:716
    "ChainPattern": {
        "name": "string", "sequence": "[]string", "severity": "string", "action": "string",
    },
    # internal/config/schema.go:609
    "CrossRequestDetection": {
        "enabled": "bool", "action": "string", "entropy_budget": "CrossRequestEntropyBudget",
        "fragment_reassembly": "CrossRequestFragments",
    },
    # internal/config/schema.go:617
    "CrossRequestEntropyBudget": {
        "enabled": "bool", "bits_per_window": "float64", "window_minutes": "int",
        "action": "string", "exempt_domains": "[]string",
    },
    # internal/config/schema.go:626
    "CrossRequestFragments": {
        "enabled": "bool", "max_buffer_bytes": "int", "window_minutes": "int",
    },
    # internal/config/schema.go:448
    "DLP": {
        "scan_env": "bool", "secrets_file": "string", "min_env_secret_length": "int",
        "include_defaults": "*bool", "patterns": "[]DLPPattern", "action": "string",
    },
    # internal/config/schema.go:458
    "DLPPattern": {
        "name": "string", "regex": "string", "severity": "string", "validator": "string",
        "exempt_domains": "[]string", "action": "string",
    },
    # internal/config/schema.go:649
    "EmitConfig": {
        "instance_id": "string", "webhook": "WebhookConfig", "syslog": "SyslogConfig",
        "otlp": "OTLPConfig",
    },
    # internal/config/schema.go:562
    "EscalationActions": {
        "upgrade_warn": "*string", "upgrade_ask": "*string", "block_all": "*bool",
    },
    # internal/config/schema.go:555
    "EscalationLevels": {
        "elevated": "EscalationActions", "high": "EscalationActions",
        "critical": "EscalationActions",
    },
    # internal/config/schema.go:428
    "FetchProxy": {
        "listen": "string", "timeout_seconds": "int", "max_response_mb": "int",
        "user_agent": "string", "monitoring": "Monitoring",
    },
    # internal/config/schema.go:160
    "FileSentry": {
        "enabled": "bool", "best_effort": "bool", "watch_paths": "[]string",
        "scan_content": "*bool", "ignore_patterns": "[]string",
    },
    # internal/config/schema.go:781
    "FlightRecorder": {
        "enabled": "bool", "dir": "string", "checkpoint_interval": "int", "retention_days": "int",
        "redact": "bool", "sign_checkpoints": "bool", "max_entries_per_file": "int",
        "raw_escrow": "bool", "escrow_public_key": "string", "signing_key_path": "string",
    },
    # internal/config/schema.go:373
    "ForwardProxy": {
        "enabled": "bool", "max_tunnel_seconds": "int", "idle_timeout_seconds": "int",
        "sni_verification": "*bool", "redirect_websocket_hosts": "[]string",
    },
    # internal/config/schema.go:355
    "GenericSSEScanning": {
        "enabled": "bool", "action": "string", "max_event_bytes": "int",
    },
    # internal/config/schema.go:420
    "GitProtection": {
        "enabled": "bool", "allowed_branches": "[]string", "blocked_commands": "[]string",
        "pre_push_scan": "bool",
    },
    # internal/config/schema.go:636
    "KillSwitch": {
        "enabled": "bool", "sentinel_file": "string", "message": "string", "health_exempt": "*bool",
        "metrics_exempt": "*bool", "api_exempt": "*bool", "api_token": "string",
        "api_listen": "string", "allowlist_ips": "[]string",
    },
    # internal/config/schema.go:518
    "LoggingConfig": {
        "format": "string", "output": "string", "file": "string", "include_allowed": "bool",
        "include_blocked": "bool",
    },
    # internal/config/schema.go:876
    "MCPBinaryIntegrity": {
        "enabled": "bool", "manifest_path": "string", "action": "string",
    },
    # internal/config/schema.go:287
    "MCPInputScanning": {
        "enabled": "bool", "action": "string", "on_parse_error": "string",
    },
    # internal/config/schema.go:571
    "MCPSessionBinding": {
        "enabled": "bool", "unknown_tool_action": "string", "no_baseline_action": "string",
    },
    # internal/config/schema.go:316
    "MCPToolPolicy": {
        "enabled": "bool", "action": "string", "rules": "[]ToolPolicyRule",
        "redirect_profiles": "map[string]RedirectProfile", "quarantine_dir": "string",
    },
    # internal/config/schema.go:883
    "MCPToolProvenance": {
        "enabled": "bool", "action": "string", "mode": "string", "trusted_keys": "[]string",
        "trusted_issuers": "[]string", "trusted_subjects": "[]string", "offline_only": "bool",
    },
    # internal/config/schema.go:296
    "MCPToolScanning": {
        "enabled": "bool", "action": "string", "detect_drift": "bool",
    },
    # internal/config/schema.go:686
    "MCPWSListener": {
        "allowed_origins": "[]string", "max_connections": "int",
    },
    # internal/config/schema.go:998
    "MediaPolicy": {
        "enabled": "*bool", "strip_images": "*bool", "strip_audio": "*bool", "strip_video": "*bool",
        "allowed_image_types": "[]string", "strip_image_metadata": "*bool",
        "max_image_bytes": "int64", "log_media_exposure": "*bool",
    },
    # internal/config/schema.go:802
    "MediationEnvelope": {
        "enabled": "bool", "sign": "bool", "signing_key_path": "string", "key_id": "string",
        "signed_components": "[]string", "created_skew_seconds": "int", "max_body_bytes": "int",
    },
    # internal/config/schema.go:437
    "Monitoring": {
        "max_url_length": "int", "entropy_threshold": "float64",
        "subdomain_entropy_threshold": "float64", "max_requests_per_minute": "int",
        "max_data_per_minute": "int", "blocklist": "[]string",
        "subdomain_entropy_exclusions": "[]string",
    },
    # internal/config/schema.go:657
    "OTLPConfig": {
        "endpoint": "string", "headers": "map[string]string", "timeout_seconds": "int",
        "min_severity": "string", "queue_size": "int", "gzip": "bool",
    },
    # internal/config/schema.go:306
    "RedirectProfile": {
        "exec": "[]string", "reason": "string", "preserve_argv": "bool", "match_abs_path": "bool",
    },
    # internal/config/schema.go:596
    "RequestBodyScanning": {
        "enabled": "bool", "action": "string", "max_body_bytes": "int", "scan_headers": "bool",
        "header_mode": "string", "sensitive_headers": "[]string", "ignore_headers": "[]string",
    },
    # internal/config/schema.go:362
    "ResponseScanPattern": {
        "name": "string", "regex": "string",
    },
    # internal/config/schema.go:340
    "ResponseScanning": {
        "enabled": "bool", "action": "string", "ask_timeout_seconds": "int",
        "include_defaults": "*bool", "patterns": "[]ResponseScanPattern",
        "exempt_domains": "[]string", "sse_streaming": "GenericSSEScanning",
    },
    # internal/config/schema.go:413
    "ReverseProxy": {
        "enabled": "bool", "listen": "string", "upstream": "string",
    },
    # internal/config/schema.go:140
    "Rules": {
        "rules_dir": "string", "min_confidence": "string", "include_experimental": "bool",
        "disabled": "[]string", "trusted_keys": "[]TrustedKey",
    },
    # internal/config/schema.go:509
    "SSRF": {
        "ip_allowlist": "[]string",
    },
    # internal/config/schema.go:171
    "Sandbox": {
        "enabled": "bool", "strict": "bool", "best_effort": "bool", "workspace": "string",
        "filesystem": "*SandboxFilesystem",
    },
    # internal/config/schema.go:197
    "SandboxFilesystem": {
        "allow_read": "[]string", "allow_write": "[]string",
    },
    # internal/config/schema.go:1060
    "ScanAPI": {
        "listen": "string", "auth": "ScanAPIAuth", "rate_limit": "ScanAPIRateLimit",
        "max_body_bytes": "int64", "field_limits": "ScanAPIFieldLimits",
        "timeouts": "ScanAPITimeouts", "connection_limit": "int", "kinds": "ScanAPIKinds",
    },
    # internal/config/schema.go:1072
    "ScanAPIAuth": {
        "bearer_tokens": "[]string",
    },
    # internal/config/schema.go:1083
    "ScanAPIFieldLimits": {
        "url": "int", "text": "int", "content": "int", "arguments": "int",
    },
    # internal/config/schema.go:1099
    "ScanAPIKinds": {
        "url": "bool", "dlp": "bool", "prompt_injection": "bool", "tool_call": "bool",
    },
    # internal/config/schema.go:1077
    "ScanAPIRateLimit": {
        "requests_per_minute": "int", "burst": "int",
    },
    # internal/config/schema.go:1091
    "ScanAPITimeouts": {
        "read": "string", "write": "string", "scan": "string",
    },
    # internal/config/schema.go:502
    "SeedPhraseDetection": {
        "enabled": "*bool", "min_words": "int", "verify_checksum": "*bool",
    },
    # internal/config/schema.go:693
    "SentryConfig": {
        "enabled": "*bool", "dsn": "string", "environment": "string", "sample_rate": "*float64",
        "debug": "bool",
    },
    # internal/config/schema.go:531
    "SessionProfiling": {
        "enabled": "bool", "anomaly_action": "string", "domain_burst": "int",
        "window_minutes": "int", "volume_spike_ratio": "float64", "max_sessions": "int",
        "session_ttl_minutes": "int", "cleanup_interval_seconds": "int",
    },
    # internal/config/schema.go:494
    "SimilarityConfig": {
        "prefix_length": "int", "suffix_length": "int",
    },
    # internal/config/schema.go:133
    "SuppressEntry": {
        "rule": "string", "path": "string", "reason": "string",
    },
    # internal/config/schema.go:676
    "SyslogConfig": {
        "address": "string", "min_severity": "string", "facility": "string", "tag": "string",
    },
    # internal/config/schema.go:382
    "TLSInterception": {
        "enabled": "bool", "ca_cert": "string", "ca_key": "string",
        "passthrough_domains": "[]string", "cert_ttl": "string", "cert_cache_size": "int",
        "max_response_bytes": "int64",
    },
    # internal/config/schema.go:855
    "TaintConfig": {
        "enabled": "bool", "allowlisted_domains": "[]string", "protected_paths": "[]string",
        "elevated_paths": "[]string", "trust_overrides": "[]TaintTrustOverride", "policy": "string",
        "recent_sources": "int",
    },
    # internal/config/schema.go:866
    "TaintTrustOverride": {
        "scope": "string", "source_match": "string", "action_match": "string",
        "expires_at": "time.Time", "granted_by": "string", "reason": "string",
    },
    # internal/config/schema.go:704
    "ToolChainDetection": {
        "enabled": "bool", "action": "string", "window_size": "int", "window_seconds": "int",
        "max_gap": "*int", "tool_categories": "map[string][]string",
        "pattern_overrides": "map[string]string", "custom_patterns": "[]ChainPattern",
    },
    # internal/config/schema.go:330
    "ToolPolicyRule": {
        "name": "string", "tool_pattern": "string", "arg_pattern": "string", "arg_key": "string",
        "action": "string", "redirect_profile": "string",
    },
    # internal/config/schema.go:151
    "TrustedKey": {
        "name": "string", "public_key": "string", "tier": "string",
    },
    # internal/config/schema.go:395
    "WebSocketProxy": {
        "enabled": "bool", "max_message_bytes": "int", "max_concurrent_connections": "int",
        "scan_text_frames": "*bool", "allow_binary_frames": "bool", "forward_cookies": "bool",
        "strip_compression": "*bool", "max_connection_seconds": "int",
        "idle_timeout_seconds": "int", "origin_policy": "string",
    },
    # internal/config/schema.go:667
    "WebhookConfig": {
        "url": "string", "min_severity": "string", "auth_token": "string", "timeout_seconds": "int",
        "queue_size": "int",
    },
    # internal/redact/config.go:14
    "redact.Config": {
        "enabled": "bool", "default_profile": "string", "profiles": "map[string]redact.ProfileSpec",
        "dictionaries": "map[string]redact.DictionarySpec", "limits": "redact.LimitsSpec",
        "strict_reload": "bool", "allowlist_unparseable": "[]string",
    },
    # internal/redact/config.go:64
    "redact.DictionarySpec": {
        "class": "string", "entries": "[]string", "entries_file": "string",
        "case_insensitive": "bool", "word_boundary": "bool", "priority": "int",
    },
    # internal/redact/config.go:83
    "redact.LimitsSpec": {
        "max_body_bytes": "int", "max_redactions_per_request": "int", "max_depth": "int",
    },
    # internal/redact/config.go:51
    "redact.ProfileSpec": {
        "classes": "[]string", "dictionaries": "[]string",
    },
}

# Default DLP patterns: internal/config/defaults.go Defaults() (DLP.Patterns), name, regex,
# severity, validator, line. scanner.New() prefixes (?i) to every DLP regex (scanner.go:251).
DEFAULT_DLP_PATTERNS = [
    ("Anthropic API Key", r'sk-ant-[a-zA-Z0-9\-_]{10,}', "critical", None, 71),
    ("OpenAI API Key", r'sk-proj-[a-zA-Z0-9\-_]{10,}', "critical", None, 72),
    ("OpenAI Service Key", r'sk-svcacct-[a-zA-Z0-9\-]{10,}', "critical", None, 73),
    ("Fireworks API Key", r'fw_[a-zA-Z0-9]{24,}', "critical", None, 74),
    ("Google API Key", r'AIza[0-9A-Za-z\-_]{35}', "high", None, 75),
    ("Google OAuth Client Secret", r'GOCSPX-[A-Za-z0-9_\-]{28,}', "critical", None, 76),
    ("Stripe Key", r'[sr]k[-_](live|test)[-_][a-zA-Z0-9]{20,}', "critical", None, 78),
    ("Stripe Webhook Secret", r'whsec_[a-zA-Z0-9_\-]{20,}', "critical", None, 80),
    ("GitHub Token", r'gh[pousr]_[A-Za-z0-9_]{36,}', "critical", None, 83),
    ("GitHub Fine-Grained PAT", r'github_pat_[a-zA-Z0-9_]{36,}', "critical", None, 84),
    ("GitLab PAT", r'glpat-[a-zA-Z0-9\-_]{20,}', "critical", None, 86),
    ("AWS Access ID", r'(AKIA|A3T|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16,}', "critical", None, 92),
    ("AWS Secret Key", '(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY|secret.?access.?key|SecretAccessKey)\\s*["\'=:\\s]{1,5}\\s*[A-Za-z0-9/+=]{40}', "critical", None, 96),
    ("Google OAuth Token", r'ya29\.[a-zA-Z0-9_-]{20,}', "critical", None, 97),
    ("Slack Token", r'xox[bpras]-[0-9a-zA-Z-]{15,}', "critical", None, 100),
    ("Slack App Token", r'xapp-[0-9]+-[A-Za-z0-9_]+-[0-9]+-[a-f0-9]+', "critical", None, 101),
    ("Discord Bot Token", r'[MN][A-Za-z0-9]{23,}\.[A-Za-z0-9\-_]{6}\.[A-Za-z0-9\-_]{27,}', "critical", None, 102),
    ("Twilio API Key", r'SK[a-f0-9]{32}', "high", None, 105),
    ("SendGrid API Key", r'SG\.[a-zA-Z0-9_-]{22}\.[a-zA-Z0-9_-]{43}', "critical", None, 106),
    ("Mailgun API Key", r'key-[a-zA-Z0-9]{32}', "high", None, 107),
    ("New Relic API Key", r'NRAK-[A-Z0-9]{27,}', "critical", None, 111),
    ("Hugging Face Token", r'hf_[A-Za-z0-9]{20,}', "critical", None, 114),
    ("Databricks Token", r'dapi[a-z0-9]{30,}', "critical", None, 115),
    ("Replicate API Token", r'r8_[A-Za-z0-9]{20,}', "critical", None, 116),
    ("Together AI Key", r'tok_[a-z0-9]{40,}', "critical", None, 117),
    ("Pinecone API Key", r'pcsk_[a-zA-Z0-9]{36,}', "critical", None, 119),
    ("Groq API Key", r'gsk_[a-zA-Z0-9]{48,}', "critical", None, 121),
    ("xAI API Key", r'xai-[a-zA-Z0-9\-_]{80,}', "critical", None, 123),
    ("DigitalOcean Token", r'dop_v1_[a-f0-9]{64}', "critical", None, 127),
    ("HashiCorp Vault Token", r'hvs\.[a-zA-Z0-9]{23,}', "critical", None, 128),
    ("Vercel Token", r'(?:vercel|vc[piark])_[a-zA-Z0-9]{24,}', "critical", None, 129),
    ("Supabase Service Key", r'sb_secret_[a-zA-Z0-9_-]{20,}', "critical", None, 130),
    ("npm Token", r'npm_[A-Za-z0-9]{36,}', "critical", None, 133),
    ("PyPI Token", r'pypi-[A-Za-z0-9_-]{16,}', "critical", None, 134),
    ("Linear API Key", r'lin_api_[a-zA-Z0-9]{40,}', "high", None, 137),
    ("Notion API Key", r'ntn_[a-zA-Z0-9]{40,}', "high", None, 138),
    ("Sentry Auth Token", r'sntrys_[a-zA-Z0-9]{40,}', "high", None, 139),
    ("Private Key Header", r'-----BEGIN\s+(RSA\s+|EC\s+|DSA\s+|OPENSSH\s+)?PRIVATE\s+KEY-----', "critical", None, 142),
    ("JWT Token", r'(ey[a-zA-Z0-9_\-=]{10,}\.){2}[a-zA-Z0-9_\-=]{10,}', "high", None, 143),
    ("Bitcoin WIF Private Key", r'(?:5[1-9A-HJ-NP-Za-km-z]{50}|[KL][1-9A-HJ-NP-Za-km-z]{51})', "critical", 'wif', 148),
    ("Extended Private Key", r'[xyzt]prv[1-9A-HJ-NP-Za-km-z]{107,108}', "critical", None, 151),
    ("Ethereum Private Key", r'0x[0-9a-f]{64}\b', "critical", None, 154),
    ("Social Security Number", r'\b\d{3}-\d{2}-\d{4}\b', "low", None, 162),
    ("Google OAuth Client ID", r'[0-9]{6,}-[0-9A-Za-z_]{32}\.apps\.googleusercontent\.com', "medium", None, 163),
    ("Credential in URL", r'(?m)(?:^|[?&;])\s*(?:password|passwd|secret|token|apikey|api_key|api-key)\s*=\s*[^\s&]{4,}', "high", None, 184),
    ("Environment Variable Secret", r'(?-i:[A-Z][A-Z0-9]*[_-](?:SECRET(?:[_-]ACCESS)?[_-]?KEY|SECRET|PASSWORD|PASSWD|TOKEN|API[_-]?KEY))\b\s*=\s*\S{8,}', "high", None, 196),
    ("Credit Card Number", r'\b\d{4}(?:[- ]?\d){11,15}\b', "medium", 'luhn', 205),
    ("IBAN", r'\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b', "medium", 'mod97', 206),
]
# Core DLP patterns, always on: internal/scanner/core.go coreDLPPatternDefs().
CORE_DLP_PATTERNS = [
    ("AWS Access ID", r'(AKIA|A3T|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16,}', "critical", None, 58),
    ("AWS Secret Key", '(?:aws_secret_access_key|AWS_SECRET_ACCESS_KEY|secret.?access.?key|SecretAccessKey)\\s*["\'=:\\s]{1,5}\\s*[A-Za-z0-9/+=]{40}', "critical", None, 63),
    ("GCP Service Account Key", r'"type"\s*:\s*"service_account"', "critical", None, 68),
    ("GitHub Token", r'gh[pousr]_[A-Za-z0-9_]{36,}', "critical", None, 75),
    ("GitHub Fine-Grained PAT", r'github_pat_[a-zA-Z0-9_]{36,}', "critical", None, 80),
    ("GitLab PAT", r'glpat-[a-zA-Z0-9\-_]{20,}', "critical", None, 85),
    ("Slack Token", r'xox[bpras]-[0-9a-zA-Z-]{15,}', "critical", None, 92),
    ("Private Key Header", r'-----BEGIN\s+(RSA\s+|EC\s+|DSA\s+|OPENSSH\s+)?PRIVATE\s+KEY-----', "critical", None, 99),
]
# Default response (prompt-injection) patterns: internal/config/defaults.go:236-272.
DEFAULT_RESPONSE_PATTERNS = [
    ("Prompt Injection", r'(?i)(ignore|disregard|forget|abandon)[-,;:.\s]+\s*(?:all\s+\w+\s+|\w+\s+all\s+|all\s+|\w+\s+)?(previous|prior|above|earlier)\s+(\w+\s+)?(instructions|prompts|rules|context|directives|constraints|policies|guardrails)', 237),
    ("System Override", r'(?im)^\s*system\s*:', 238),
    ("Role Override", r'(?i)you\s+are\s+(now\s+)?(a\s+)?((?-i:\bDAN\b)|evil|unrestricted|jailbroken|unfiltered)', 239),
    ("New Instructions", r'(?i)(new|updated|revised)\s+(instructions|directives|rules|prompt)', 240),
    ("Jailbreak Attempt", r'(?i)((?-i:\bDAN\b)|developer\s+mode|sudo\s+mode|unrestricted\s+mode)', 241),
    ("Hidden Instruction", r'(?i)(do\s+not\s+(reveal|tell|show|display|mention)\s+this\s+to\s+the\s+user|hidden\s+instruction|invisible\s+to\s+(the\s+)?user|the\s+user\s+(cannot|must\s+not|should\s+not)\s+see\s+this)', 242),
    ("Behavior Override", r'(?i)from\s+now\s+on\s+(you\s+)?(will|must|should|shall)\s+', 243),
    ("Encoded Payload", r'(?i)(decode\s+(this|the\s+following)\s+(from\s+)?base64\s+and\s+(execute|run|follow)|eval\s*\(\s*atob\s*\()', 244),
    ("Tool Invocation", r'(?i)you\s+must\s+(\w+\s+)?(call|execute|run|invoke)\s+(the|this|a)\s+(\w+\s+)?(function|tool|command|api|endpoint)', 245),
    ("Authority Escalation", r'(?i)you\s+(now\s+)?have\s+(full\s+)?(admin|root|system|superuser|elevated)\s+(access|privileges|permissions|rights)', 246),
    ("Instruction Downgrade", r'(?i)(treat|consider|regard|reinterpret|downgrade)\s+((?:the|all)\s+)?(previous|prior|above|earlier|system|policy|original|existing)\s+(\w+\s+)?(text|instructions?|rules|directives|guidelines|safeguards|constraints|controls|checks|context|prompt|policies|guardrails|parameters)\s+((as|to)\s+)?(historical|outdated|deprecated|optional|background|secondary|non-binding|non-authoritative|informational|advisory)', 247),
    ("Instruction Dismissal", r'(?i)(set|put)\s+(the\s+)?(previous|prior|above|earlier|system|original)\s+(\w+\s+)?(instructions?|directives|rules|constraints|context|prompt|safeguards|guidelines|policies|guardrails)\s+(aside|away|to\s+(one|the)\s+side)', 248),
    ("Priority Override", r'(?i)\bprioritize\s+(the\s+)?(task|user|current|new|latest)\s+(request|message|input|instructions?|prompt)', 249),
    ("Credential Solicitation", r'(?is)\b(send|provide|paste|return|include|supply|submit|share)\b.{0,80}\b(password|passwd|token|api[_ -]?key|secret|credential|private[_ -]?key|ssh[_ -]?key|session[_ -]?cookie)\b', 252),
    ("Credential Path Directive", r'(?is)\b(read|get|fetch|retrieve|cat|copy|extract|open)\b.{0,80}(\.ssh[/\\]|\.aws[/\\]credentials|\.env\b|\.npmrc\b|\.pypirc\b|\.netrc\b|\bid_rsa\b|\bid_ed25519\b|\bkubeconfig\b|/etc/passwd\b|/etc/shadow\b)', 253),
    ("Auth Material Requirement", r'(?is)\bto\s+(complete|continue|finish|proceed|verify)\b.{0,80}\b(authentication|credential|token|api[_ -]?key|private[_ -]?key|ssh[_ -]?key)\b.{0,40}\b(required|needed|necessary|must be)\b', 254),
    ("Memory Persistence Directive", r'(?is)\b(save|store|remember|retain|persist|record|cache)\b.{0,40}\b(this|these|that|it|the)\b.{0,60}\b(for future|for later|across sessions?|next session|next time|future tasks?|subsequent|permanently|from now on|going forward|in all future)\b', 255),
    ("Preference Poisoning", r'(?is)\b(from now on|always|going forward|in future)\b.{0,80}\b(prefer|prioritize|trust|choose|use|default to)\b.{0,60}\b(this tool|that tool|my tool|the external|the remote)\b', 256),
    ("Silent Credential Handling", r"(?is)\b(do not|don'?t|never)\s+(mention|display|show|tell|reveal|log|report)\b.{0,100}\b(password|token|secret|credential|private[_ -]?key|api[_ -]?key)\b", 257),
    ("Covert Action Directive", r'(?is)(secretly|silently|covertly|quietly|without\s+(?:the\s+user\s+)?(?:knowing|noticing|seeing))[,;:]?\s+.{0,40}\b(execut\w*|run|call|invoke|send|fetch|curl|wget|download|upload|post)\b', 260),
    ("Instruction Boundary", r'(<\|(?:endoftext|im_start|im_end|system|end_header_id|begin_of_text)\|>|\[/?INST\]|<\|(?:user|assistant)\|>|<<SYS>>)', 263),
    ("CJK Instruction Override ZH", r'(忽略|无视|忽视|不理|不要遵[循守]|放弃|跳过).{0,10}(之前|以上|上述|以前|上面|先前|前面).{0,8}(所有|全部|一切)?.{0,6}(指令|指示|说明|规则|命令|提示|约束|限制)', 268),
    ("CJK Instruction Override JP", r'(以前|前|上記|これまで|今まで).{0,6}(指示|命令|ルール|規則|指令).{0,6}(すべて|全て|全部)?.{0,4}(無視|忘れ|従わな|捨て)', 269),
    ("CJK Instruction Override KR", r'(이전|위|앞|기존).{0,6}(모든\s*)?(지시|지침|명령|규칙|지령).{0,6}(무시|잊어|따르지|어기|무효)', 270),
    ("CJK Jailbreak Mode", r'(开发者模式|无限制模式|開発者モード|制限なしモード|개발자\s*모드|제한\s*없는\s*모드|没有任何?限制|制限.{0,4}(解除|無視)|제한.{0,4}(해제|무시))', 271),
]
# Core response patterns, always on: internal/scanner/core.go coreResponsePatternDefs().
CORE_RESPONSE_PATTERNS = [
    ("Prompt Injection", r'(?i)(ignore|disregard|forget|abandon)[-,;:.\s]+\s*(?:all\s+\w+\s+|\w+\s+all\s+|all\s+|\w+\s+)?(previous|prior|above|earlier)\s+(\w+\s+)?(instructions|prompts|rules|context|directives|constraints|policies|guardrails)', 112),
    ("System Override", r'(?im)^\s*system\s*:', 116),
    ("Role Override", r'(?i)you\s+are\s+(now\s+)?(a\s+)?((?-i:\bDAN\b)|evil|unrestricted|jailbroken|unfiltered)', 120),
    ("Hidden Instruction", r'(?i)(do\s+not\s+(reveal|tell|show|display|mention)\s+this\s+to\s+the\s+user|hidden\s+instruction|invisible\s+to\s+(the\s+)?user|the\s+user\s+(cannot|must\s+not|should\s+not)\s+see\s+this)', 124),
    ("Credential Solicitation", r'(?is)\b(send|provide|paste|return|include|supply|submit|share)\b.{0,80}\b(password|passwd|token|api[_ -]?key|secret|credential|private[_ -]?key|ssh[_ -]?key|session[_ -]?cookie)\b', 128),
    ("Credential Path Directive", r'(?is)\b(read|get|fetch|retrieve|cat|copy|extract|open)\b.{0,80}(\.ssh[/\\]|\.aws[/\\]credentials|\.env\b|\.npmrc\b|\.pypirc\b|\.netrc\b|\bid_rsa\b|\bid_ed25519\b|\bkubeconfig\b|/etc/passwd\b|/etc/shadow\b)', 132),
    ("Covert Action Directive", r'(?is)(secretly|silently|covertly|quietly|without\s+(?:the\s+user\s+)?(?:knowing|noticing|seeing))[,;:]?\s+.{0,40}\b(execut\w*|run|call|invoke|send|fetch|curl|wget|download|upload|post)\b', 136),
    ("Instruction Boundary", r'(<\|(?:endoftext|im_start|im_end|system|end_header_id|begin_of_text)\|>|\[/?INST\]|<\|(?:user|assistant)\|>|<<SYS>>)', 140),
]

# Defaults applied by ApplyDefaults (internal/config/normalize.go) and Defaults()
# (internal/config/defaults.go) that the double uses.
DEFAULT_BLOCKLIST = ["*.pastebin.com", "*.hastebin.com", "*.paste.ee", "*.transfer.sh",
                     "*.file.io", "*.requestbin.com"]                      # defaults.go:40-47
DEFAULT_SENSITIVE_HEADERS = ["Authorization", "Cookie", "X-Api-Key", "X-Token",
                             "Proxy-Authorization", "X-Goog-Api-Key"]       # normalize.go:401-409
DEFAULT_IGNORE_HEADERS = ["Connection", "Keep-Alive", "Proxy-Authenticate", "Te", "Trailer",
                          "Transfer-Encoding", "Upgrade", "Host", "Content-Length",
                          "Content-Type", "Accept", "Accept-Encoding", "User-Agent"]  # :411-417
DEFAULT_INTERNAL = ["0.0.0.0/8", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                    "169.254.0.0/16", "100.64.0.0/10", "::1/128", "fc00::/7", "fe80::/10",
                    "224.0.0.0/4", "ff00::/8"]                              # normalize.go:222-237
CORE_INTERNAL = ["0.0.0.0/8", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                 "169.254.0.0/16", "100.64.0.0/10", "::1/128", "fc00::/7",
                 "fe80::/10"]                                    # scanner/core.go:149-162

# Environment variable names never treated as secrets: internal/scanner/scanner.go:1714-1756.
NON_SECRET_ENV_NAMES = {
    "PWD", "OLDPWD", "HOME", "PATH", "TMPDIR", "TEMP", "TMP", "_", "USER", "LOGNAME", "USERNAME",
    "HOSTNAME", "HOST", "SHELL", "SHLVL", "TERM", "TERM_PROGRAM", "COLORTERM", "COLORFGBG",
    "LANG", "LANGUAGE", "DISPLAY", "WAYLAND_DISPLAY", "EDITOR", "VISUAL", "PAGER", "LESS",
    "LS_COLORS", "LSCOLORS", "DBUS_SESSION_BUS_ADDRESS", "SSH_AUTH_SOCK", "GOPATH", "GOROOT",
    "GOBIN", "PYTHONPATH", "PYTHONHOME", "NODE_PATH", "MANPATH", "INFOPATH", "PS1", "PS2", "PS3",
    "PS4", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "PROGRAMFILES", "PROGRAMDATA", "SYSTEMROOT",
    "WINDIR", "COMSPEC", "COMPUTERNAME", "PATHEXT", "SESSIONNAME",
}
NON_SECRET_ENV_PREFIXES = ("LC_", "XDG_")

# Registrable-domain grouping for the rate limit (scanner.go:2110 baseDomain uses
# golang.org/x/net/publicsuffix). DIFFERENCE: only this subset of the Public Suffix List plus
# the default rule (the last label is the public suffix).
PUBLIC_SUFFIXES = {
    "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "sch.uk",
    "com.au", "net.au", "org.au", "edu.au", "gov.au", "co.nz", "org.nz", "co.jp", "ne.jp",
    "or.jp", "ac.jp", "com.br", "com.cn", "com.tw", "com.hk", "co.in", "co.kr", "co.za",
    "com.mx", "com.sg", "com.tr", "github.io", "githubusercontent.com", "herokuapp.com",
    "appspot.com", "cloudfront.net", "vercel.app", "netlify.app", "pages.dev", "workers.dev",
    "s3.amazonaws.com", "azurewebsites.net", "blogspot.com", "fly.dev", "onrender.com",
}

# normalize.InvisibleRanges (internal/normalize/normalize.go:27-44).
INVISIBLE_RANGES = [(0x00AD, 0x00AD), (0x115F, 0x1160), (0x200B, 0x200F), (0x202A, 0x202E),
                    (0x2060, 0x2064), (0x2066, 0x2069), (0x3164, 0x3164), (0xFE00, 0xFE0F),
                    (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0xE0000, 0xE007F), (0xE0100, 0xE01EF)]
# normalize.StripExoticWhitespace / Whitespace (normalize.go:243-300).
EXOTIC_WHITESPACE = "\u00a0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" \
                    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
# normalize.confusableMap (normalize.go:53-): cross-script lookalikes -> Latin.
CONFUSABLES_FROM = 'АВСЕНІЈКМОРЅТХавенікморстухјѕΑΒΕΖΗΙΚΜΝΟΡΤΥΧαεικνοՕօՍսՌհոռաᎪᎢᏒᏚᎡᎳᏔØøĐđŁłĦħŦŧᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ🅰🅱🅲🅳🅴🅵🅶🅷🅸🅹🅺🅻🅼🅽🅾🅿🆀🆁🆂🆃🆄🆅🆆🆇🆈🆉🇦🇧🇨🇩🇪🇫🇬🇭🇮🇯🇰🇱🇲🇳🇴🇵🇶🇷🇸🇹🇺🇻🇼🇽🇾🇿'
CONFUSABLES_TO = 'ABCEHIJKMOPSTXavehikmopctyxjsABEZHIKMNOPTYXaeikvoOoSsLhnnaAIPSEWTOoDdLlHhTtABCDEFGHIJKLMNOPRSTUVWYZABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ'

# BIP-39 English word list (the standard list; pipelock embeds the same file as
# internal/seedprotect/english.txt, sha256 2f5eed53...dbda), used by seed phrase detection.
BIP39_WORDS = """
abandon ability able about above absent absorb abstract absurd abuse access accident account
accuse achieve acid acoustic acquire across act action actor actress actual adapt add addict
address adjust admit adult advance advice aerobic affair afford afraid again age agent agree
ahead aim air airport aisle alarm album alcohol alert alien all alley allow almost alone alpha
already also alter always amateur amazing among amount amused analyst anchor ancient anger angle
angry animal ankle announce annual another answer antenna antique anxiety any apart apology
appear apple approve april arch arctic area arena argue arm armed armor army around arrange
arrest arrive arrow art artefact artist artwork ask aspect assault asset assist assume asthma
athlete atom attack attend attitude attract auction audit august aunt author auto autumn average
avocado avoid awake aware away awesome awful awkward axis baby bachelor bacon badge bag balance
balcony ball bamboo banana banner bar barely bargain barrel base basic basket battle beach bean
beauty because become beef before begin behave behind believe below belt bench benefit best
betray better between beyond bicycle bid bike bind biology bird birth bitter black blade blame
blanket blast bleak bless blind blood blossom blouse blue blur blush board boat body boil bomb
bone bonus book boost border boring borrow boss bottom bounce box boy bracket brain brand brass
brave bread breeze brick bridge brief bright bring brisk broccoli broken bronze broom brother
brown brush bubble buddy budget buffalo build bulb bulk bullet bundle bunker burden burger burst
bus business busy butter buyer buzz cabbage cabin cable cactus cage cake call calm camera camp
can canal cancel candy cannon canoe canvas canyon capable capital captain car carbon card cargo
carpet carry cart case cash casino castle casual cat catalog catch category cattle caught cause
caution cave ceiling celery cement census century cereal certain chair chalk champion change
chaos chapter charge chase chat cheap check cheese chef cherry chest chicken chief child chimney
choice choose chronic chuckle chunk churn cigar cinnamon circle citizen city civil claim clap
clarify claw clay clean clerk clever click client cliff climb clinic clip clock clog close cloth
cloud clown club clump cluster clutch coach coast coconut code coffee coil coin collect color
column combine come comfort comic common company concert conduct confirm congress connect
consider control convince cook cool copper copy coral core corn correct cost cotton couch
country couple course cousin cover coyote crack cradle craft cram crane crash crater crawl crazy
cream credit creek crew cricket crime crisp critic crop cross crouch crowd crucial cruel cruise
crumble crunch crush cry crystal cube culture cup cupboard curious current curtain curve cushion
custom cute cycle dad damage damp dance danger daring dash daughter dawn day deal debate debris
decade december decide decline decorate decrease deer defense define defy degree delay deliver
demand demise denial dentist deny depart depend deposit depth deputy derive describe desert
design desk despair destroy detail detect develop device devote diagram dial diamond diary dice
diesel diet differ digital dignity dilemma dinner dinosaur direct dirt disagree discover disease
dish dismiss disorder display distance divert divide divorce dizzy doctor document dog doll
dolphin domain donate donkey donor door dose double dove draft dragon drama drastic draw dream
dress drift drill drink drip drive drop drum dry duck dumb dune during dust dutch duty dwarf
dynamic eager eagle early earn earth easily east easy echo ecology economy edge edit educate
effort egg eight either elbow elder electric elegant element elephant elevator elite else embark
embody embrace emerge emotion employ empower empty enable enact end endless endorse enemy energy
enforce engage engine enhance enjoy enlist enough enrich enroll ensure enter entire entry
envelope episode equal equip era erase erode erosion error erupt escape essay essence estate
eternal ethics evidence evil evoke evolve exact example excess exchange excite exclude excuse
execute exercise exhaust exhibit exile exist exit exotic expand expect expire explain expose
express extend extra eye eyebrow fabric face faculty fade faint faith fall false fame family
famous fan fancy fantasy farm fashion fat fatal father fatigue fault favorite feature february
federal fee feed feel female fence festival fetch fever few fiber fiction field figure file film
filter final find fine finger finish fire firm first fiscal fish fit fitness fix flag flame
flash flat flavor flee flight flip float flock floor flower fluid flush fly foam focus fog foil
fold follow food foot force forest forget fork fortune forum forward fossil foster found fox
fragile frame frequent fresh friend fringe frog front frost frown frozen fruit fuel fun funny
furnace fury future gadget gain galaxy gallery game gap garage garbage garden garlic garment gas
gasp gate gather gauge gaze general genius genre gentle genuine gesture ghost giant gift giggle
ginger giraffe girl give glad glance glare glass glide glimpse globe gloom glory glove glow glue
goat goddess gold good goose gorilla gospel gossip govern gown grab grace grain grant grape
grass gravity great green grid grief grit grocery group grow grunt guard guess guide guilt
guitar gun gym habit hair half hammer hamster hand happy harbor hard harsh harvest hat have hawk
hazard head health heart heavy hedgehog height hello helmet help hen hero hidden high hill hint
hip hire history hobby hockey hold hole holiday hollow home honey hood hope horn horror horse
hospital host hotel hour hover hub huge human humble humor hundred hungry hunt hurdle hurry hurt
husband hybrid ice icon idea identify idle ignore ill illegal illness image imitate immense
immune impact impose improve impulse inch include income increase index indicate indoor industry
infant inflict inform inhale inherit initial inject injury inmate inner innocent input inquiry
insane insect inside inspire install intact interest into invest invite involve iron island
isolate issue item ivory jacket jaguar jar jazz jealous jeans jelly jewel job join joke journey
joy judge juice jump jungle junior junk just kangaroo keen keep ketchup key kick kid kidney kind
kingdom kiss kit kitchen kite kitten kiwi knee knife knock know lab label labor ladder lady lake
lamp language laptop large later latin laugh laundry lava law lawn lawsuit layer lazy leader
leaf learn leave lecture left leg legal legend leisure lemon lend length lens leopard lesson
letter level liar liberty library license life lift light like limb limit link lion liquid list
little live lizard load loan lobster local lock logic lonely long loop lottery loud lounge love
loyal lucky luggage lumber lunar lunch luxury lyrics machine mad magic magnet maid mail main
major make mammal man manage mandate mango mansion manual maple marble march margin marine
market marriage mask mass master match material math matrix matter maximum maze meadow mean
measure meat mechanic medal media melody melt member memory mention menu mercy merge merit merry
mesh message metal method middle midnight milk million mimic mind minimum minor minute miracle
mirror misery miss mistake mix mixed mixture mobile model modify mom moment monitor monkey
monster month moon moral more morning mosquito mother motion motor mountain mouse move movie
much muffin mule multiply muscle museum mushroom music must mutual myself mystery myth naive
name napkin narrow nasty nation nature near neck need negative neglect neither nephew nerve nest
net network neutral never news next nice night noble noise nominee noodle normal north nose
notable note nothing notice novel now nuclear number nurse nut oak obey object oblige obscure
observe obtain obvious occur ocean october odor off offer office often oil okay old olive
olympic omit once one onion online only open opera opinion oppose option orange orbit orchard
order ordinary organ orient original orphan ostrich other outdoor outer output outside oval oven
over own owner oxygen oyster ozone pact paddle page pair palace palm panda panel panic panther
paper parade parent park parrot party pass patch path patient patrol pattern pause pave payment
peace peanut pear peasant pelican pen penalty pencil people pepper perfect permit person pet
phone photo phrase physical piano picnic picture piece pig pigeon pill pilot pink pioneer pipe
pistol pitch pizza place planet plastic plate play please pledge pluck plug plunge poem poet
point polar pole police pond pony pool popular portion position possible post potato pottery
poverty powder power practice praise predict prefer prepare present pretty prevent price pride
primary print priority prison private prize problem process produce profit program project
promote proof property prosper protect proud provide public pudding pull pulp pulse pumpkin
punch pupil puppy purchase purity purpose purse push put puzzle pyramid quality quantum quarter
question quick quit quiz quote rabbit raccoon race rack radar radio rail rain raise rally ramp
ranch random range rapid rare rate rather raven raw razor ready real reason rebel rebuild recall
receive recipe record recycle reduce reflect reform refuse region regret regular reject relax
release relief rely remain remember remind remove render renew rent reopen repair repeat replace
report require rescue resemble resist resource response result retire retreat return reunion
reveal review reward rhythm rib ribbon rice rich ride ridge rifle right rigid ring riot ripple
risk ritual rival river road roast robot robust rocket romance roof rookie room rose rotate
rough round route royal rubber rude rug rule run runway rural sad saddle sadness safe sail salad
salmon salon salt salute same sample sand satisfy satoshi sauce sausage save say scale scan
scare scatter scene scheme school science scissors scorpion scout scrap screen script scrub sea
search season seat second secret section security seed seek segment select sell seminar senior
sense sentence series service session settle setup seven shadow shaft shallow share shed shell
sheriff shield shift shine ship shiver shock shoe shoot shop short shoulder shove shrimp shrug
shuffle shy sibling sick side siege sight sign silent silk silly silver similar simple since
sing siren sister situate six size skate sketch ski skill skin skirt skull slab slam sleep
slender slice slide slight slim slogan slot slow slush small smart smile smoke smooth snack
snake snap sniff snow soap soccer social sock soda soft solar soldier solid solution solve
someone song soon sorry sort soul sound soup source south space spare spatial spawn speak
special speed spell spend sphere spice spider spike spin spirit split spoil sponsor spoon sport
spot spray spread spring spy square squeeze squirrel stable stadium staff stage stairs stamp
stand start state stay steak steel stem step stereo stick still sting stock stomach stone stool
story stove strategy street strike strong struggle student stuff stumble style subject submit
subway success such sudden suffer sugar suggest suit summer sun sunny sunset super supply
supreme sure surface surge surprise surround survey suspect sustain swallow swamp swap swarm
swear sweet swift swim swing switch sword symbol symptom syrup system table tackle tag tail
talent talk tank tape target task taste tattoo taxi teach team tell ten tenant tennis tent term
test text thank that theme then theory there they thing this thought three thrive throw thumb
thunder ticket tide tiger tilt timber time tiny tip tired tissue title toast tobacco today
toddler toe together toilet token tomato tomorrow tone tongue tonight tool tooth top topic
topple torch tornado tortoise toss total tourist toward tower town toy track trade traffic
tragic train transfer trap trash travel tray treat tree trend trial tribe trick trigger trim
trip trophy trouble truck true truly trumpet trust truth try tube tuition tumble tuna tunnel
turkey turn turtle twelve twenty twice twin twist two type typical ugly umbrella unable unaware
uncle uncover under undo unfair unfold unhappy uniform unique unit universe unknown unlock until
unusual unveil update upgrade uphold upon upper upset urban urge usage use used useful useless
usual utility vacant vacuum vague valid valley valve van vanish vapor various vast vault vehicle
velvet vendor venture venue verb verify version very vessel veteran viable vibrant vicious
victory video view village vintage violin virtual virus visa visit visual vital vivid vocal
voice void volcano volume vote voyage wage wagon wait walk wall walnut want warfare warm warrior
wash wasp waste water wave way wealth weapon wear weasel weather web wedding weekend weird
welcome west wet whale what wheat wheel when where whip whisper wide width wife wild will win
window wine wing wink winner winter wire wisdom wise wish witness wolf woman wonder wood wool
word work world worry worth wrap wreck wrestle wrist write wrong yard year yellow you young
youth zebra zero zone zoo
""".split()
BIP39_INDEX = {w: i for i, w in enumerate(BIP39_WORDS)}
assert len(BIP39_INDEX) == 2048


# ============================================================================================
# Config: JSON text -> yaml.v3-style strict decode -> security defaults -> ApplyDefaults ->
# Validate. Follows internal/config/load.go Load().
# ============================================================================================

class ConfigError(Exception):
    pass


class _JSONParser:
    """Minimal JSON parser that keeps the line of every mapping key, so errors can name lines
    the way yaml.v3 does ("line N: field K not found in type config.T"). Objects are returned as
    _Map (list of (key, value, line)); duplicate keys are an error like yaml.v3's
    'mapping key "k" already defined at line N'."""

    _ws = re.compile(r"[ \t\r\n]*")
    _num = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
    _str = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"', re.S)

    def __init__(self, text):
        self.text, self.pos, self.dups = text, 0, []

    def line(self, pos=None):
        return self.text.count("\n", 0, self.pos if pos is None else pos) + 1

    def fail(self, what):
        raise ConfigError(f"yaml: line {self.line()}: {what}")

    def skip(self):
        # Whitespace, and YAML comments: `#` at a line's start or after whitespace, to the
        # end of the line (bot-bottle's live configs start with one).
        while True:
            self.pos = self._ws.match(self.text, self.pos).end()
            at_gap = self.pos == 0 or self.text[self.pos - 1] in " \t\r\n"
            if self.text.startswith("#", self.pos) and at_gap:
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
                continue
            return

    def parse(self):
        self.skip()
        if self.pos == len(self.text):
            return None
        value = self.value()
        self.skip()
        if self.pos != len(self.text):
            self.fail("did not find expected <document start> (the pipelock test double reads "
                      "JSON-as-YAML only)")
        return value

    def value(self):
        self.skip()
        if self.pos >= len(self.text):
            self.fail("unexpected end of input")
        c = self.text[self.pos]
        if c == "{":
            return self.obj()
        if c == "[":
            self.pos += 1
            items = []
            self.skip()
            if self.text.startswith("]", self.pos):
                self.pos += 1
                return items
            while True:
                items.append(self.value())
                self.skip()
                if self.text.startswith(",", self.pos):
                    self.pos += 1
                    continue
                if self.text.startswith("]", self.pos):
                    self.pos += 1
                    return items
                self.fail("did not find expected ',' or ']'")
        if c == '"':
            m = self._str.match(self.text, self.pos)
            if not m:
                self.fail("found unterminated string")
            self.pos = m.end()
            return json.loads(m.group(0))
        for lit, val in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(lit, self.pos):
                self.pos += len(lit)
                return val
        m = self._num.match(self.text, self.pos)
        if m and m.end() > self.pos:
            self.pos = m.end()
            s = m.group(0)
            return float(s) if any(ch in s for ch in ".eE") else int(s)
        self.fail("the pipelock test double reads JSON-as-YAML only; found YAML or invalid "
                  f"JSON at {self.text[self.pos:self.pos + 20]!r}")

    def obj(self):
        self.pos += 1
        items, seen = _Map(), {}
        self.skip()
        if self.text.startswith("}", self.pos):
            self.pos += 1
            return items
        while True:
            self.skip()
            line = self.line()
            if not self.text.startswith('"', self.pos):
                self.fail("did not find expected key")
            key = self.value()
            if key in seen:   # yaml.v3 reports it among the unmarshal errors and goes on
                self.dups.append(f'line {line}: mapping key "{key}" already defined at line {seen[key]}')
            seen[key] = line
            self.skip()
            if not self.text.startswith(":", self.pos):
                self.fail("did not find expected ':'")
            self.pos += 1
            items.append((key, self.value(), line))
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            if self.text.startswith("}", self.pos):
                self.pos += 1
                return items
            self.fail("did not find expected ',' or '}'")


class _Map(list):
    pass


def _yaml_tag(v):
    if v is None:
        return "!!null"
    if isinstance(v, bool):
        return "!!bool"
    if isinstance(v, int):
        return "!!int"
    if isinstance(v, float):
        return "!!float"
    if isinstance(v, str):
        return "!!str"
    if isinstance(v, _Map):
        return "!!map"
    return "!!seq"


def _scalar_text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _shown(v):
    """yaml.v3 decoder.terror: the scalar's text in backquotes, cut to 7 chars + "..." when
    longer than 10; nothing for sequences and mappings."""
    if isinstance(v, (list, _Map)):
        return ""
    t = _scalar_text(v)
    return f" `{t[:7]}...`" if len(t) > 10 else f" `{t}`"


def _go_type_name(t):
    return t if t.startswith("redact.") or "." in t else "config." + t


def decode(value, gotype, line, errors):
    """yaml.v3 decoding of a parsed JSON value into Go type `gotype` (a string from SCHEMA):
    returns plain Python data; appends 'line N: ...' messages to errors (yaml.v3 keeps going
    and reports every error, internal/config/load.go:35-37)."""
    if value is None:
        return None  # null leaves the zero value
    if gotype.startswith("*"):
        return decode(value, gotype[1:], line, errors)
    if gotype.startswith("[]"):
        if isinstance(value, _Map) or not isinstance(value, list):
            errors.append(f"line {line}: cannot unmarshal {_yaml_tag(value)}{_shown(value)} into {gotype}")
            return None
        return [decode(v, gotype[2:], line, errors) for v in value]
    if gotype.startswith("map[string]"):
        if not isinstance(value, _Map):
            errors.append(f"line {line}: cannot unmarshal {_yaml_tag(value)}{_shown(value)} into {gotype}")
            return None
        return {str(k): decode(v, gotype[len("map[string]"):], ln, errors) for k, v, ln in value}
    if gotype in SCHEMA:
        if not isinstance(value, _Map):
            errors.append(f"line {line}: cannot unmarshal {_yaml_tag(value)}{_shown(value)} into "
                          f"{_go_type_name(gotype)}")
            return None
        fields = SCHEMA[gotype]
        out = {}
        for k, v, ln in value:
            if k not in fields:
                errors.append(f"line {ln}: field {k} not found in type {_go_type_name(gotype)}")
                continue
            out[k] = decode(v, fields[k], ln, errors)
        return out
    bad = isinstance(value, (list, _Map))
    if gotype == "bool":
        if isinstance(value, bool):
            return value
        # yaml.v3 decode.go: YAML 1.1 booleans are accepted from strings into a bool field
        if value in ("y", "Y", "yes", "Yes", "YES", "on", "On", "ON"):
            return True
        if value in ("n", "N", "no", "No", "NO", "off", "Off", "OFF"):
            return False
    elif gotype in ("int", "int64"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and abs(value) <= 2 ** 63 - 1:
            return int(value)
    elif gotype == "float64":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif gotype == "string":
        if not bad:
            return _scalar_text(value)
    elif gotype == "time.Time":
        if isinstance(value, str):
            try:
                return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                pass
    else:
        raise AssertionError(f"unknown Go type {gotype}")
    errors.append(f"line {line}: cannot unmarshal {_yaml_tag(value)}{_shown(value)} into {gotype}")
    return None


def _get(d, *path, default=None):
    for p in path:
        if not isinstance(d, dict) or d.get(p) is None:
            return default
        d = d[p]
    return d


def _validate_trusted_domains(domains, label):
    """config.ValidateTrustedDomains (internal/config/validate.go:29-55)."""
    out = []
    for i, raw in enumerate(domains):
        d = raw.strip().lower()
        if d.endswith("."):
            d = d[:-1]
        if d == "":
            raise ConfigError(f"{label}[{i}] is empty")
        if "://" in d or "/" in d or ":" in d:
            raise ConfigError(f"{label}[{i}] {raw!r}: use a hostname pattern, not a URL or host:port"
                              .replace("'", '"'))
        if d == "*":
            raise ConfigError(f"{label}[{i}]: bare wildcard disables all SSRF protection")
        if d.startswith("*."):
            if d[2:].count(".") < 1:
                raise ConfigError(f'{label}[{i}] "{raw}": wildcard must target a concrete '
                                  f'domain like *.example.com')
        elif any(c in d for c in "*?[]"):
            raise ConfigError(f'{label}[{i}] "{raw}": only exact hosts and *.example.com '
                              f'wildcards are supported')
        out.append(d)
    return out


def go_regex(pattern, flags=0):
    """Compile a Go RE2 pattern with Python's re: ASCII classes like RE2 (\\b \\w \\s \\d)."""
    return re.compile(pattern, flags | re.ASCII)


class Config:
    """Runtime view of a loaded config (the parts the double implements)."""

    def __init__(self, path, mode_override=None):
        self.path = path
        try:
            with open(path, "rb") as f:
                raw_bytes = f.read()
        except OSError as e:
            raise ConfigError(f"loading config: reading config {path}: {e}")
        self.hash = hashlib.sha256(raw_bytes).hexdigest()   # load.go:186 Hash()
        try:
            parser = _JSONParser(raw_bytes.decode("utf-8"))
            parsed = parser.parse()
        except (ConfigError, UnicodeDecodeError) as e:
            raise ConfigError(f"loading config: parsing config {path}: {e}")
        errors = list(parser.dups)
        data = decode(parsed, "Config", 1, errors) if parsed is not None else {}
        if errors:  # load.go:35-37 (yaml.v3 TypeError text)
            raise ConfigError(f"loading config: parsing config {path}: yaml: unmarshal errors:\n  "
                              + "\n  ".join(errors))
        data = data or {}
        self.raw = data
        try:
            self._apply(data)
            self._validate()          # load.go:112 (Validate after ApplyDefaults)
        except ConfigError as e:
            raise ConfigError(f"loading config: invalid config: {e}")
        if mode_override:             # cli/runtime/server.go:336-338, then validate again
            self.mode = mode_override
            self.strict = self.mode == "strict"
            self._validate()
        self._compile()

    # -- applySecurityDefaults (normalize.go:19-112) + ApplyDefaults (normalize.go:115-584) ----
    def _apply(self, d):
        def sec(section, key):          # omitted or null -> true; explicit false stays false
            v = _get(d, *section, key)
            return True if v is None else bool(v)

        self.version = d.get("version") or 1
        self.mode = d.get("mode") or "balanced"
        self.strict = self.mode == "strict"
        self.enforce = d.get("enforce") is None or bool(d.get("enforce"))
        self.explain_blocks = bool(d.get("explain_blocks"))
        self.allowlist = list(d.get("api_allowlist") or [])
        self.trusted_domains_raw = list(d.get("trusted_domains") or [])
        self.ip_allowlist_raw = list(_get(d, "ssrf", "ip_allowlist", default=[]))
        self.internal_raw = list(DEFAULT_INTERNAL) if d.get("internal") is None else list(d["internal"])

        fp = d.get("fetch_proxy") or {}
        self.timeout_seconds = fp.get("timeout_seconds") or 0
        if self.timeout_seconds <= 0:
            self.timeout_seconds = 30                                  # normalize.go:125-127
        self.max_response_mb = fp.get("max_response_mb") or 0
        if self.max_response_mb <= 0:
            self.max_response_mb = 10                                  # normalize.go:128-130
        mon = fp.get("monitoring") or {}
        self.max_url_length = mon.get("max_url_length") or 0
        if self.max_url_length <= 0:
            self.max_url_length = 2048
        self.entropy_threshold = mon.get("entropy_threshold") or 0
        if self.entropy_threshold <= 0:
            self.entropy_threshold = 4.5
        self.subdomain_entropy_threshold = mon.get("subdomain_entropy_threshold") or 0
        if self.subdomain_entropy_threshold <= 0:
            self.subdomain_entropy_threshold = 4.0
        self.max_requests_per_minute = mon.get("max_requests_per_minute") or 0
        if self.max_requests_per_minute <= 0:
            self.max_requests_per_minute = 60                          # normalize.go:143-145
        self.max_data_per_minute = mon.get("max_data_per_minute") or 0
        # With a config file the blocklist starts empty: Defaults() is not used by Load().
        self.blocklist = list(mon.get("blocklist") or [])
        self.subdomain_exclusions = list(mon.get("subdomain_entropy_exclusions") or [])

        fw = d.get("forward_proxy") or {}
        self.forward_proxy = bool(fw.get("enabled"))
        self.max_tunnel_seconds = fw.get("max_tunnel_seconds") or 0
        if self.max_tunnel_seconds <= 0:
            self.max_tunnel_seconds = 300
        self.idle_timeout_seconds = fw.get("idle_timeout_seconds") or 0
        if self.idle_timeout_seconds <= 0:
            self.idle_timeout_seconds = 120
        self.sni_verification = fw.get("sni_verification") is None or bool(fw.get("sni_verification"))

        dlp = d.get("dlp") or {}
        self.scan_env = sec(("dlp",), "scan_env")
        self.dlp_action = dlp.get("action") or ""
        self.min_env_secret_length = dlp.get("min_env_secret_length") or 0
        self.secrets_file = dlp.get("secrets_file") or ""
        if self.secrets_file and not os.path.isabs(self.secrets_file):
            self.secrets_file = os.path.join(os.path.dirname(self.path), self.secrets_file)
        user_patterns = [dict(p or {}) for p in (dlp.get("patterns") or [])]
        defaults = [{"name": n, "regex": r, "severity": s, "validator": v, "compiled": True}
                    for n, r, s, v, _ in DEFAULT_DLP_PATTERNS]
        self.dlp_patterns = self._merge(dlp.get("include_defaults"), user_patterns, defaults)

        rs = d.get("response_scanning") or {}
        self.response_enabled = sec(("response_scanning",), "enabled")
        self.response_action = rs.get("action") or ""
        if self.response_enabled and not self.response_action:
            self.response_action = "warn"                              # normalize.go:152-154
        self.response_exempt_raw = list(rs.get("exempt_domains") or [])
        user_resp = [dict(p or {}) for p in (rs.get("patterns") or [])]
        if self.response_enabled:
            self.response_patterns = self._merge(
                rs.get("include_defaults"), user_resp,
                [{"name": n, "regex": r} for n, r, _ in DEFAULT_RESPONSE_PATTERNS])
        else:
            self.response_patterns = user_resp
        sse = rs.get("sse_streaming") or {}
        self.sse_enabled = sec(("response_scanning", "sse_streaming"), "enabled")
        self.sse_action = sse.get("action") or ""
        self.sse_max_event_bytes = sse.get("max_event_bytes") or 0

        rb = d.get("request_body_scanning") or {}
        self.body_enabled = sec(("request_body_scanning",), "enabled")
        self.scan_headers = sec(("request_body_scanning",), "scan_headers")
        self.body_action = rb.get("action") or ""
        self.max_body_bytes = rb.get("max_body_bytes") or 0
        self.header_mode = rb.get("header_mode") or ""
        self.sensitive_headers = list(rb.get("sensitive_headers") or [])
        self.ignore_headers = list(rb.get("ignore_headers") or [])
        if self.body_enabled:                                          # normalize.go:387-419
            self.body_action = self.body_action or "warn"
            if self.max_body_bytes == 0:
                self.max_body_bytes = 5 * 1024 * 1024
            self.header_mode = self.header_mode or "sensitive"
            self.sensitive_headers = self.sensitive_headers or list(DEFAULT_SENSITIVE_HEADERS)
            self.ignore_headers = self.ignore_headers or list(DEFAULT_IGNORE_HEADERS)

        seed = d.get("seed_phrase_detection") or {}
        self.seed_enabled = seed.get("enabled") is None or bool(seed.get("enabled"))
        self.seed_min_words = seed.get("min_words") or 0
        self.seed_verify = seed.get("verify_checksum") is None or bool(seed.get("verify_checksum"))

        log = d.get("logging") or {}
        self.log_format = log.get("format") or "json"
        self.log_output = log.get("output") or "stdout"
        self.log_file = log.get("file") or ""
        self.log_allowed = sec(("logging",), "include_allowed")
        self.log_blocked = sec(("logging",), "include_blocked")

        self.websocket_enabled = bool(_get(d, "websocket_proxy", "enabled"))
        unimplemented = []
        for key in ("tls_interception", "websocket_proxy", "mcp_input_scanning", "mcp_tool_scanning",
                    "mcp_tool_policy", "session_profiling", "adaptive_enforcement", "kill_switch",
                    "canary_tokens", "address_protection", "cross_request_detection",
                    "browser_shield", "reverse_proxy", "a2a_scanning", "redaction",
                    "flight_recorder", "mediation_envelope", "file_sentry", "sandbox"):
            if _get(d, key, "enabled"):
                unimplemented.append(key)
        for key in ("suppress", "agents"):
            if d.get(key):
                unimplemented.append(key)
        if self.max_data_per_minute:
            unimplemented.append("fetch_proxy.monitoring.max_data_per_minute")
        self.unimplemented = unimplemented

    @staticmethod
    def _merge(include_defaults, user, defaults):
        """mergeDLPPatterns / mergeResponsePatterns (normalize.go:591-636)."""
        if include_defaults is False:
            return user
        if not user:
            return defaults
        names = {p.get("name") for p in user}
        return [p for p in defaults if p["name"] not in names] + user

    # -- Validate (validate.go ValidateWithWarnings order, sections the double implements) --
    def _validate(self):
        if self.mode not in ("strict", "balanced", "audit"):                 # validate.go:242
            raise ConfigError(f'invalid mode "{self.mode}": must be strict, balanced, or audit')
        if self.mode == "strict" and not self.allowlist:
            raise ConfigError("strict mode requires at least one domain in api_allowlist")
        if self.log_format not in ("json", "text"):                          # validate.go:256
            raise ConfigError(f'invalid logging format "{self.log_format}": must be json or text')
        if self.log_output not in ("stdout", "file", "both"):
            raise ConfigError(f'invalid logging output "{self.log_output}": must be stdout, file, or both')
        if self.log_output in ("file", "both") and not self.log_file:
            raise ConfigError(f'logging.file is required when output is "{self.log_output}"')
        if self.dlp_action:                                                  # validate.go:283
            raise ConfigError(f'dlp.action "{self.dlp_action}" is not supported; DLP match behavior '
                              "depends on the calling surface (request_body_scanning.action for "
                              "HTTP bodies/headers, mcp_input_scanning.action for MCP input, "
                              "enforce/audit mode for URL scanning, and response_scanning.action "
                              "only for inbound prompt-injection response scanning)")
        for p in self.dlp_patterns:                                          # validate.go:288-316
            name = p.get("name") or ""
            if not name:
                raise ConfigError("DLP pattern missing name")
            if not p.get("regex"):
                raise ConfigError(f'DLP pattern "{name}" missing regex')
            try:
                go_regex(p["regex"])
            except re.error as e:
                raise ConfigError(f'DLP pattern "{name}" has invalid regex: {e}')
            if p.get("action"):
                if p["action"] != "warn":
                    raise ConfigError(f'DLP pattern "{name}" has unsupported action "{p["action"]}"; '
                                      'only "warn" is allowed as a per-pattern action')
                if p.get("compiled"):
                    raise ConfigError(f'DLP pattern "{name}" is a built-in default and cannot be set '
                                      "to warn mode; built-in patterns always enforce")
            if p.get("validator") and p["validator"] not in ("luhn", "mod97", "aba", "wif"):
                raise ConfigError(f'DLP pattern "{name}" has unknown validator "{p["validator"]}" '
                                  "(valid: luhn, mod97, aba, wif)")
            p["exempt_domains"] = _validate_trusted_domains(
                p.get("exempt_domains") or [], f'DLP pattern "{name}" exempt_domains')
        if self.secrets_file:
            try:
                st = os.stat(self.secrets_file)
            except OSError as e:
                raise ConfigError(f'secrets_file "{self.secrets_file}": {e}')
            if st.st_mode & 0o037:
                raise ConfigError(f'secrets_file "{self.secrets_file}" has unsafe permissions (mode '
                                  f'{st.st_mode & 0o777:04o}): restrict to 0600 or 0640')
        for b in self.blocklist:                                             # validate.go:337
            if b == "":
                raise ConfigError("empty blocklist entry")
        self.subdomain_exclusions = [x.rstrip(".") for x in _validate_trusted_domains(
            self.subdomain_exclusions, "subdomain_entropy_exclusions")]
        if self.response_enabled:                                            # validate.go:378
            if self.response_action not in ("strip", "warn", "block", "ask"):
                raise ConfigError(f'invalid response_scanning action "{self.response_action}": '
                                  "must be strip, warn, block, or ask")
            for p in self.response_patterns:
                if not p.get("name"):
                    raise ConfigError("response scanning pattern missing name")
                if not p.get("regex"):
                    raise ConfigError(f'response scanning pattern "{p["name"]}" missing regex')
                try:
                    go_regex(p["regex"])
                except re.error as e:
                    raise ConfigError(f'response scanning pattern "{p["name"]}" has invalid regex: {e}')
        self.response_exempt = _validate_trusted_domains(self.response_exempt_raw,
                                                         "response_scanning.exempt_domains")
        if self.sse_enabled:
            if self.sse_action not in ("", "block", "warn"):
                raise ConfigError(f'invalid response_scanning.sse_streaming action "{self.sse_action}": '
                                  "must be block or warn")
            if self.sse_max_event_bytes < 0:
                raise ConfigError("response_scanning.sse_streaming.max_event_bytes must be >= 0 (0 "
                                  f"means use default), got {self.sse_max_event_bytes}")
        if self.forward_proxy:                                               # validate.go:554
            pass  # max_tunnel_seconds / idle_timeout_seconds are already positive after defaults
        if self.body_enabled:                                                # validate.go:724
            if self.body_action not in ("warn", "block"):
                raise ConfigError(f'invalid request_body_scanning.action "{self.body_action}": must '
                                  "be warn or block")
            if self.max_body_bytes <= 0:
                raise ConfigError("request_body_scanning.max_body_bytes must be positive")
            if self.header_mode not in ("sensitive", "all"):
                raise ConfigError(f'invalid request_body_scanning.header_mode "{self.header_mode}": '
                                  "must be sensitive or all")
        if self.seed_enabled:                                                # validate.go:747
            if self.seed_min_words == 0:
                self.seed_min_words = 12
            if self.seed_min_words not in (12, 15, 18, 21, 24):
                raise ConfigError(f"invalid seed_phrase_detection.min_words {self.seed_min_words}: "
                                  "must be 12, 15, 18, 21, or 24")
        if "tls_interception" in self.unimplemented:                         # validate.go:810
            raise ConfigError("tls_interception: not implemented by the pipelock test double")
        self.internal = []
        for c in self.internal_raw:                                          # validate.go:1107
            try:
                self.internal.append(ipaddress.ip_network(c, strict=False))
            except ValueError as e:
                raise ConfigError(f'invalid internal CIDR "{c}": {e}')
        self.ip_allowlist = []
        for c in self.ip_allowlist_raw:                                      # validate.go:1122
            try:
                net = ipaddress.ip_network(c, strict=False)
            except ValueError as e:
                raise ConfigError(f'invalid ssrf.ip_allowlist CIDR "{c}": {e}')
            if net.prefixlen == 0:
                raise ConfigError(f'ssrf.ip_allowlist CIDR "{c}" is a catch-all (/0) and would '
                                  "disable SSRF protection")
            if str(net.network_address) != c.split("/")[0] and \
                    ipaddress.ip_address(c.split("/")[0]) != net.network_address:
                raise ConfigError(f'ssrf.ip_allowlist CIDR "{c}" has host bits set (did you mean '
                                  f'"{net}"?)')
            self.ip_allowlist.append(net)
        self.trusted_domains = _validate_trusted_domains(self.trusted_domains_raw, "trusted_domains")

    def _compile(self):
        """scanner.New (internal/scanner/scanner.go:222-439), the parts the double implements."""
        def dlp(name, rx, sev, validator, **kw):
            pat = rx if rx.startswith("(?i)") else "(?i)" + rx   # scanner.go:251-253
            return DLPPattern(name, go_regex(pat), sev, validator, **kw)
        self.compiled_dlp = [dlp(p["name"], p["regex"], p.get("severity") or "",
                                 p.get("validator") or None,
                                 exempt=p.get("exempt_domains") or [],
                                 warn=p.get("action") == "warn") for p in self.dlp_patterns]
        self.compiled_core_dlp = [dlp(n, r, s, v) for n, r, s, v, _ in CORE_DLP_PATTERNS]
        self.compiled_response = [(p["name"], go_regex(p["regex"])) for p in self.response_patterns] \
            if self.response_enabled else []
        self.compiled_core_response = [(n, go_regex(r)) for n, r, _ in CORE_RESPONSE_PATTERNS]
        self.allowlist_effective = self.allowlist if self.strict else []   # scanner.go:223-228
        self.core_internal = [ipaddress.ip_network(c) for c in CORE_INTERNAL]
        self.env_secrets = extract_env_secrets(self.min_env_secret_length) if self.scan_env else []
        self.file_secrets = []
        if self.secrets_file:
            self.file_secrets = [s for s in load_secrets_file(self.secrets_file,
                                                              self.min_env_secret_length or 16)
                                 if s not in self.env_secrets]

    def response_action_effective(self):
        """Scanner.ResponseAction (scanner/response.go:468-473): core patterns make it block."""
        return self.response_action or "block"


# ============================================================================================
# Normalization (internal/normalize/normalize.go), Go-compatible decoders, validators.
# ============================================================================================

_CONF_TABLE = {ord(a): b for a, b in zip(CONFUSABLES_FROM, CONFUSABLES_TO)}
_INVISIBLE_RE = re.compile("[" + "".join(
    f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in INVISIBLE_RANGES) + "]")
_CONTROL_ALL_RE = re.compile("[\x00-\x1f\x7f\x80-\x9f]")
_CONTROL_KEEP_WS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f]")
_EXOTIC_WS_RE = re.compile("[" + EXOTIC_WHITESPACE + "]")
_EXOTIC_WS_TABLE = {ord(c): " " for c in EXOTIC_WHITESPACE}


def _strip_marks(s):
    return "".join(ch for ch in unicodedata.normalize("NFD", s) if unicodedata.category(ch) != "Mn")


def for_dlp(s):
    """normalize.ForDLP (normalize.go:466): strip all control/invisible chars (\\t\\n\\r too),
    exotic whitespace, NFKC, confusables -> ASCII, combining marks."""
    s = _CONTROL_ALL_RE.sub("", s)
    if s.isascii():
        return s
    s = _INVISIBLE_RE.sub("", s)
    s = _EXOTIC_WS_RE.sub("", s)
    s = unicodedata.normalize("NFKC", s).translate(_CONF_TABLE)
    return _strip_marks(s)


def for_matching(s, invisible_to_space=False):
    """normalize.ForMatching (normalize.go:478) and, with invisible_to_space, the
    ReplaceInvisibleWithSpace variant used by the response scanner's secondary pass."""
    rep = " " if invisible_to_space else ""
    s = _CONTROL_KEEP_WS_RE.sub(rep, s)
    if s.isascii():
        return s
    s = _INVISIBLE_RE.sub(rep, s)
    s = unicodedata.normalize("NFKC", s).translate(_CONF_TABLE)
    return _strip_marks(s).translate(_EXOTIC_WS_TABLE)


def strip_control(s):
    """normalize.StripControlChars (normalize.go:445)."""
    return _INVISIBLE_RE.sub("", _CONTROL_ALL_RE.sub("", s))


_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s"})
_VOWELS = str.maketrans({"a": "a", "e": "a", "i": "a", "o": "a", "u": "a",
                         "A": "A", "E": "A", "I": "A", "O": "A", "U": "A"})


def _bytes_to_str(b):
    # Go's string(bytes): invalid UTF-8 stays bytes; regexes see U+FFFD. Close enough.
    return b.decode("utf-8", "replace")


_B64_STD = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_B64_URL = re.compile(r"[A-Za-z0-9\-_]*={0,2}")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*")
_B32 = re.compile(r"[A-Z2-7]*={0,6}")


def go_b64decode(s, url=False, padded=True):
    """encoding/base64 DecodeString for Std/URL/RawStd/RawURL: \\r and \\n are ignored, the
    alphabet and padding are strict. Returns bytes or None."""
    s = s.replace("\r", "").replace("\n", "")
    if not s or not (_B64_URL if url else _B64_STD).fullmatch(s):
        return None
    if padded:
        if len(s) % 4:
            return None
    else:
        if "=" in s or len(s) % 4 == 1:
            return None
        s += "=" * (-len(s) % 4)
    try:
        return base64.b64decode(s, altchars=b"-_" if url else None, validate=True)
    except (binascii.Error, ValueError):
        return None


def go_hexdecode(s):
    if not s or not _HEX.fullmatch(s):
        return None
    return bytes.fromhex(s)


def go_b32decode(s):
    s = s.replace("\r", "").replace("\n", "")
    if not s or len(s) % 8 or not _B32.fullmatch(s):
        return None
    try:
        return base64.b32decode(s)
    except (binascii.Error, ValueError):
        return None


_HEX_PREFIX_RE = re.compile(r"\\x|\\X|0x|0X")


def normalize_hex(s):
    """scanner.normalizeHex (scanner.go:1164)."""
    if len(s) < 4:
        return ""
    out = _HEX_PREFIX_RE.sub("", s)
    out = re.sub(r"[: \-,]", "", out)
    if not out or len(out) % 2 or not re.fullmatch(r"[0-9A-Fa-f]+", out):
        return ""
    return out


def decode_encodings(s):
    """scanner.decodeEncodings (scanner.go:1234): hex (raw or delimited), base64 x4, base32."""
    out = []
    d = go_hexdecode(s)
    if d:
        out.append((_bytes_to_str(d), "hex"))
    else:
        n = normalize_hex(s)
        if n:
            d = go_hexdecode(n)
            if d:
                out.append((_bytes_to_str(d), "hex"))
    for url, padded in ((False, True), (True, True), (False, False), (True, False)):
        d = go_b64decode(s, url, padded)
        if d:
            out.append((_bytes_to_str(d), "base64"))
    d = go_b32decode(s)
    if d:
        out.append((_bytes_to_str(d), "base32"))
    return out


_PCT_RE = re.compile(r"%([0-9A-Fa-f]{2})")


def go_query_unescape(s):
    """url.QueryUnescape: '+' -> space, %XX decoded; a malformed escape is an error (None)."""
    i = s.find("%")
    while i != -1:
        if not re.fullmatch(r"%[0-9A-Fa-f]{2}", s[i:i + 3]):
            return None
        i = s.find("%", i + 3)
    raw = s.replace("+", " ").encode("utf-8", "surrogateescape")
    return urllib.parse.unquote_to_bytes(raw).decode("utf-8", "surrogateescape")


def go_path_unescape(s):
    i = s.find("%")
    while i != -1:
        if not re.fullmatch(r"%[0-9A-Fa-f]{2}", s[i:i + 3]):
            return None
        i = s.find("%", i + 3)
    return urllib.parse.unquote_to_bytes(s.encode("utf-8", "surrogateescape")).decode(
        "utf-8", "surrogateescape")


def iterative_decode(s):
    """scanner.IterativeDecode (scanner.go:1097): QueryUnescape until stable (max 500)."""
    for _ in range(500):
        d = go_query_unescape(s)
        if d is None or d == s:
            break
        s = d
    return s


def go_parse_query(raw_query):
    """url.ParseQuery -> ordered list of (key, value); pairs with ';' or bad escapes dropped."""
    out = []
    for pair in raw_query.split("&"):
        if not pair or ";" in pair:
            continue
        k, _, v = pair.partition("=")
        k, v = go_query_unescape(k), go_query_unescape(v)
        if k is None or v is None:
            continue
        out.append((k, v))
    return out


def shannon_entropy(s):
    """scanner.ShannonEntropy (scanner.go:1976): bits per rune."""
    if not s:
        return 0.0
    counts = {}
    for ch in s:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _validate_luhn(s):
    """scanner.validateLuhn + validCardIssuer (internal/scanner/validate.go)."""
    digits = [int(c) for c in s if c.isdigit() and c.isascii()]
    n = len(digits)
    if n < 15 or n > 19:
        return False
    d0, prefix4 = digits[0], digits[0] * 1000 + digits[1] * 100 + digits[2] * 10 + digits[3]
    if d0 == 4:
        ok = n in (16, 19)
    elif d0 == 5:
        ok = 1 <= digits[1] <= 5 and n == 16
    elif d0 == 3:
        ok = n == 15 if digits[1] in (4, 7) else (3528 <= prefix4 <= 3589 and 16 <= n <= 19)
    elif d0 == 6:
        ok = (prefix4 == 6011 or 6440 <= prefix4 <= 6499 or digits[1] == 5) and n in (16, 19)
    elif d0 == 2:
        ok = 2221 <= prefix4 <= 2720 and n == 16
    else:
        ok = False
    if not ok:
        return False
    total = 0
    for i in range(n - 1, -1, -1):
        d = digits[i]
        if (n - i) % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_IBAN_LENGTHS = dict(x.split(":") for x in (
    "AD:24 AE:23 AL:28 AT:20 AZ:28 BA:20 BE:16 BG:22 BH:22 BI:27 BR:29 BY:28 CH:21 CR:22 CY:28 "
    "CZ:24 DE:22 DJ:27 DK:18 DO:28 EE:20 EG:29 ES:24 FI:18 FK:18 FO:18 FR:27 GB:22 GE:22 GI:23 "
    "GL:18 GR:27 GT:28 HN:28 HR:21 HU:28 IE:22 IL:23 IQ:23 IS:26 IT:27 JO:30 KW:30 KZ:20 LB:28 "
    "LC:32 LI:21 LT:20 LU:20 LV:21 LY:25 MC:27 MD:24 ME:22 MK:19 MN:20 MR:27 MT:31 MU:30 NI:28 "
    "NL:18 NO:15 OM:23 PK:24 PL:28 PS:29 PT:25 QA:29 RO:24 RS:22 RU:33 SA:24 SC:31 SD:18 SE:24 "
    "SI:19 SK:24 SM:27 SN:28 SO:23 ST:25 SV:28 TL:23 TN:24 TR:26 UA:29 VA:22 VG:24 XK:20 "
    "YE:30").split())


def _validate_mod97(s):
    c = "".join(ch for ch in s if ch not in " -").upper()
    if not 15 <= len(c) <= 34 or not (c[:2].isalpha() and c[2:4].isdigit() and c.isascii()):
        return False
    if int(_IBAN_LENGTHS.get(c[:2], 0)) != len(c):
        return False
    rem = 0
    for ch in c[4:] + c[:4]:
        if ch.isdigit():
            rem = (rem * 10 + int(ch)) % 97
        elif "A" <= ch <= "Z":
            rem = (rem * 100 + ord(ch) - 55) % 97
        else:
            return False
    return rem == 1


def _validate_aba(s):
    digits = [int(c) for c in s if c.isdigit() and c.isascii()]
    if len(digits) != 9:
        return False
    p = digits[0] * 10 + digits[1]
    if not (p <= 12 or 21 <= p <= 32 or 61 <= p <= 72 or p == 80):
        return False
    return sum(d * w for d, w in zip(digits, (3, 7, 1, 3, 7, 1, 3, 7, 1))) % 10 == 0


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _validate_wif(s):
    n = 0
    for ch in s:
        i = _B58.find(ch)
        if i < 0:
            return False
        n = n * 58 + i
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    raw = b"\x00" * (len(s) - len(s.lstrip("1"))) + raw
    if len(raw) < 5:
        return False
    body, check = raw[:-4], raw[-4:]
    if hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] != check:
        return False
    version, payload = body[0], body[1:]
    return version == 0x80 and (len(payload) == 32 or (len(payload) == 33 and payload[32] == 1))


VALIDATORS = {"luhn": _validate_luhn, "mod97": _validate_mod97, "aba": _validate_aba,
              "wif": _validate_wif}


def _literal_prefix(regex):
    """scanner.extractLiteralPrefix (internal/scanner/prefilter.go): the DLP pre-filter."""
    s = regex[4:] if regex.startswith("(?i)") else regex
    if s.startswith("(?:"):
        close = s.find(")")
        if close < 0:
            return ""
        group = s[3:close]
        if "|" in group:
            return ""
        if close + 1 < len(s) and s[close + 1] in "?*+{":
            return ""
        s = group + s[close + 1:]
    prefix, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if i + 1 < len(s) and s[i + 1] in ".\\-_[](){}+*?^$|/":
                prefix.append(s[i + 1])
                i += 2
                continue
            break
        if c in "[(.*+?{}^$|":
            break
        prefix.append(c)
        i += 1
    return "".join(prefix).lower()


class DLPPattern:
    def __init__(self, name, rx, severity, validator=None, exempt=(), warn=False):
        self.name, self.rx, self.severity = name, rx, severity
        self.validate = VALIDATORS.get(validator) if validator else None
        self.exempt, self.warn = list(exempt), warn
        self.prefix = _literal_prefix(rx.pattern)

    def matches(self, text):
        """compiledPattern.matches (scanner.go:203-217)."""
        if self.validate is None:
            return self.rx.search(text) is not None
        return any(self.validate(m.group(0)) for m in self.rx.finditer(text))


def candidates(patterns, text):
    """dlpPreFilter.patternsToCheck (prefilter.go): patterns whose literal prefix occurs
    (case-insensitively) plus those without a prefix."""
    lower = text.lower()
    return [p for p in patterns if not p.prefix or p.prefix in lower]


def match_domain(hostname, pattern):
    """scanner.MatchDomain (scanner.go:2127): `*.x` matches x and any subdomain; IPs exact."""
    hostname = hostname.lower().rstrip(".")
    pattern = pattern.lower().rstrip(".")
    if _is_ip(hostname):
        return hostname == pattern
    if pattern.startswith("*."):
        return hostname == pattern[2:] or hostname.endswith(pattern[1:])
    return hostname == pattern


def _is_ip(s):
    try:
        ipaddress.ip_address(s.split("%")[0])
        return True
    except ValueError:
        return False


def base_domain(hostname):
    """scanner.baseDomain (scanner.go:2110): eTLD+1 (PUBLIC_SUFFIXES subset, see docstring)."""
    if _is_ip(hostname):
        return hostname
    labels = hostname.lower().rstrip(".").split(".")
    if len(labels) < 2:
        return hostname
    for i in range(len(labels)):
        suffix = ".".join(labels[i:])
        if suffix in PUBLIC_SUFFIXES:
            return ".".join(labels[i - 1:]) if i > 0 else hostname
    return ".".join(labels[-2:])


def extract_env_secrets(min_len):
    """scanner.extractEnvSecrets (scanner.go:1779): values >= min_len (16) with entropy > 3.0,
    names in NON_SECRET_ENV_NAMES / _PREFIXES skipped. PIPELOCK_DOUBLE_* are test knobs."""
    min_len = min_len if min_len > 0 else 16
    out = []
    for name, value in os.environ.items():
        upper = name.upper()
        if upper in NON_SECRET_ENV_NAMES or upper.startswith(NON_SECRET_ENV_PREFIXES) \
                or name.startswith("PIPELOCK_DOUBLE_"):
            continue
        if len(value) >= min_len and shannon_entropy(value) > 3.0:
            out.append(value)
    return out


def load_secrets_file(path, min_len):
    """scanner.LoadSecretsFile (scanner.go:1834)."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f):
            if n == 0:
                line = line.lstrip("\ufeff")
            line = line.strip()
            if not line or line.startswith("#") or "\x00" in line or len(line) > 4096 \
                    or len(line) < min_len:
                continue
            if len(out) >= 1000:
                break
            out.append(line)
    return out


def _secret_forms(secret):
    """matchSecretEncodings (scanner.go:1653) forms: (form, encoding, compare-lowercased)."""
    b = secret.encode("utf-8", "surrogateescape")
    std = base64.b64encode(b).decode()
    url = base64.urlsafe_b64encode(b).decode()
    hx = b.hex()
    b32 = base64.b32encode(b).decode()
    forms = [(secret, "", False), (std, "base64", False)]
    if std.rstrip("=") != std:
        forms.append((std.rstrip("="), "base64", False))
    if url != std:
        forms.append((url, "base64url", False))
    if url.rstrip("=") != std.rstrip("="):
        forms.append((url.rstrip("="), "base64url", False))
    forms.append((hx, "hex", True))
    pairs = [hx[i:i + 2] for i in range(0, len(hx), 2)]
    for sep in (":", " ", "-", ","):
        forms.append((sep.join(pairs), "hex", True))
    forms.append(("".join("\\x" + p for p in pairs), "hex", True))
    forms.append(("".join("0x" + p for p in pairs), "hex", True))
    forms.append((b32, "base32", False))
    if b32.rstrip("=") != b32:
        forms.append((b32.rstrip("="), "base32", False))
    return forms


def match_secret_encodings(secret, texts):
    lowers = None
    for form, enc, lower in _secret_forms(secret):
        if lower:
            if lowers is None:
                lowers = [t.lower() for t in texts]
            if any(form in t for t in lowers):
                return True, enc
        elif any(form in t for t in texts):
            return True, enc
    return False, ""


# -- BIP-39 seed phrases: internal/seedprotect/detector.go ------------------------------------
_SEED_SEP = re.compile(r"[-\s,|;:]+", re.ASCII)


def _bip39_checksum_ok(indices):
    total = len(indices) * 11
    cs_bits = total // 33
    ent_bits = total - cs_bits
    n = 0
    for idx in indices:
        n = (n << 11) | idx
    ent = n >> cs_bits
    checksum = n & ((1 << cs_bits) - 1)
    digest = hashlib.sha256(ent.to_bytes(ent_bits // 8, "big")).digest()
    return int.from_bytes(digest, "big") >> (256 - cs_bits) == checksum


def seed_detect(text, min_words, verify):
    """seedprotect.Detect: runs of 12/15/18/21/24 (>= min_words) BIP-39 words, optionally
    with a valid checksum. Returns True on the first match."""
    tokens = [t.lower() for t in _SEED_SEP.split(text) if t.strip()]
    if len(tokens) < min_words:
        return False
    is_word = [t in BIP39_INDEX for t in tokens]
    for want in (12, 15, 18, 21, 24):
        if want < min_words:
            continue
        if want > len(tokens):
            break
        run = 0   # length of the BIP-39 run ending at i
        for i, w in enumerate(is_word):
            run = run + 1 if w else 0
            if run >= want:
                window = tokens[i - want + 1:i + 1]
                if not verify or _bip39_checksum_ok([BIP39_INDEX[t] for t in window]):
                    return True
    return False


# ============================================================================================
# Scanner: internal/scanner/scanner.go Scan (URLs), text_dlp.go ScanTextForDLP (bodies,
# headers, SSE events), response.go ScanResponse (prompt injection), ratelimit.go.
# ============================================================================================

class Result:
    def __init__(self, allowed=True, reason="", scanner="", score=0.0, cls="threat", hint=""):
        self.allowed, self.reason, self.scanner = allowed, reason, scanner
        self.score, self.cls, self.hint = score, cls, hint


SCANNER_HINTS = {  # scanner.go:531-549
    "blocklist": "Domain is on the blocklist. Remove from fetch_proxy.monitoring.blocklist if legitimate.",
    "dlp": "A DLP pattern matched this URL. If false positive, add a suppress entry for this rule.",
    "entropy": "High-entropy content detected. Review the URL for data exfiltration attempts.",
    "subdomain_entropy": "High-entropy content detected in subdomain. Review for data exfiltration via DNS.",
    "ssrf": "SSRF protection blocked this URL. It may resolve to a private IP or DNS resolution failed.",
    "ratelimit": "Rate limit exceeded. Retry later or adjust fetch_proxy.monitoring.max_requests_per_minute.",
    "length": "URL exceeds maximum length. Check for data stuffing in query parameters.",
    "scheme": "Only http and https schemes are allowed.",
    "allowlist": "Domain not on the allowlist. In strict mode, only allowlisted domains are reachable.",
    "parser": "The URL could not be parsed.",
    "crlf_injection": "CRLF injection sequence detected in URL. This is never legitimate in normal traffic.",
    "path_traversal": "Path traversal sequence detected. Review the URL for directory escape attempts.",
    "core_dlp": "Core DLP pattern matched. This is a critical credential detection that cannot be disabled.",
    "core_ssrf": "Core SSRF protection blocked this URL. Private IP ranges are always blocked.",
}


class RateLimiter:
    """scanner.RateLimiter (internal/scanner/ratelimit.go): per key, sliding 60 s window,
    CheckAndRecord records only allowed requests."""

    def __init__(self, per_minute):
        self.per_minute, self.lock, self.hits = per_minute, threading.Lock(), {}

    def check_and_record(self, key):
        now = time.monotonic()
        with self.lock:
            valid = [t for t in self.hits.get(key, []) if now - t < 60.0]
            if len(valid) >= self.per_minute:
                self.hits[key] = valid
                return False
            valid.append(now)
            self.hits[key] = valid
            return True


class URL:
    """The parts of Go's *url.URL the scanner uses (absolute http/https URLs)."""

    def __init__(self, raw):
        self.raw = raw
        parts = urllib.parse.urlsplit(raw)
        self.scheme = parts.scheme.lower()
        self.host = parts.netloc.rpartition("@")[2]          # host[:port]
        h = self.host
        if h.startswith("["):
            self.hostname, _, rest = h[1:].partition("]")
            self.port = rest[1:] if rest.startswith(":") else ""
        else:
            self.hostname, _, self.port = h.partition(":")
        self.raw_path = parts.path
        self.path = go_path_unescape(parts.path)
        if self.path is None:
            raise ValueError("invalid URL escape")
        self.raw_query = parts.query
        self.force_query = raw.split("#", 1)[0].endswith("?") and not parts.query

    def query(self):
        return go_parse_query(self.raw_query)

    def string(self):
        """url.URL.String() for what the proxy sees (scheme://host/path?query)."""
        s = f"{self.scheme}://{self.host}{self.raw_path}"
        if self.raw_query or self.force_query:
            s += "?" + self.raw_query
        return s

    def request_uri(self):
        p = self.raw_path or "/"
        return p + ("?" + self.raw_query if self.raw_query or self.force_query else "")


def _parse_alternative_ip(hostname):
    """scanner.parseAlternativeIP (scanner.go:727): hex/octal/decimal IPv4 notations."""
    hostname = hostname.strip()
    if not hostname:
        return None

    def parse_uint(s, bits):
        try:
            if s.lower().startswith("0x"):
                v = int(s[2:], 16)
            elif len(s) > 1 and s.startswith("0"):
                v = int(s[1:], 8)
            else:
                if not s.isdigit():
                    return None
                v = int(s, 10)
        except ValueError:
            return None
        return v if v < (1 << bits) else None

    if "." in hostname:
        parts = hostname.split(".")
        if len(parts) != 4:
            return None
        octets = []
        for p in parts:
            v = parse_uint(p, 16)
            if v is None or v > 255:
                return None
            octets.append(v)
        if not any(p.lower().startswith("0x") or (len(p) > 1 and p[0] == "0" and p != "0")
                   for p in parts):
            return None
        return ipaddress.ip_address(".".join(map(str, octets)))
    v = parse_uint(hostname, 32)
    if v is None:
        return None
    return ipaddress.ip_address(v)


def _v4(ip):
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


HOSTS_FILE = "/etc/hosts"


def _static_hosts(hostname):
    """Go's lookupStaticHost (net/hosts.go): /etc/hosts names and the looked-up name are both
    compared as absolute, lower-case names, so `Allowed.Test.` finds an `allowed.test` line.
    (glibc's files backend does not strip a trailing dot, so getaddrinfo alone would miss it;
    the real pipelock is a static CGO_ENABLED=0 build and uses Go's own resolver.)"""
    want = hostname.lower().rstrip(".")
    out = []
    try:
        with open(HOSTS_FILE, encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split("#", 1)[0].split()
                if len(fields) < 2:
                    continue
                try:
                    ipaddress.ip_address(fields[0].split("%")[0])
                except ValueError:
                    continue
                if any(n.lower().rstrip(".") == want for n in fields[1:]) and fields[0] not in out:
                    out.append(fields[0])
    except OSError:
        pass
    return out


def lookup_host(hostname):
    """net.DefaultResolver.LookupHost. Raises OSError with a Go-shaped message."""
    if hostname.endswith("."):   # glibc handles every other name like Go (files, then DNS)
        static = _static_hosts(hostname)
        if static:
            return static
    try:
        infos = socket.getaddrinfo(hostname, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as e:
        if e.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)):
            raise OSError(f"lookup {hostname}: no such host")
        raise OSError(f"lookup {hostname}: {e.strerror}")
    out = []
    for info in infos:
        ip = info[4][0]
        if ip not in out:
            out.append(ip)
    return out


class Scanner:
    def __init__(self, cfg):
        self.cfg = cfg
        self.rate = RateLimiter(cfg.max_requests_per_minute)  # scanner.go:242-244 (always > 0)

    # -- helpers -------------------------------------------------------------------------
    def is_internal(self, ip):
        ip = _v4(ip)
        return any(ip.version == n.version and ip in n for n in self.cfg.internal)

    def is_ip_allowlisted(self, ip):
        ip = _v4(ip)
        return any(ip.version == n.version and ip in n for n in self.cfg.ip_allowlist)

    def is_trusted_domain(self, hostname):
        """Scanner.IsTrustedDomain (scanner.go:466): hostnames only, never IP literals."""
        if _is_ip(hostname):
            return False
        return any(match_domain(hostname, p) for p in self.cfg.trusted_domains)

    def in_api_allowlist(self, hostname):
        return any(match_domain(hostname, p) for p in self.cfg.allowlist)

    def _merged_cidrs(self):
        return self.cfg.core_internal + self.cfg.internal

    # -- Scan (scanner.go:563-719) --------------------------------------------------------
    def scan(self, raw_url):
        r = self._scan(raw_url)
        if not r.allowed and not r.hint:
            r.hint = SCANNER_HINTS.get(r.scanner, "")
        return r

    def _scan(self, raw_url):
        cfg = self.cfg
        try:
            u = URL(raw_url)
        except ValueError:
            return Result(False, "invalid URL", "parser", 1.0)
        hostname = u.hostname.lower()
        alt = _parse_alternative_ip(hostname)
        if alt is not None:
            hostname = str(alt)
            u.host = hostname + (":" + u.port if u.port else "")
            u.hostname = hostname
        if u.scheme not in ("http", "https"):
            return Result(False, f'scheme "{u.scheme}" not allowed: only http and https', "scheme", 1.0)
        r = _check_crlf(raw_url)
        if not r.allowed:
            return r
        r = _check_path_traversal(u)
        if not r.allowed:
            return r
        if cfg.allowlist_effective and not any(match_domain(hostname, p) for p in cfg.allowlist_effective):
            return Result(False, f"domain not in allowlist: {hostname}", "allowlist", 1.0)
        for p in cfg.blocklist:
            if match_domain(hostname, p):
                return Result(False, f"domain blocked: {hostname} matches {p}", "blocklist", 1.0)
        r = self._core_ssrf_literal(hostname)
        if not r.allowed:
            return r
        r = self._core_dlp_url(u)
        if not r.allowed:
            return r
        r = self._dlp_url(u)
        if not r.allowed:
            return r
        r = self._entropy(u)
        if not r.allowed:
            return r
        r = self._subdomain_entropy(hostname)
        if not r.allowed:
            return r
        r = self._ssrf(hostname)
        if not r.allowed:
            return r
        if not self.rate.check_and_record(base_domain(hostname)):          # scanner.go:1070
            return Result(False, f"rate limit exceeded for {hostname}", "ratelimit", 0.7, "protective")
        if len(raw_url) > cfg.max_url_length:
            return Result(False, f"URL length {len(raw_url)} exceeds maximum {cfg.max_url_length}",
                          "length", 0.8)
        return Result(True, scanner="all")

    def _core_ssrf_literal(self, hostname):
        """Scanner.checkCoreSSRFLiteral (core.go:576): only when `internal` is empty."""
        if self.cfg.internal:
            return Result()
        clean = hostname.split("%")[0]
        try:
            ip = ipaddress.ip_address(clean)
        except ValueError:
            ip = _parse_alternative_ip(clean)
        if ip is None:
            return Result()
        ip = _v4(ip)
        if self.is_ip_allowlisted(ip):
            return Result()
        if any(ip.version == n.version and ip in n for n in self.cfg.core_internal):
            return Result(False, f"core SSRF: {hostname} is a private/internal IP address",
                          "core_ssrf", 1.0)
        return Result()

    def _url_targets(self, u, with_decodings):
        dq = iterative_decode(u.raw_query)
        targets = [u.string(), u.path, dq]
        for k, v in u.query():
            dk = iterative_decode(k)
            targets.append(dk)
            if with_decodings:
                targets += [t for t, _ in decode_encodings(dk)]
            sk = _strip_url_noise(dk)
            if sk != dk:
                targets.append(sk)
            dv = iterative_decode(v)
            targets.append(dv)
            if with_decodings:
                targets += [t for t, _ in decode_encodings(dv)]
            sv = _strip_url_noise(dv)
            if sv != dv:
                targets.append(sv)
        return targets

    def _core_dlp_url(self, u):
        """Scanner.checkCoreDLP (core.go:643)."""
        targets = self._url_targets(u, with_decodings=False)
        if "." in u.hostname:
            targets.append(u.hostname.replace(".", ""))
        sp = _strip_url_noise(u.path)
        if sp != u.path:
            targets.append(sp)
        dp = iterative_decode(u.raw_path)
        if dp and dp != u.path:
            targets.append(dp)
        for seg in u.path.split("/"):
            if len(seg) >= 10:
                targets += [t for t, _ in decode_encodings(seg)]
        if u.raw_query and "&" in u.raw_query:
            c = _ordered_query_concat(u.raw_query)
            targets.append(c)
            if _strip_url_noise(c) != c:
                targets.append(_strip_url_noise(c))
        pats = self.cfg.compiled_core_dlp
        for t in targets:
            if not t:
                continue
            cleaned = for_dlp(t)
            for p in candidates(pats, cleaned):
                if p.matches(cleaned):
                    return Result(False, f"core DLP match: {p.name} ({p.severity})", "core_dlp", 1.0)
        hit = self._query_subsequence(u.raw_query, pats, u.hostname)
        if hit:
            return Result(False, f"core DLP match: {hit.name} ({hit.severity})", "core_dlp", 1.0)
        return Result()

    def _query_subsequence(self, raw_query, pats, hostname):
        """querySubsequenceDLP (scanner.go:1478): ordered 2-4 combinations of <= 20 values."""
        if not raw_query or "&" not in raw_query:
            return None
        values = [iterative_decode(v) for _, _, v in (p.partition("=") for p in raw_query.split("&")) if v]
        if len(values) < 3:
            return None
        values = values[:20]
        import itertools
        for size in (2, 3, 4):
            for combo in itertools.combinations(values, size):
                cleaned = for_dlp("".join(combo))
                for p in candidates(pats, cleaned):
                    if p.matches(cleaned) and not (p.exempt and any(match_domain(hostname, e) for e in p.exempt)) \
                            and not p.warn:
                        return p
        return None

    def _dlp_url(self, u):
        """Scanner.checkDLP (scanner.go:1262-1471)."""
        cfg = self.cfg
        targets = self._url_targets(u, with_decodings=True)
        dp = iterative_decode(u.raw_path)
        if dp and dp != u.path:
            targets.append(dp)
        for seg in u.path.split("/"):
            if len(seg) >= 10:
                targets += [t for t, _ in decode_encodings(seg)]
        if "." in u.hostname:
            targets.append(u.hostname.replace(".", ""))
        sp = _strip_url_noise(u.path)
        if sp != u.path:
            targets.append(sp)
        if u.raw_query and "&" in u.raw_query:
            c = _ordered_query_concat(u.raw_query)
            targets.append(c)
            if _strip_url_noise(c) != c:
                targets.append(_strip_url_noise(c))
        for t in targets:
            if not t:
                continue
            cleaned = for_dlp(t)
            for p in candidates(cfg.compiled_dlp, cleaned):
                if p.matches(cleaned):
                    if p.exempt and any(match_domain(u.hostname, e) for e in p.exempt):
                        continue
                    if p.warn:
                        continue
                    return Result(False, f"DLP match: {p.name} ({p.severity})", "dlp", 1.0)
        hit = self._query_subsequence(u.raw_query, cfg.compiled_dlp, u.hostname)
        if hit:
            return Result(False, f"DLP match: {hit.name} ({hit.severity})", "dlp", 1.0)
        if cfg.seed_enabled:
            seeds = [u.path, iterative_decode(u.raw_query)]
            for _, v in u.query():
                d = iterative_decode(v)
                seeds.append(d)
                seeds += [t for t, _ in decode_encodings(d)]
            if u.raw_query and "&" in u.raw_query:
                vals = []
                for i, pair in enumerate(u.raw_query.split("&")):
                    v = pair.partition("=")[2]
                    if v:
                        vals.append((" " if i > 0 else "") + iterative_decode(v))
                seeds.append("".join(vals))
            for seg in u.path.split("/"):
                if len(seg) >= 20:
                    seeds += [t for t, _ in decode_encodings(iterative_decode(seg))]
            if "." in u.hostname:
                seeds.append(u.hostname.replace(".", " "))
            if "/" in u.path:
                seeds.append(u.path.replace("/", " "))
            for t in seeds:
                if t and seed_detect(t, cfg.seed_min_words, cfg.seed_verify):
                    return Result(False, "DLP match: BIP-39 Seed Phrase (critical)", "dlp", 1.0)
        for secrets, reason in ((cfg.env_secrets, "environment variable leak detected"),
                                (cfg.file_secrets, "known secret leak detected")):
            if not secrets:
                continue
            full = strip_control(u.string())
            texts = [full, strip_control(iterative_decode(full))]
            for s in secrets:
                ok, enc = match_secret_encodings(s, texts)
                if ok:
                    return Result(False, reason + (f" ({enc}-encoded)" if enc else ""), "dlp", 1.0)
        return Result()

    def _entropy(self, u):
        """Scanner.checkEntropy (scanner.go:1918)."""
        th = self.cfg.entropy_threshold
        excluded = any(match_domain(u.hostname, e) for e in self.cfg.subdomain_exclusions)
        if not excluded:
            for seg in u.path.split("/"):
                if len(seg) >= 20:
                    e = shannon_entropy(seg)
                    if e > th:
                        return Result(False, f"high entropy path segment ({e:.2f} > {th:.2f} threshold)",
                                      "entropy", min(e / 8.0, 1.0))
        for k, v in u.query():
            if len(k) >= 20:
                e = shannon_entropy(k)
                if e > th:
                    return Result(False, f'high entropy query key {_go_quote(k)} ({e:.2f} > {th:.2f} threshold)',
                                  "entropy", min(e / 8.0, 1.0))
            if len(v) >= 20:
                e = shannon_entropy(v)
                if e > th:
                    return Result(False, f'high entropy query param {_go_quote(k)} ({e:.2f} > {th:.2f} threshold)',
                                  "entropy", min(e / 8.0, 1.0))
        return Result()

    def _subdomain_entropy(self, hostname):
        """Scanner.checkSubdomainEntropy (scanner.go:2030)."""
        th = self.cfg.subdomain_entropy_threshold
        if _is_ip(hostname) or any(match_domain(hostname, e) for e in self.cfg.subdomain_exclusions):
            return Result()
        labels = hostname.split(".")
        if len(labels) < 3:
            return Result()
        for label in labels[:-2]:
            if len(label) >= 8:
                e = shannon_entropy(label)
                if e > th:
                    return Result(False, f'high entropy subdomain label {_go_quote(label)} ({e:.2f} > {th:.2f} threshold)',
                                  "subdomain_entropy", min(e / 8.0, 1.0))
        return Result()

    def _ssrf(self, hostname):
        """Scanner.checkSSRF (scanner.go:776): resolve, block internal unless trusted/allowlisted."""
        if not self.cfg.internal:
            return Result()
        cidrs = self._merged_cidrs()
        alt = _parse_alternative_ip(hostname)
        if alt is not None:
            alt = _v4(alt)
            if any(alt.version == n.version and alt in n for n in cidrs):
                return Result(False, f"SSRF blocked: {hostname} decodes to internal IP {alt}", "ssrf", 1.0)
            return Result()
        try:
            ips = lookup_host(hostname)
        except OSError as e:
            return Result(False, f"SSRF check failed: DNS resolution error for {hostname}: {e}",
                          "ssrf", 1.0, "infrastructure")
        if self.is_trusted_domain(hostname):
            return Result()
        for ip_str in ips:
            try:
                ip = _v4(ipaddress.ip_address(ip_str.split("%")[0]))
            except ValueError:
                continue
            if any(ip.version == n.version and ip in n for n in cidrs):
                if self.is_ip_allowlisted(ip):
                    continue
                r = Result(False, f"SSRF blocked: {hostname} resolves to internal IP {ip_str}", "ssrf", 1.0)
                if self.in_api_allowlist(hostname):
                    r.hint = (f'add "{ip_str}" to ssrf.ip_allowlist to allow this internal IP'
                              if _is_ip(hostname) else
                              f'add "{hostname}" to trusted_domains to allow internal IP resolution')
                    r.cls = "config_mismatch"
                return r
        return Result()

    # -- ScanTextForDLP (text_dlp.go:69-250) ------------------------------------------------
    def scan_text(self, text):
        """Returns the enforced matches [(pattern name, severity, encoded)] (empty = clean)."""
        cfg = self.cfg
        core = self._match(cfg.compiled_core_dlp, for_dlp(text), "")
        cleaned0 = for_dlp(text)
        d = iterative_decode(cleaned0)
        if d != cleaned0:
            core += self._match(cfg.compiled_core_dlp, d, "url")
        if "." in cleaned0:
            core += self._match(cfg.compiled_core_dlp, cleaned0.replace(".", ""), "subdomain")
        core += self._decode_recursive(cfg.compiled_core_dlp, cleaned0, 0)
        matches = []
        if cfg.seed_enabled:
            seed_text = for_matching(text)
            cands = [seed_text]
            d = iterative_decode(seed_text)
            if d != seed_text:
                cands.append(d)
            st = seed_text.strip()
            for url, padded in ((False, True), (True, True), (False, False), (True, False)):
                b = go_b64decode(st, url, padded)
                if b:
                    cands.append(_bytes_to_str(b))
            for b in (go_hexdecode(st), go_b32decode(st)):
                if b:
                    cands.append(_bytes_to_str(b))
            for seg in re.split(r"[/?&= \n\t]+", seed_text):
                if len(seg) >= 20:
                    cands += [t for t, _ in decode_encodings(seg)]
            for c in cands:
                if seed_detect(c, cfg.seed_min_words, cfg.seed_verify):
                    matches.append(("BIP-39 Seed Phrase", "critical", "", False))
                    break
        cleaned = cleaned0
        matches += self._match(cfg.compiled_dlp, cleaned, "")
        d = iterative_decode(cleaned)
        if d != cleaned:
            matches += self._match(cfg.compiled_dlp, d, "url")
        if "." in cleaned:
            dotless = cleaned.replace(".", "")
            if dotless != cleaned:
                matches += self._match(cfg.compiled_dlp, dotless, "subdomain")
        matches += self._decode_recursive(cfg.compiled_dlp, cleaned, 0)
        if not any(not m[3] for m in matches):
            matches += self._decode_segments(cleaned)
        for secrets, name, override in ((cfg.env_secrets, "Environment Variable Leak", "env"),
                                        (cfg.file_secrets, "Known Secret Leak", "")):
            for s in secrets:
                ok, enc = match_secret_encodings(s, [cleaned])
                if ok:
                    matches.append((name, "critical", override or enc, False))
                    break
        out, seen = [], set()
        for m in [(n, s, e, False) for n, s, e, _ in core] + matches:
            if (m[0], m[2]) not in seen:
                seen.add((m[0], m[2]))
                out.append(m)
        return [(n, s, e) for n, s, e, warn in out if not warn]

    @staticmethod
    def _match(patterns, text, encoding):
        text = for_dlp(text)
        return [(p.name, p.severity, encoding, p.warn) for p in candidates(patterns, text)
                if p.matches(text)]

    def _decode_recursive(self, patterns, text, depth):
        """decodeAndMatchRecursive (text_dlp.go:258), max depth 3."""
        if depth >= 3:
            return []
        out = []
        for url, padded in ((False, True), (True, True), (False, False), (True, False)):
            b = go_b64decode(text, url, padded)
            if b:
                s = _bytes_to_str(b)
                out += self._match(patterns, s, "base64") + self._decode_recursive(patterns, s, depth + 1)
        b = go_hexdecode(text)
        if b is None:
            n = normalize_hex(text)
            b = go_hexdecode(n) if n else None
        if b:
            s = _bytes_to_str(b)
            out += self._match(patterns, s, "hex") + self._decode_recursive(patterns, s, depth + 1)
        b = go_b32decode(text)
        if b:
            s = _bytes_to_str(b)
            out += self._match(patterns, s, "base32") + self._decode_recursive(patterns, s, depth + 1)
        if patterns is self.cfg.compiled_dlp:   # the core variant has no URL-decode step
            d = iterative_decode(text)
            if d != text:
                out += self._match(patterns, d, "url") + self._decode_recursive(patterns, d, depth + 1)
        return out

    def _decode_segments(self, text):
        """decodeTextSegments (text_dlp.go:394)."""
        for seg in re.split(r"[/?&= \n\t]+", text):
            if len(seg) < 10:
                continue
            for t, enc in decode_encodings(seg):
                m = self._match(self.cfg.compiled_dlp, t, enc)
                if m:
                    return m
            m = self._decode_recursive(self.cfg.compiled_dlp, seg, 0)
            if m:
                return m
        return []

    # -- ScanResponse (scanner/response.go:40) ------------------------------------------------
    def scan_response(self, content):
        """Returns the names of the prompt-injection patterns found (core first, then config)."""
        hit = self._response_passes(self.cfg.compiled_core_response, content)
        if hit:
            return hit
        if not self.cfg.response_enabled:
            return []
        return self._response_passes(self.cfg.compiled_response, content)

    @staticmethod
    def _response_passes(patterns, original):
        if not patterns:
            return []
        content = for_matching(original)

        def run(pats, text):
            return [n for n, rx in pats if rx.search(text)]

        m = run(patterns, content)
        if not m:
            spaced = for_matching(original, invisible_to_space=True)
            if spaced != content:
                m = run(patterns, spaced)
        if not m:
            leet = content.translate(_LEET)
            if leet != content:
                m = run(patterns, leet)
        if not m:
            opt = []
            for n, rx in patterns:
                p2 = rx.pattern.replace(r"\s+", r"\s*").replace(r"[-,;:.\s]+", r"[-,;:.\s]*")
                if p2 != rx.pattern:
                    opt.append((n, _cached_rx(p2)))
            m = run(opt, content)
        if not m:
            folded = content.translate(_VOWELS)
            if folded != content:
                vf = []
                for n, rx in patterns:
                    pat, prefix = rx.pattern, ""
                    fm = re.match(r"^\(\?([imsU-]+)\)", pat)
                    if fm:
                        prefix, pat = pat[:fm.end()], pat[fm.end():]
                    p2 = prefix + pat.translate(_VOWELS)
                    if p2 != rx.pattern:
                        vf.append((n, _cached_rx(p2)))
                m = run(vf, folded)
        return m


_RX_CACHE = {}


def _cached_rx(pattern):
    rx = _RX_CACHE.get(pattern)
    if rx is None:
        try:
            rx = go_regex(pattern)
        except re.error:
            rx = re.compile(r"(?!x)x")
        _RX_CACHE[pattern] = rx
    return rx


def _go_quote(s):
    return json.dumps(s, ensure_ascii=False)


def _strip_url_noise(s):
    """scanner.stripURLNoise (scanner.go:1112)."""
    return re.sub(r"[./ \t\n\r+,;|]", "", s)


def _ordered_query_concat(raw_query):
    return "".join(iterative_decode(p.partition("=")[2]) for p in raw_query.split("&")
                   if p.partition("=")[2])


def _check_crlf(raw_url):
    """scanner.checkCRLF (scanner.go:955)."""
    u = raw_url.split("#", 1)[0]
    low = u.lower()
    if "%0d%0a" in low:
        return Result(False, "CRLF injection sequence in URL", "crlf_injection", 0.9)
    if "%250d%250a" in low:
        return Result(False, "double-encoded CRLF injection sequence in URL", "crlf_injection", 0.9)
    if "%0a" in low or "%0d" in low:
        return Result(False, "encoded CR or LF in URL", "crlf_injection", 0.9)
    if "%250a" in low or "%250d" in low:
        return Result(False, "double-encoded CR or LF in URL", "crlf_injection", 0.9)
    if "\r" in u or "\n" in u:
        return Result(False, "raw CRLF bytes in URL", "crlf_injection", 0.9)
    return Result()


def _check_path_traversal(u):
    """scanner.checkPathTraversal (scanner.go:1020)."""
    raw = u.raw_path if u.raw_path != u.path else u.path
    low = raw.lower()
    for dd in ("..", "%2e.", ".%2e", "%2e%2e"):
        for left in ("/", "\\", "%2f", "%5c"):
            for right in ("/", "\\", "%2f", "%5c"):
                if left + dd + right in low:
                    return Result(False, "path traversal sequence in URL", "path_traversal", 0.7)
            if low.endswith(left + dd):
                return Result(False, "path traversal sequence in URL", "path_traversal", 0.7)
    if "/%252e%252e/" in low or "/%252e%252e%252f" in low or low.endswith("/%252e%252e"):
        return Result(False, "double-encoded path traversal in URL", "path_traversal", 0.7)
    return Result()


# ============================================================================================
# Audit log: internal/audit/logger.go (zerolog JSON: level, component, event fields in call
# order, time (RFC 3339, seconds), message). Durations are float milliseconds like zerolog Dur.
# ============================================================================================

def _fmt_float(x):
    if x != x or x in (float("inf"), float("-inf")):
        return json.dumps(str(x))
    s = format(decimal.Decimal(repr(float(x))), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s or "0"


class Logger:
    def __init__(self, cfg):
        self.lock = threading.Lock()
        self.reconfigure(cfg)

    def reconfigure(self, cfg):
        self.fmt, self.include_allowed, self.include_blocked = \
            cfg.log_format, cfg.log_allowed, cfg.log_blocked
        self.stdout = cfg.log_output in ("stdout", "both")
        self.file = None
        if cfg.log_output in ("file", "both"):
            self.file = open(cfg.log_file, "a", buffering=1)

    def _emit(self, level, event, fields, message):
        parts = [("level", level), ("component", "pipelock"), ("event", event)]
        parts += [(k, v) for k, v in fields if v is not None]
        parts += [("time", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())), ("message", message)]
        if self.fmt == "text":   # DIFFERENCE: plain text, not zerolog's ConsoleWriter
            line = " ".join(f"{k}={v}" for k, v in parts)
        else:
            items = []
            for k, v in parts:
                if isinstance(v, float):
                    val = _fmt_float(v)
                else:
                    val = json.dumps(v, ensure_ascii=False)
                items.append(json.dumps(k) + ":" + val)
            line = "{" + ",".join(items) + "}"
        with self.lock:
            if self.stdout:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()
            if self.file:
                self.file.write(line + "\n")

    @staticmethod
    def _ctx(ctx, redact=False):
        """LogContext fields: method, url | target | resource, client_ip, request_id."""
        url, target = ctx.get("url"), ctx.get("target")
        if redact:   # contentScanners (logger.go:37-46): echo scheme://host only
            url = _redact_url(url) if url else None
            target = _redact_url(target) if target else None
        return url, target

    # logger.go:511 LogBlocked
    def blocked(self, ctx, scanner, reason):
        if not self.include_blocked:
            return
        url, target = self._ctx(ctx, scanner in CONTENT_SCANNERS)
        self._emit("warn", "blocked", [
            ("method", ctx.get("method", "")), ("url", url or None), ("target", target or None),
            ("client_ip", ctx.get("client_ip") or None), ("request_id", ctx.get("request_id") or None),
            ("scanner", scanner), ("reason", reason), ("agent", ctx.get("agent") or None),
            ("mitre_technique", MITRE.get(scanner))], "request blocked")

    # logger.go:552 LogError
    def error(self, ctx, err):
        self._emit("error", "error", [
            ("method", ctx.get("method") or None), ("url", ctx.get("url") or None),
            ("target", ctx.get("target") or None), ("resource", ctx.get("resource") or None),
            ("client_ip", ctx.get("client_ip") or None), ("request_id", ctx.get("request_id") or None),
            ("agent", ctx.get("agent") or None), ("error", str(err))], "request error")

    # logger.go:573 LogAnomaly
    def anomaly(self, ctx, scanner, reason, score=0.0):
        self._emit("warn", "anomaly", [
            ("method", ctx.get("method", "")), ("url", ctx.get("url") or None),
            ("target", ctx.get("target") or None), ("resource", ctx.get("resource") or None),
            ("client_ip", ctx.get("client_ip") or None), ("request_id", ctx.get("request_id") or None),
            ("agent", ctx.get("agent") or None), ("scanner", scanner or None),
            ("mitre_technique", MITRE.get(scanner) if scanner else None), ("reason", reason),
            ("score", float(score))], "anomaly detected")

    # logger.go:807 LogForwardHTTP (size_bytes is 0 for SSE: forward.go:1408)
    def forward_http(self, ctx, status, size, duration):
        if not self.include_allowed:
            return
        self._emit("info", "forward_http", [
            ("method", ctx.get("method", "")), ("url", ctx.get("url") or None),
            ("client_ip", ctx.get("client_ip") or None), ("request_id", ctx.get("request_id") or None),
            ("agent", ctx.get("agent") or None), ("status_code", status), ("size_bytes", size),
            ("duration_ms", duration * 1000.0)], "forward proxy request")

    # logger.go:1194 LogHeaderDLP
    def header_dlp(self, ctx, header, action, patterns):
        self._emit("warn", "header_dlp", [
            ("method", ctx.get("method", "")), ("url", ctx.get("url") or None),
            ("target", ctx.get("target") or None), ("header", header), ("action", action),
            ("client_ip", ctx.get("client_ip") or None), ("request_id", ctx.get("request_id") or None),
            ("agent", ctx.get("agent") or None), ("patterns", patterns),
            ("mitre_technique", "T1048")], "request header DLP scan hit")

    # logger.go:1146 LogBodyDLP
    def body_dlp(self, ctx, action, patterns):
        self._emit("warn", "body_dlp", [
            ("method", ctx.get("method", "")), ("url", ctx.get("url") or None), ("action", action),
            ("client_ip", ctx.get("client_ip") or None), ("request_id", ctx.get("request_id") or None),
            ("agent", ctx.get("agent") or None), ("match_count", len(patterns)),
            ("patterns", patterns), ("mitre_technique", "T1048")], "request body DLP scan hit")

    # logger.go:722 LogResponseScan
    def response_scan(self, ctx, action, patterns):
        self._emit("warn", "response_scan", [
            ("method", ctx.get("method") or None), ("url", ctx.get("url") or None),
            ("client_ip", ctx.get("client_ip") or None), ("request_id", ctx.get("request_id") or None),
            ("action", action), ("match_count", len(patterns)), ("patterns", patterns),
            ("mitre_technique", "T1059"), ("agent", ctx.get("agent") or None)],
            "response scan detected prompt injection")

    # logger.go:830 LogRedirect (no include_allowed gate)
    def redirect(self, original, redirect_url, client_ip, request_id, agent, hop):
        self._emit("info", "redirect", [
            ("original_url", original), ("redirect_url", redirect_url), ("client_ip", client_ip),
            ("request_id", request_id), ("agent", agent or None), ("hop", hop)], "redirect followed")

    # logger.go:771 / 788 tunnels
    def tunnel_open(self, ctx):
        if self.include_allowed:
            self._emit("info", "tunnel_open", [
                ("target", ctx.get("target")), ("client_ip", ctx.get("client_ip")),
                ("request_id", ctx.get("request_id")), ("agent", ctx.get("agent") or None)],
                "tunnel opened")

    def tunnel_close(self, ctx, total, duration):
        if self.include_allowed:
            self._emit("info", "tunnel_close", [
                ("target", ctx.get("target")), ("client_ip", ctx.get("client_ip")),
                ("request_id", ctx.get("request_id")), ("agent", ctx.get("agent") or None),
                ("total_bytes", total), ("duration_ms", duration * 1000.0)], "tunnel closed")

    def sni_mismatch(self, connect_host, sni_host, client_ip, request_id, agent, category):
        self._emit("warn", "sni_mismatch", [
            ("connect_host", connect_host), ("sni_host", sni_host), ("client_ip", client_ip),
            ("request_id", request_id), ("agent", agent or None), ("category", category)],
            "SNI mismatch: CONNECT target does not match TLS ClientHello")

    # logger.go:864 / 877
    def config_reload(self, status, detail, config_hash):
        self._emit("info", "config_reload", [("status", status), ("detail", detail),
                                             ("config_hash", config_hash)], "configuration reloaded")

    def shutdown(self, reason):                  # logger.go:887
        self._emit("info", "shutdown", [("reason", reason)], "pipelock stopping")

    def startup(self, listen, mode, version, config_hash):
        self._emit("info", "startup", [("listen", listen), ("mode", mode), ("version", version),
                                       ("config_hash", config_hash)], "pipelock started")


CONTENT_SCANNERS = {"dlp", "body_dlp", "header_dlp", "mcp_input_scanning", "response_scan",
                    "address_protection", "seed_phrase", "cross_request_entropy"}  # logger.go:37
MITRE = {  # internal/audit/technique.go
    "dlp": "T1048", "entropy": "T1048", "subdomain_entropy": "T1048", "length": "T1048",
    "databudget": "T1030", "ratelimit": "T1030", "env_leak": "T1048", "ssrf": "T1046",
    "crlf_injection": "T1190", "path_traversal": "T1083", "blocklist": "T1071.001",
    "allowlist": "T1071.001", "scheme": "T1071", "redirect": "T1071.001", "response_scan": "T1059",
    "parser": "T1190", "context": "T1190", "sni_mismatch": "T1090.004", "body_dlp": "T1048",
    "header_dlp": "T1048", "core_dlp": "T1048", "core_ssrf": "T1046", "core_response": "T1059",
}


def _redact_url(raw):
    """audit.redactContentBearingURL (logger.go:71)."""
    try:
        u = urllib.parse.urlsplit(raw)
    except ValueError:
        return "[redacted-url]"
    if not u.netloc:
        return "[redacted-url]"
    return f"{u.scheme}://{u.netloc}/[redacted]"


# ============================================================================================
# HTTP/1.1 server shaped like Go's net/http server (the listener pipelock runs in
# internal/proxy/proxy.go Start: ReadHeaderTimeout 5 s, ReadTimeout 10 s, IdleTimeout 120 s,
# WriteTimeout 0 with forward_proxy).
# ============================================================================================

READ_HEADER_TIMEOUT, READ_TIMEOUT, IDLE_TIMEOUT = 5.0, 10.0, 120.0   # proxy.go:1937-1940
MAX_HEADER_BYTES = (1 << 20) + 4096                                  # Go DefaultMaxHeaderBytes
_TCHAR = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
HOP_BY_HOP = ["Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te",
              "Trailer", "Transfer-Encoding", "Upgrade"]                   # relay.go:17-26
FORWARDED_CLIENT_HEADERS = ["X-Forwarded-For", "X-Real-Ip", "X-Forwarded-Host",
                            "X-Forwarded-Proto", "X-Forwarded-Port", "Forwarded", "Via"]  # agent.go


def canonical_key(k):
    """textproto.CanonicalMIMEHeaderKey: unchanged when it has a non-token byte."""
    if not _TCHAR.fullmatch(k):
        return k
    return "-".join(p[:1].upper() + p[1:].lower() for p in k.split("-"))


class Headers:
    """Ordered multi-map with canonical keys (Go's http.Header)."""

    def __init__(self, items=()):
        self.items = [(canonical_key(k), v) for k, v in items]

    def get(self, k, default=""):
        k = canonical_key(k)
        for kk, v in self.items:
            if kk == k:
                return v
        return default

    def values(self, k):
        k = canonical_key(k)
        return [v for kk, v in self.items if kk == k]

    def has(self, k):
        return bool(self.values(k)) or any(kk == canonical_key(k) for kk, _ in self.items)

    def delete(self, k):
        k = canonical_key(k)
        self.items = [(kk, v) for kk, v in self.items if kk != k]

    def set(self, k, v):
        self.delete(k)
        self.items.append((canonical_key(k), v))

    def add(self, k, v):
        self.items.append((canonical_key(k), v))

    def as_map(self):
        out = {}
        for k, v in self.items:
            out.setdefault(k, []).append(v)
        return out

    def copy(self):
        h = Headers()
        h.items = list(self.items)
        return h


def remove_hop_by_hop(h):
    """removeHopByHopHeaders (internal/proxy/relay.go:32)."""
    for v in h.values("Connection"):
        for name in v.split(","):
            if name.strip():
                h.delete(name.strip())
    for name in HOP_BY_HOP:
        h.delete(name)


class ConnReader:
    """Buffered socket reader with Go-style read deadlines."""

    def __init__(self, sock):
        self.sock, self.buf, self.deadline = sock, bytearray(), None

    def _fill(self):
        if self.deadline is not None:
            rem = self.deadline - time.monotonic()
            if rem <= 0:
                raise TimeoutError("i/o timeout")
            self.sock.settimeout(rem)
        else:
            self.sock.settimeout(None)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("i/o timeout")
        if not data:
            raise EOFError("EOF")
        self.buf += data

    def readline(self, limit):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            if len(self.buf) > limit:
                raise OverflowError("header too large")
            self._fill()

    def read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_some(self, n=65536):
        if not self.buf:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def wait_readable(self, timeout):
        if self.buf:
            return True
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        if not data:
            raise EOFError("EOF")
        self.buf += data
        return True

    def take(self):
        data = bytes(self.buf)
        self.buf.clear()
        return data


class BadRequest(Exception):
    """A request Go's server refuses before any handler runs. `public` reasons are Go's
    badRequestError values, appended to the body ("400 Bad Request: missing required Host
    header"); other parse errors answer a bare "400 Bad Request"."""

    def __init__(self, status, reason="", public=False):
        self.status, self.reason, self.public = status, reason, public


class Request:
    def __init__(self, method, target, proto, headers, host, url, reader, conn_close):
        self.method, self.target, self.proto = method, target, proto
        self.headers, self.host, self.url = headers, host, url
        self.reader, self.close = reader, conn_close
        self.body_consumed = False
        self.chunked = False
        self.content_length = 0
        self.start = time.monotonic()
        self.sent_continue = False
        self.expect_continue = False

    def read_body(self, limit=None):
        """Read the request body (Go: r.Body); ReadTimeout bounds the whole request read.
        With limit, stops after limit bytes (the caller sees len > limit-1 as overflow)."""
        if self.body_consumed:
            return b""
        self.body_consumed = True
        if self.expect_continue and not self.sent_continue:
            self.sent_continue = True
            self.reader.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.reader.deadline = self.start + READ_TIMEOUT
        try:
            if self.chunked:
                chunks, total = [], 0
                while True:
                    line = self.reader.readline(4096).strip()
                    size = int(line.split(b";")[0] or b"0", 16)
                    if size == 0:
                        while self.reader.readline(4096) not in (b"\r\n", b"\n"):
                            pass
                        break
                    data = self.reader.read_exact(size)
                    self.reader.readline(4096)
                    chunks.append(data)
                    total += size
                    if limit is not None and total >= limit:
                        self.close = True   # rest unread: Go closes the connection afterwards
                        break
                return b"".join(chunks)
            n = self.content_length
            if limit is not None and n > limit:
                self.close = True
                n = limit
            return self.reader.read_exact(n)
        finally:
            self.reader.deadline = None

    def has_body(self):
        return self.chunked or self.content_length > 0


def parse_request(reader, first_request):
    """readRequest in Go's net/http/server.go + request.go (request line, headers, Host)."""
    reader.deadline = time.monotonic() + READ_HEADER_TIMEOUT
    start = time.monotonic()
    try:
        line = reader.readline(MAX_HEADER_BYTES)
        total = len(line)
        line = line.rstrip(b"\r\n")
        headers_raw = []
        while True:
            h = reader.readline(MAX_HEADER_BYTES)
            total += len(h)
            if total > MAX_HEADER_BYTES:
                raise OverflowError
            h = h.rstrip(b"\r\n")
            if not h:
                break
            headers_raw.append(h)
    except OverflowError:
        raise BadRequest(431)
    finally:
        reader.deadline = None
    try:
        line = line.decode("latin-1")
    except UnicodeDecodeError:
        raise BadRequest(400, "malformed HTTP request")
    method, sp1, rest = line.partition(" ")
    target, sp2, proto = rest.partition(" ")
    if not sp1 or not sp2:
        raise BadRequest(400, f'malformed HTTP request "{line}"')
    m = re.fullmatch(r"HTTP/(\d)\.(\d)", proto)
    if not m:
        raise BadRequest(400, f'malformed HTTP version "{proto}"')
    if m.group(1) != "1":
        raise BadRequest(505)
    if not _TCHAR.fullmatch(method):
        raise BadRequest(400, f'invalid method "{method}"')
    headers = Headers()
    for h in headers_raw:
        h = h.decode("latin-1")
        if h[:1] in (" ", "\t"):
            if not headers.items:
                raise BadRequest(400, "malformed MIME header initial line")
            k, v = headers.items[-1]
            headers.items[-1] = (k, v + " " + h.strip())
            continue
        k, colon, v = h.partition(":")
        if not colon or not _TCHAR.fullmatch(k):
            raise BadRequest(400, "invalid header name", True)
        headers.add(k, v.strip(" \t"))
    is_connect = method == "CONNECT"
    url = None
    if is_connect and not target.startswith("/"):
        host = target
        if not host or "/" in host:
            raise BadRequest(400, f'malformed HTTP request "{line}"')
    else:
        if not (target.startswith("/") or target == "*" or re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://", target)):
            raise BadRequest(400, f'malformed HTTP request "{line}"')
        if "://" in target.split("?")[0]:
            try:
                url = URL(target)
            except ValueError:
                raise BadRequest(400, f'malformed HTTP request "{line}"')
        host = url.host if url and url.host else headers.get("Host")
    hosts = headers.values("Host")
    if m.group(2) != "0" and not hosts and not is_connect:
        raise BadRequest(400, "missing required Host header", True)
    if len(hosts) > 1:
        raise BadRequest(400, "too many Host headers", True)
    headers.delete("Host")
    conn_close = False
    conn_tokens = ",".join(headers.values("Connection")).lower()
    if m.group(2) == "0":
        conn_close = "keep-alive" not in conn_tokens
    elif "close" in [t.strip() for t in conn_tokens.split(",")]:
        conn_close = True
    req = Request(method, target, proto, headers, host, url, reader, conn_close)
    req.start = start
    te = [t.strip().lower() for t in ",".join(headers.values("Transfer-Encoding")).split(",") if t.strip()]
    if te:
        if te != ["chunked"]:
            raise BadRequest(501, "unsupported transfer encoding")
        if headers.values("Content-Length"):
            raise BadRequest(400, "Transfer-Encoding and Content-Length")
        req.chunked = True
        headers.delete("Transfer-Encoding")      # Go moves it to r.TransferEncoding
    cls = set(headers.values("Content-Length"))
    if len(cls) > 1:
        raise BadRequest(400, "bad Content-Length")
    if cls:
        v = cls.pop()
        if not v.isdigit():
            raise BadRequest(400, f'bad Content-Length "{v}"')
        req.content_length = int(v)
    exp = headers.get("Expect").lower()
    if exp:
        if exp != "100-continue":
            raise BadRequest(417)
        req.expect_continue = True
    return req


class ResponseWriter:
    """Writes one response like Go's http.ResponseWriter: sorted headers, Date, Content-Length
    when the handler wrote <= 2048 bytes in one go, otherwise chunked (HTTP/1.1)."""

    def __init__(self, sock, req):
        self.sock, self.req = sock, req
        self.headers = Headers()
        self.status = None
        self.chunked = False
        self.wrote_header = False
        self.bytes = 0
        self.dead = False

    def _head(self, status, extra_close=False, content_length=None):
        """Go's chunkWriter.writeHeader: the handler's headers sorted by key, then the extra
        headers Connection, Transfer-Encoding, Date (unless set) and Content-Length."""
        h = self.headers
        for k in ("Content-Length", "Transfer-Encoding", "Connection"):
            h.delete(k)
        extra = []
        if self.req.close or extra_close:
            extra.append(("Connection", "close"))
        if content_length is None and self.status not in (204, 304) and self.req.method != "HEAD":
            extra.append(("Transfer-Encoding", "chunked"))
            self.chunked = True
        if not h.has("Date"):
            extra.append(("Date", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())))
        if content_length is not None:
            extra.append(("Content-Length", str(content_length)))
        lines = [f"HTTP/1.1 {status} {_status_text(status)}"]
        for k in sorted({k for k, _ in h.items}):
            for v in h.values(k):
                lines.append(f"{k}: {v}")
        lines += [f"{k}: {v}" for k, v in extra]
        self._send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace"))
        self.wrote_header = True

    def _send(self, data):
        if self.dead:
            raise BrokenPipeError("client gone")
        try:
            self.sock.sendall(data)
        except OSError:
            self.dead = True
            raise

    def write_full(self, status, body):
        """WriteHeader + one Write + return from the handler."""
        self.status = status
        if body and not self.headers.has("Content-Type") and status not in (204, 304):
            self.headers.set("Content-Type", detect_content_type(body))
        if status in (204, 304) or self.req.method == "HEAD":
            self._head(status, content_length=None if status in (204, 304) else len(body))
            return
        if len(body) <= 2048:
            self._head(status, content_length=len(body))
            self._send(body)
        else:
            self._head(status)
            self._send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        self.bytes += len(body)

    def start_stream(self, status):
        self.status = status
        self._head(status)

    def write_chunk(self, data):
        if not data:
            return
        if self.chunked:
            self._send(b"%x\r\n%s\r\n" % (len(data), data))
        elif self.req.method != "HEAD" and self.status not in (204, 304):
            self._send(data)
        self.bytes += len(data)

    def end_stream(self):
        if self.chunked and not self.dead:
            try:
                self._send(b"0\r\n\r\n")
            except OSError:
                pass


def detect_content_type(data):
    """A subset of Go's http.DetectContentType (the server sniffs when the handler set no
    Content-Type): HTML, PDF, PNG, GIF, JPEG, gzip, zip, binary, else UTF-8 text."""
    head = data[:512]
    lstripped = head.lstrip(b"\t\n\x0c\r ").lower()
    for tag in (b"<!doctype html", b"<html", b"<head", b"<script", b"<iframe", b"<h1", b"<div",
                b"<font", b"<table", b"<a", b"<style", b"<title", b"<b", b"<body", b"<br", b"<p",
                b"<!--"):
        if lstripped.startswith(tag) and lstripped[len(tag):len(tag) + 1] in (b" ", b">"):
            return "text/html; charset=utf-8"
    for magic, ctype in ((b"%PDF-", "application/pdf"), (b"\x89PNG\r\n\x1a\n", "image/png"),
                         (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"),
                         (b"\xff\xd8\xff", "image/jpeg"), (b"\x1f\x8b\x08", "application/x-gzip"),
                         (b"PK\x03\x04", "application/zip")):
        if head.startswith(magic):
            return ctype
    if any(b in b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0e\x0f\x10\x11\x12\x13\x14\x15"
                b"\x16\x17\x18\x19\x1a\x1c\x1d\x1e\x1f" for b in head):
        return "application/octet-stream"
    return "text/plain; charset=utf-8"


def _status_text(code):
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return f"status code {code}"


def http_error(w, text, status, extra=()):
    """net/http.Error: text/plain, nosniff, body text + newline."""
    w.headers = Headers([("Content-Type", "text/plain; charset=utf-8"),
                         ("X-Content-Type-Options", "nosniff"), *extra])
    w.write_full(status, (text + "\n").encode("utf-8"))


# ============================================================================================
# Upstream client: internal/proxy/proxy.go NewProxy (http.Client with Timeout =
# fetch_proxy.timeout_seconds, ResponseHeaderTimeout the same, DisableCompression, dial 10 s,
# TLS handshake 10 s, CheckRedirect: max 5, each hop scanned) and ssrfSafeDialContext.
# ============================================================================================

class UpstreamError(Exception):
    pass


class RedirectBlocked(Exception):
    def __init__(self, scanner, reason):
        self.scanner, self.reason = scanner, "redirect blocked: " + reason   # proxy.go:170


class Deadline:
    def __init__(self, seconds):
        self.at = time.monotonic() + seconds

    def left(self, cap=None):
        rem = self.at - time.monotonic()
        if rem <= 0:
            raise UpstreamError("context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
        return min(rem, cap) if cap else rem


class _Pool:
    def __init__(self):
        self.lock, self.idle = threading.Lock(), {}

    def get(self, key):
        with self.lock:
            lst = self.idle.get(key)
            while lst:
                conn, t = lst.pop()
                if time.monotonic() - t < 90:       # IdleConnTimeout 90 s (proxy.go:472)
                    return conn
                conn.close()
        return None

    def put(self, key, conn):
        with self.lock:
            self.idle.setdefault(key, []).append((conn, time.monotonic()))


POOL = _Pool()


def ssrf_safe_connect(state, host, port, deadline):
    """ssrfSafeDialContext (proxy.go:1752): resolve, refuse internal IPs unless trusted domain
    or ssrf.ip_allowlist, connect to the first address (dial timeout 10 s)."""
    sc = state.scanner
    try:
        ip = ipaddress.ip_address(host)
        addrs = [host]
        if sc.is_internal(ip) and not sc.is_ip_allowlisted(ip):
            raise UpstreamError(f"SSRF blocked: connection to internal IP {host}")
    except ValueError:
        try:
            addrs = lookup_host(host)
        except OSError as e:
            raise UpstreamError(f"ssrfSafeDialContext: DNS lookup \"{host}\": {e}")
        trusted = sc.is_trusted_domain(host)
        for a in addrs:
            ip = ipaddress.ip_address(a.split("%")[0])
            if sc.is_internal(ip) and not (trusted or sc.is_ip_allowlisted(ip)):
                raise UpstreamError(f"SSRF blocked: {host} resolves to internal IP {a}")
    src = os.environ.get("PIPELOCK_DOUBLE_SOURCE_ADDR")          # test-only knob
    try:
        sock = socket.create_connection((addrs[0], port), timeout=deadline.left(10.0),
                                        source_address=(src, 0) if src else None)
    except OSError as e:
        raise UpstreamError(f"dial tcp {addrs[0]}:{port}: {e}")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _Conn(http.client.HTTPConnection):
    """http.client connection over a socket we dialled ourselves (SSRF-checked)."""

    def __init__(self, sock, host, port):
        super().__init__(host, port)
        self.sock = sock


def _open(state, scheme, host, port, deadline):
    key = (scheme, host, port)
    conn = POOL.get(key)
    if conn is not None:
        return conn, True
    sock = ssrf_safe_connect(state, host, port, deadline)
    if scheme == "https":
        try:
            sock.settimeout(deadline.left(10.0))
            # crypto/tls: hostnameInSNI drops a trailing dot, and x509's matchHostnames
            # ignores it, so `ALLOWED.TEST.` verifies against a certificate for allowed.test
            sock = state.ssl_ctx.wrap_socket(sock, server_hostname=host.rstrip("."))
        except (OSError, ssl.SSLError) as e:
            sock.close()
            raise UpstreamError(f"tls: {e}")
    return _Conn(sock, host, port), False


def _redirect_behavior(method, status, has_body):
    """net/http client.go redirectBehavior."""
    if status in (301, 302, 303):
        return True, method if method in ("GET", "HEAD") else "GET", False
    if status in (307, 308):
        return True, method, True
    return False, method, False


class Upstream:
    """One forwarded request and its response (after redirects)."""

    def __init__(self, resp, conn, key, url, deadline):
        self.resp, self.conn, self.key, self.url, self.deadline = resp, conn, key, url, deadline
        self.status, self.reason = resp.status, resp.reason
        self.headers = Headers(resp.getheaders())

    def read(self, n=65536):
        """Read with the client deadline (http.Client.Timeout covers the body)."""
        rem = self.deadline.at - time.monotonic()
        if rem <= 0:
            raise UpstreamError("context deadline exceeded (Client.Timeout or context "
                                "cancellation while reading body)")
        self.conn.sock.settimeout(rem)
        try:
            return self.resp.read1(n)
        except socket.timeout:
            raise UpstreamError("context deadline exceeded (Client.Timeout or context "
                                "cancellation while reading body)")
        except (OSError, http.client.HTTPException) as e:
            raise UpstreamError(f"read: {e!r}")

    def close(self, reusable):
        if reusable and not self.resp.will_close and self.resp.isclosed():
            POOL.put(self.key, self.conn)
        else:
            self.conn.close()


def forward_request(state, method, url, headers, body, ctx, chunked=False):
    """p.client.Do(outReq) with CheckRedirect (proxy.go:485-556). `chunked`: the client sent a
    chunked body; r.Clone keeps TransferEncoding, so Go's transport sends it chunked too."""
    cfg = state.cfg
    deadline = Deadline(cfg.timeout_seconds)
    via = []
    cur_url, cur_method, cur_body, cur_headers = url, method, body, headers.copy()
    while True:
        resp = _do_one(state, cur_method, cur_url, cur_headers, cur_body, deadline, chunked)
        follow, new_method, include_body = _redirect_behavior(cur_method, resp.status, cur_body)
        loc = resp.headers.get("Location")
        if not follow or not loc:
            return resp
        # Drain (bounded) and close the redirect response, like Go's client.
        try:
            resp.resp.read(2 << 10)
        except Exception:
            pass
        resp.close(False)
        next_url = urllib.parse.urljoin(cur_url.string(), loc)
        via.append(cur_url)
        if len(via) >= 5:                                               # proxy.go:489
            raise UpstreamError("too many redirects (max 5)")
        state.log.redirect(via[0].string(), next_url, ctx["client_ip"], ctx["request_id"],
                           ctx["agent"], len(via))
        result = state.scanner.scan(next_url)
        if not result.allowed:
            actx = dict(ctx, url=next_url)
            if cfg.enforce:
                state.log.blocked(actx, result.scanner,
                                  f"redirect from {via[0].string()} blocked: {result.reason}")
                raise RedirectBlocked(result.scanner, result.reason)
            state.log.anomaly(actx, result.scanner, f"redirect from {via[0].string()}: {result.reason}",
                              result.score)
        new_url = URL(next_url)
        h = cur_headers.copy()
        if not include_body:
            h.delete("Content-Length")
            cur_body = b""
            chunked = False
        if new_url.hostname.lower() != via[0].hostname.lower() and \
                not new_url.hostname.lower().endswith("." + via[0].hostname.lower()):
            for k in ("Authorization", "Www-Authenticate", "Cookie", "Cookie2"):
                h.delete(k)                                   # net/http shouldCopyHeaderOnRedirect
        if not (cur_url.scheme == "https" and new_url.scheme == "http"):
            h.set("Referer", cur_url.string())                # net/http refererForURL
        cur_url, cur_method, cur_headers = new_url, new_method, h


def _do_one(state, method, url, headers, body, deadline, chunked=False):
    scheme = url.scheme
    port = int(url.port) if url.port else (443 if scheme == "https" else 80)
    host = url.hostname
    key = (scheme, host, port)
    out = []
    default_port = 443 if scheme == "https" else 80
    out.append(("Host", url.host if url.port and port != default_port else host))
    if not headers.has("User-Agent"):
        out.append(("User-Agent", "Go-http-client/1.1"))
    if chunked:
        out.append(("Transfer-Encoding", "chunked"))
    elif body or method in ("POST", "PUT", "PATCH"):
        out.append(("Content-Length", str(len(body))))
    for k in sorted({k for k, _ in headers.items}):
        if k in ("Host", "Content-Length", "Transfer-Encoding"):
            continue
        for v in headers.values(k):
            out.append((k, v))
    for attempt in (0, 1):
        conn, reused = _open(state, scheme, host, port, deadline)
        try:
            conn.sock.settimeout(deadline.left())
            conn.putrequest(method, url.request_uri(), skip_host=True, skip_accept_encoding=True)
            for k, v in out:
                conn.putheader(k, v)
            if chunked:
                conn.endheaders(body, encode_chunked=True) if body else conn.endheaders(
                    [b""], encode_chunked=True)
            else:
                conn.endheaders(body if body else None)
            resp = conn.getresponse()
            return Upstream(resp, conn, key, url, deadline)
        except socket.timeout:
            conn.close()
            raise UpstreamError("context deadline exceeded (Client.Timeout exceeded while awaiting headers)")
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            if reused and attempt == 0:
                continue   # a stale pooled connection; Go's transport retries too
            raise UpstreamError(repr(e))


# ============================================================================================
# Request handling: internal/proxy/proxy.go buildHandler, forward.go handleForwardHTTP and
# handleConnect, proxy.go handleHealth.
# ============================================================================================

_request_counter = [0]
_request_counter_lock = threading.Lock()


def request_meta(client_ip):
    """requestMeta (proxy.go:235): client IP and "req-N"."""
    with _request_counter_lock:
        _request_counter[0] += 1
        return client_ip, f"req-{_request_counter[0]}"


class State:
    cfg = None
    scanner = None
    log = None
    ssl_ctx = None
    start = time.monotonic()
    lock = threading.Lock()


def handle(req, w, client_ip):
    """buildHandler (proxy.go:1811)."""
    cfg = State.cfg
    if req.method == "CONNECT":
        if not cfg.forward_proxy:
            return http_error(w, "CONNECT not supported", 405)
        return "connect"
    if req.url is not None and req.url.host:
        if not cfg.forward_proxy:
            return http_error(w, "forward proxy not enabled", 405)
        return handle_forward(req, w, client_ip)
    path = req.target.split("?", 1)[0]
    if path == "/health":
        return handle_health(w)
    return http_error(w, "404 page not found", 404)


def health_status():
    names = [n.strip() for n in os.environ.get("PIPELOCK_DOUBLE_WAIT_FOR", "").split(",") if n.strip()]
    unresolved = []
    for n in names:                                     # test-only knob (see docstring)
        try:
            socket.getaddrinfo(n, None)
        except OSError:
            unresolved.append(n)
    if unresolved:
        return 503, {"status": "waiting", "unresolved": unresolved}
    cfg = State.cfg
    return 200, {                                       # proxy.go:3260-3305
        "status": "healthy", "version": DOUBLE_VERSION, "mode": cfg.mode,
        "uptime_seconds": time.monotonic() - State.start,
        "dlp_patterns": len(cfg.dlp_patterns), "response_scan_enabled": cfg.response_enabled,
        "git_protection_enabled": bool(_get(cfg.raw, "git_protection", "enabled")),
        "rate_limit_enabled": cfg.max_requests_per_minute > 0,
        "forward_proxy_enabled": cfg.forward_proxy, "websocket_proxy_enabled": cfg.websocket_enabled,
        "request_body_scan_enabled": cfg.body_enabled, "tls_interception_enabled": False,
        "kill_switch_active": False}


def handle_health(w):
    status, obj = health_status()
    w.headers = Headers([("Content-Type", "application/json")])
    w.write_full(status, (json.dumps(obj, separators=(",", ":")) + "\n").encode())


def _block(w, text, status=403, hint=""):
    """http.Error(w, "blocked: "+reason, status) (forward.go); X-Pipelock-Hint only with
    explain_blocks (forward.go:689-691). No X-Pipelock-Block-Reason in v2.3.0."""
    http_error(w, text, status, [("X-Pipelock-Hint", hint)] if hint and State.cfg.explain_blocks else [])


def scan_headers(cfg, sc, headers):
    """scanRequestHeaders (bodyscan.go:614). Returns (header name, [pattern names]) or None."""
    if cfg.header_mode == "all":
        ignore = {canonical_key(h) for h in cfg.ignore_headers}
        to_scan = [(k, v) for k, v in headers.as_map().items() if k not in ignore]
    else:
        sens = {canonical_key(h) for h in cfg.sensitive_headers}
        to_scan = [(k, v) for k, v in headers.as_map().items() if k in sens]
    all_values = []
    for name, values in to_scan:
        if cfg.header_mode == "all":
            m = sc.scan_text(name)
            if m:
                return name, [x[0] for x in m]
            all_values.append(name)
        for v in values:
            all_values.append(v)
            m = sc.scan_text(v)
            if m:
                return name, [x[0] for x in m]
            if cfg.header_mode == "all":
                m = sc.scan_text(name + v)
                if m:
                    return name, [x[0] for x in m]
    if len(all_values) > 1:
        m = sc.scan_text("\n".join(sorted(all_values)))
        if m:
            return "(joined)", [x[0] for x in m]
    return None


def _has_non_identity(ce):
    return any(t.strip().lower() not in ("", "identity") for t in ce.split(","))


def _format_json_number(x):
    s = format(decimal.Decimal(repr(x)), "f") if isinstance(x, float) else str(x)
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def _json_strings(v, out, depth=0):
    """extract.AllStringsFromJSON (internal/extract/json.go:24): strings, keys (sorted),
    numbers and booleans, depth <= 64."""
    if depth > 64:
        return
    if isinstance(v, str):
        out.append(v)
    elif isinstance(v, bool):
        out.append("true" if v else "false")
    elif isinstance(v, (int, float)):
        out.append(_format_json_number(float(v)))
    elif isinstance(v, list):
        for x in v:
            _json_strings(x, out, depth + 1)
    elif isinstance(v, dict):
        for k in sorted(v):
            out.append(k)
            _json_strings(v[k], out, depth + 1)


def _reject_constant(name):
    raise ValueError(name)


def extract_body_text(body, content_type, max_bytes):
    """extractBodyText (bodyscan.go:390). Returns (texts, error reason)."""
    mt, params = _parse_media_type(content_type)
    text = body.decode("utf-8", "replace")
    if mt == "application/json" or mt.endswith("+json"):
        try:
            parsed = json.loads(text, parse_constant=_reject_constant)
        except ValueError:
            return None, "invalid JSON body"
        out = []
        _json_strings(parsed, out)
        return out, ""
    if mt == "application/x-www-form-urlencoded":
        out = []
        for pair in text.split("&"):
            if ";" in pair:
                return None, "invalid application/x-www-form-urlencoded body"
            k, _, v = pair.partition("=")
            k, v = go_query_unescape(k), go_query_unescape(v)
            if k is None or v is None:
                return None, "invalid application/x-www-form-urlencoded body"
            if pair:
                out += [k, v]
        return out, ""
    if mt == "multipart/form-data":
        if not params.get("boundary"):
            return None, "multipart/form-data missing boundary"
        return _multipart_texts(body, params["boundary"], max_bytes)
    return [text], ""   # text/*, +xml and the raw fallback for anything else


def _parse_media_type(ct):
    if not ct:
        return "", {}
    parts = ct.split(";")
    mt = parts[0].strip().lower()
    params = {}
    for p in parts[1:]:
        k, _, v = p.strip().partition("=")
        params[k.strip().lower()] = v.strip().strip('"')
    return mt, params


def _multipart_texts(body, boundary, max_bytes):
    """extractMultipart (bodyscan.go:439), simplified: part headers' values, bodies (raw and
    base64/quoted-printable decoded), form names and file names; limits as pipelock."""
    import email.parser
    import quopri
    delim = b"--" + boundary.encode()
    chunks = body.split(delim)
    out, count = [], 0
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        if count >= 100:
            return None, "multipart body exceeds 100 parts limit"
        count += 1
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk.lstrip(b"\n")
        head, _, part_body = chunk.partition(b"\r\n\r\n")
        if part_body.endswith(b"\r\n"):
            part_body = part_body[:-2]
        msg = email.parser.BytesHeaderParser().parsebytes(head + b"\r\n\r\n")
        name = filename = ""
        for k, v in msg.items():
            ck = canonical_key(k)
            if ck in ("Content-Type", "Content-Disposition"):
                _, params = _parse_media_type(v)
                out += list(params.values())
                if ck == "Content-Disposition":
                    name, filename = params.get("name", ""), params.get("filename", "")
            elif ck != "Content-Transfer-Encoding":
                out.append(v)
        if len(filename) > 256:
            return None, "multipart filename exceeds 256 bytes"
        if len(part_body) > max_bytes:
            return None, f"multipart part exceeds max_body_bytes ({max_bytes})"
        raw = part_body.decode("utf-8", "replace")
        cte = (msg.get("Content-Transfer-Encoding") or "").lower()
        if cte == "base64":
            d = go_b64decode(re.sub(r"[\r\n \t]", "", raw))
            if d is not None:
                out.append(_bytes_to_str(d))
            out.append(raw)
        elif cte == "quoted-printable":
            out.append(_bytes_to_str(quopri.decodestring(part_body)))
            out.append(raw)
        elif part_body:
            out.append(raw)
        if name:
            out.append(name)
        if filename:
            out.append(filename)
    return out, ""


def scan_body(cfg, sc, body, content_type, content_encoding):
    """scanRequestBody (bodyscan.go:141). Returns (fail_closed_reason or None, [names])."""
    if _has_non_identity(content_encoding):
        return (f'request body uses Content-Encoding {_go_quote(content_encoding)}; compressed '
                "bodies cannot be scanned for secrets"), []
    if len(body) > cfg.max_body_bytes:
        return f"request body exceeds max_body_bytes ({cfg.max_body_bytes})", []
    if not body:
        return None, []
    texts, err = extract_body_text(body, content_type, cfg.max_body_bytes)
    if err:
        return err, []
    if not texts:
        return None, []
    for t in texts:
        m = sc.scan_text(t)
        if m:
            return None, [x[0] for x in m]
    m = sc.scan_text("\n".join(sorted(texts)))
    if m:
        return None, [x[0] for x in m]
    return None, []


def resolve_agent(req):
    """edition.ResolveAgentIdentity (internal/edition/edition.go:223): bound default identity,
    X-Pipelock-Agent, default_agent_identity, ?agent=, else "anonymous"."""
    default = _get(State.cfg.raw, "default_agent_identity", default="")
    if default and _get(State.cfg.raw, "bind_default_agent_identity"):
        return default

    def sanitize(a):
        a = re.sub(r"[^a-zA-Z0-9._-]", "_", a)[:64]
        return a or "anonymous"

    name = sanitize(req.headers.get("X-Pipelock-Agent"))
    if name != "anonymous":
        return name
    if default:
        return default
    query = dict(req.url.query()) if req.url is not None else {}
    return sanitize(query.get("agent", ""))


def strip_agent_param(url):
    """stripInternalIdentity (internal/proxy/agent.go:59): drop ?agent=, re-encode (sorted)."""
    pairs = url.query()
    if not any(k == "agent" for k, _ in pairs):
        return url
    kept = sorted([(k, v) for k, v in pairs if k != "agent"], key=lambda kv: kv[0])
    raw = urllib.parse.urlencode(kept)
    return URL(f"{url.scheme}://{url.host}{url.raw_path}" + (f"?{raw}" if raw else ""))


def handle_forward(req, w, client_ip):
    """handleForwardHTTP (forward.go:544-1748), the paths bot-bottle uses."""
    cfg, sc, log = State.cfg, State.scanner, State.log
    start = time.monotonic()
    client_ip, request_id = request_meta(client_ip)
    agent = resolve_agent(req)
    url = req.url
    target = url.string()
    ctx = {"method": req.method, "url": target, "client_ip": client_ip, "request_id": request_id,
           "agent": agent}
    result = sc.scan(target)                                            # forward.go:582
    if not result.allowed:
        status = 429 if result.scanner == "ratelimit" else 403
        if cfg.enforce:
            log.blocked(ctx, result.scanner, result.reason)
            _drain(req)
            return _block(w, "blocked: " + result.reason, status, result.hint)
        log.anomaly(ctx, result.scanner, result.reason, result.score)
    body = b""
    if cfg.body_enabled and req.has_body():                             # forward.go:826
        try:
            body = req.read_body(limit=cfg.max_body_bytes + 1)
            reason, names = scan_body(cfg, sc, body, req.headers.get("Content-Type"),
                                      req.headers.get("Content-Encoding"))
        except (TimeoutError, EOFError, OSError, ValueError) as e:
            reason, names = f"error reading request body: {e}", []
        if reason is not None:                       # isFailClosedBodyResult: always blocks
            log.blocked(ctx, "body_dlp", reason)
            return _block(w, "blocked: " + reason)
        if names:
            log.body_dlp(ctx, cfg.body_action, names)
            if cfg.body_action == "block" and cfg.enforce:
                return _block(w, "blocked: request body contains secret: " + ", ".join(names))
    elif req.has_body():
        body = req.read_body()
    if cfg.body_enabled and cfg.scan_headers:                           # forward.go:1022
        hit = scan_headers(cfg, sc, req.headers)
        if hit:
            log.header_dlp(ctx, hit[0], cfg.body_action, hit[1])
            if cfg.body_action == "block" and cfg.enforce:
                return _block(w, "blocked: request header contains secret")
    out_headers = req.headers.copy()
    out_headers.delete("X-Pipelock-Agent")                             # agent.go stripInternalIdentity
    for h in FORWARDED_CLIENT_HEADERS:
        out_headers.delete(h)
    remove_hop_by_hop(out_headers)
    try:
        up = forward_request(State, req.method, strip_agent_param(url), out_headers, body, ctx,
                             chunked=req.chunked)
    except RedirectBlocked as b:
        return _block(w, "blocked: " + b.reason)
    except UpstreamError as e:
        log.error(ctx, e)
        return http_error(w, "forward proxy fetch failed", 502)
    try:
        return _respond(req, w, up, ctx, start)
    finally:
        up.close(reusable=True)


def _drain(req):
    try:
        if req.has_body():
            req.read_body(limit=256 << 10)
    except Exception:
        req.close = True


def _copy_response_headers(src):
    """copyResponseHeaders (forward.go:1753): all but hop-by-hop and Content-Length."""
    h = src.copy()
    remove_hop_by_hop(h)
    h.delete("Content-Length")
    return h


def _respond(req, w, up, ctx, start):
    cfg, sc, log = State.cfg, State.scanner, State.log
    max_bytes = cfg.max_response_mb * 1024 * 1024                       # forward.go:1256
    host = up.url.hostname
    exempt = any(match_domain(host, d) for d in cfg.response_exempt)
    ctype = up.headers.get("Content-Type")
    if ctype.strip().lower().startswith("text/event-stream") and cfg.response_enabled:
        if _has_non_identity(up.headers.get("Content-Encoding")):       # forward.go:1317
            msg = "compressed sse_stream response cannot be scanned"
            log.blocked(ctx, "sse_stream", msg)
            return _block(w, "blocked: " + msg)
        w.headers = _copy_response_headers(up.headers)
        w.start_stream(up.status)
        err = stream_sse(up, w, ctx, exempt)                              # sse_generic.go
        if err is None:
            log.forward_http(ctx, up.status, 0, time.monotonic() - start)
        elif err[0] == "finding" and err[1] == "warn":
            log.anomaly(ctx, "sse_stream", err[2], 0)
        else:
            log.blocked(ctx, "sse_stream", err[2])
        w.end_stream()   # the handler returns: Go ends the chunked body cleanly
        return
    # Non-SSE: ResponseScanningEnabled() is always true (core patterns): buffer, cap, scan.
    if _has_non_identity(up.headers.get("Content-Encoding")):           # forward.go:1429
        log.blocked(ctx, "response_scan", "compressed response cannot be scanned")
        return _block(w, "blocked: compressed response cannot be scanned")
    buf = bytearray()
    no_body = req.method == "HEAD" or up.status in (204, 304) or 100 <= up.status < 200
    try:
        while not no_body and len(buf) < max_bytes:
            data = up.read(min(65536, max_bytes - len(buf)))
            if not data:
                break
            buf += data
    except UpstreamError as e:
        log.error(ctx, e)
        return _block(w, "blocked: response read error")
    body = bytes(buf)
    names = sc.scan_response(body.decode("utf-8", "replace")) if body else []
    if names:                                                            # forward.go:1590
        action = "warn" if exempt else cfg.response_action_effective()
        if action in ("block", "ask"):
            log.blocked(ctx, "response_scan", "response injection: " + ", ".join(names))
            return _block(w, "blocked: response contains injection")
        log.response_scan(ctx, action, names)
    w.headers = _copy_response_headers(up.headers)
    try:
        w.write_full(up.status, body)
    except OSError:
        return
    log.forward_http(ctx, up.status, len(body), time.monotonic() - start)


def stream_sse(up, w, ctx, exempt):
    """ScanGenericSSEStreamWithOptions (internal/mcp/sse_generic.go:113) with the SSE reader of
    internal/mcp/transport/sse.go and writeSSEEvent (internal/mcp/a2a_scan.go:629).
    Returns None (clean end) or (kind, action, message)."""
    cfg, sc = State.cfg, State.scanner
    action = cfg.sse_action or "block"     # empty falls back to block (validate.go:418-419)
    if not cfg.sse_enabled:                 # passthroughGenericSSE: flush every read
        try:
            while True:
                data = up.read(4096)
                if not data:
                    return None
                w.write_chunk(data)
        except UpstreamError as e:
            return ("io", action, str(e))
        except OSError as e:
            return ("io", action, f"write: {e}")
    max_event = cfg.sse_max_event_bytes or 64 * 1024
    pending = b""
    data_lines, has_data = [], False
    last_id, ev_type, retry = "", "", ""

    def events():
        nonlocal pending
        while True:
            i = pending.find(b"\n")
            if i < 0:
                chunk = up.read(65536)
                if not chunk:
                    if pending:
                        line, pending = pending, b""
                        yield line
                    return
                pending += chunk
                if len(pending) > 10 * 1024 * 1024:    # bufio.Scanner MaxLineSize
                    raise UpstreamError("bufio.Scanner: token too long")
                continue
            line, pending = pending[:i], pending[i + 1:]
            yield line[:-1] if line.endswith(b"\r") else line

    try:
        lines = events()
        while True:
            event = None
            ev_type, retry = "", ""
            data_lines, has_data = [], False
            for raw in lines:
                line = raw.decode("utf-8", "surrogateescape")
                if line == "":
                    if has_data:
                        event = "\n".join(data_lines)
                        break
                    continue
                if line.startswith(":"):
                    continue
                field, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if field == "data":
                    data_lines.append(value)
                    has_data = True
                elif field == "id":
                    if "\x00" not in value:
                        last_id = value
                elif field == "event":
                    ev_type = value
                elif field == "retry":
                    retry = value
            else:
                if has_data:
                    event = "\n".join(data_lines)
                else:
                    return None
            ev_bytes = event.encode("utf-8", "surrogateescape")
            if len(ev_bytes) > max_event:
                msg = (f"sse stream finding: sse event exceeds max_event_bytes (size={len(ev_bytes)}, "
                       f"limit={max_event})")
                if action == "warn":
                    State.log.anomaly(ctx, "sse_stream", msg, 0)
                    continue        # the oversize event is dropped in warn mode
                return ("finding", action, msg)
            if ev_bytes:
                try:
                    ev_bytes.decode("utf-8")
                except UnicodeDecodeError:
                    msg = f"sse stream finding: sse event contains invalid UTF-8 (size={len(ev_bytes)})"
                    if action == "warn":
                        State.log.anomaly(ctx, "sse_stream", msg, 0)
                        continue
                    return ("finding", action, msg)
                canon = ""
                if ev_type:
                    canon += f"event: {ev_type}\n"
                if last_id:
                    canon += f"id: {last_id}\n"
                if retry:
                    canon += f"retry: {retry}\n"
                canon += "data: " + event
                inj = sc.scan_response(canon)
                if inj:
                    msg = "sse stream finding: injection: " + ", ".join(inj)
                    if exempt or action == "warn":
                        State.log.anomaly(ctx, "sse_stream", msg, 0)
                    else:
                        return ("finding", action, msg)
                dlp = sc.scan_text(canon)
                if dlp:
                    msg = "sse stream finding: dlp: " + ", ".join(x[0] for x in dlp)
                    if action == "warn":
                        State.log.anomaly(ctx, "sse_stream", msg, 0)
                    else:
                        return ("finding", action, msg)
            out = ""
            if ev_type:
                out += f"event: {ev_type}\n"
            if last_id:
                out += f"id: {last_id}\n"
            if retry:
                out += f"retry: {retry}\n"
            for line in event.split("\n"):
                out += f"data: {line}\n"
            out += "\n"
            try:
                w.write_chunk(out.encode("utf-8", "surrogateescape"))
            except OSError as e:
                return ("io", action, f"sse stream write: {e}")
    except UpstreamError as e:
        return ("io", action, f"sse stream read: {e}")


# -- CONNECT: forward.go handleConnect + relay.go + sni.go -------------------------------------

def handle_connect(req, sock, reader, client_ip):
    cfg, sc, log = State.cfg, State.scanner, State.log
    start = time.monotonic()
    client_ip, request_id = request_meta(client_ip)
    w = ResponseWriter(sock, req)
    target = req.host
    if not target:
        return http_error(w, "missing target host", 400)
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or (host.count(":") and not host.startswith("[")):
        bare = target.strip("[]")
        target = f"[{bare}]:443" if ":" in bare else f"{bare}:443"
        host, _, port = target.rpartition(":")
    host = host.strip("[]")
    synthetic = f"https://{'[' + host + ']' if ':' in host else host}/"
    ctx = {"method": "CONNECT", "target": target, "client_ip": client_ip, "request_id": request_id,
           "agent": resolve_agent(req)}
    result = sc.scan(synthetic)
    if cfg.body_enabled and cfg.scan_headers:                             # forward.go:158
        hit = scan_headers(cfg, sc, req.headers)
        if hit:
            log.header_dlp(ctx, hit[0], cfg.body_action, hit[1])
            if cfg.body_action == "block" and cfg.enforce:
                return http_error(w, "CONNECT blocked: header DLP match", 403)
    if not result.allowed:
        status = 429 if result.scanner == "ratelimit" else 403
        if cfg.enforce:
            log.blocked(ctx, result.scanner, result.reason)
            return _block(w, "CONNECT blocked: " + result.reason, status, result.hint)
        log.anomaly(ctx, result.scanner, result.reason, result.score)
    deadline = start + cfg.max_tunnel_seconds
    try:
        upstream = ssrf_safe_connect(State, host, int(port), Deadline(max(0.001, deadline - time.monotonic())))
    except UpstreamError as e:
        log.error(ctx, e)
        return http_error(w, "tunnel dial failed", 502)
    sock.sendall(b"HTTP/1.1 200 Connection Established\r\n\r\n")
    if cfg.sni_verification:                                              # sni.go verifySNI
        ok = _verify_sni(reader, sock, host, ctx)
        if not ok:
            upstream.close()
            return "close"
    buffered = reader.take()
    if buffered:
        upstream.sendall(buffered)
    log.tunnel_open(ctx)
    total = _relay(sock, upstream, cfg.idle_timeout_seconds, deadline)
    log.tunnel_close(ctx, total, time.monotonic() - start)
    return "close"


def _verify_sni(reader, sock, host, ctx):
    try:
        if not reader.wait_readable(5.0):
            State.log.sni_mismatch(host, "", ctx["client_ip"], ctx["request_id"], "anonymous", "timeout")
            return False
    except EOFError:
        return False
    buf = reader.buf
    if buf[0] != 0x16:
        return True        # not TLS: passes (sni.go: category not_tls)
    reader.deadline = time.monotonic() + 5.0
    try:
        while len(buf) < 5:
            reader._fill()
        need = min(((buf[3] << 8) | buf[4]) + 5, 16384)
        while len(buf) < need:
            reader._fill()
    except (TimeoutError, EOFError):
        return False
    finally:
        reader.deadline = None
    sni, err = _extract_sni(bytes(buf[:need]))
    if err == "malformed":
        State.log.sni_mismatch(host, "", ctx["client_ip"], ctx["request_id"], "anonymous", "malformed_tls")
        return False
    if err == "not_tls" or not sni:
        return True
    if sni.rstrip(".").lower() != host.rstrip(".").lower():
        State.log.sni_mismatch(host, sni, ctx["client_ip"], ctx["request_id"], "anonymous", "mismatch")
        return False
    return True


def _extract_sni(data):
    """extractSNI (internal/proxy/sni.go)."""
    try:
        if data[0] != 0x16:
            return "", "not_tls"
        rec_len = (data[3] << 8) | data[4]
        p = data[5:5 + rec_len]
        if len(p) < rec_len or len(p) < 4 or p[0] != 0x01:
            return "", "malformed"
        hs_len = (p[1] << 16) | (p[2] << 8) | p[3]
        p = p[4:4 + hs_len]
        if len(p) < hs_len or len(p) < 34:
            return "", "malformed"
        p = p[34:]
        sid = p[0]
        p = p[1 + sid:]
        cs = (p[0] << 8) | p[1]
        p = p[2 + cs:]
        comp = p[0]
        p = p[1 + comp:]
        if len(p) < 2:
            return "", None
        ext_len = (p[0] << 8) | p[1]
        p = p[2:2 + ext_len]
        while len(p) >= 4:
            et, el = (p[0] << 8) | p[1], (p[2] << 8) | p[3]
            body = p[4:4 + el]
            if len(body) < el:
                return "", "malformed"
            if et == 0:
                q = body[2:2 + ((body[0] << 8) | body[1])]
                while len(q) >= 3:
                    nt, nl = q[0], (q[1] << 8) | q[2]
                    if nt == 0:
                        return q[3:3 + nl].decode("ascii", "replace").rstrip("."), None
                    q = q[3 + nl:]
                return "", None
            p = p[4 + el:]
        return "", None
    except IndexError:
        return "", "malformed"


def _relay(client, upstream, idle, deadline):
    """bidirectionalCopy (relay.go:58): per-read idle timeout, absolute deadline, half-close."""
    totals = [0, 0]

    def pump(src, dst, i):
        while True:
            rem = min(idle, deadline - time.monotonic())
            if rem <= 0:
                break
            src.settimeout(rem)
            try:
                data = src.recv(32 * 1024)
            except OSError:
                break
            if not data:
                break
            try:
                dst.sendall(data)
            except OSError:
                break
            totals[i] += len(data)
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    t = threading.Thread(target=pump, args=(client, upstream, 0), daemon=True)
    t.start()
    pump(upstream, client, 1)
    t.join()
    upstream.close()
    return totals[0] + totals[1]


# ============================================================================================
# Connection loop (Go's conn.serve), reload, CLI (internal/cli/runtime/run.go, healthcheck.go,
# internal/cli/version.go).
# ============================================================================================

class ConnHandler(socketserver.BaseRequestHandler):
    def handle(self):
        sock = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = ConnReader(sock)
        client_ip = self.client_address[0]
        first = True
        while True:
            if not first:
                try:
                    if not reader.wait_readable(IDLE_TIMEOUT):
                        return
                except (EOFError, OSError):
                    return
            first = False
            try:
                req = parse_request(reader, first)
            except BadRequest as b:
                text = f"{b.status} {_status_text(b.status)}"
                if b.public:
                    text += ": " + b.reason
                try:
                    sock.sendall((f"HTTP/1.1 {b.status} {_status_text(b.status)}\r\nContent-Type: "
                                  "text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" + text)
                                 .encode("latin-1", "replace"))
                except OSError:
                    pass
                return
            except (EOFError, TimeoutError, OSError):
                return
            w = ResponseWriter(sock, req)
            try:
                outcome = handle(req, w, client_ip)
                if outcome == "connect":
                    handle_connect(req, sock, reader, client_ip)
                    return
            except OSError:
                return
            except Exception as e:   # a bug in the double: answer 500 like Go's recover would drop
                sys.stderr.write(f"pipelock test double: internal error: {e!r}\n")
                return
            if req.close or w.dead:
                return
            if not req.body_consumed and req.has_body():
                try:
                    req.read_body(limit=256 << 10)
                except Exception:
                    return
                if req.close:
                    return


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512


def make_ssl_ctx():
    ctx = ssl.create_default_context()
    extra = os.environ.get("SSL_CERT_FILE")       # Go honours SSL_CERT_FILE too
    if extra and os.path.exists(extra):
        ctx.load_verify_locations(cafile=extra)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def reload_warnings(old, new):
    """config/reloadwarn.go ValidateReload, for the keys the double implements: what a reload
    would weaken. In strict mode any of them rejects the reload (server.go:1340-1345)."""
    out = []
    rank = {"strict": 3, "balanced": 2, "audit": 1}
    if rank.get(new.mode, 0) < rank.get(old.mode, 0):
        out.append(("mode", f"mode downgraded from {old.mode} to {new.mode}"))
    new_names = {p["name"]: p.get("regex") for p in new.dlp_patterns}
    removed = [p["name"] + ("" if p["name"] not in new_names else " (regex changed)")
               for p in old.dlp_patterns
               if p["name"] not in new_names or new_names[p["name"]] != p.get("regex")]
    if removed:
        out.append(("dlp.patterns", "DLP patterns removed or regex-swapped on reload: " + ", ".join(removed)))
    if old.internal_raw and not new.internal_raw:
        out.append(("internal", "internal CIDR list emptied — SSRF protection disabled"))
    if old.enforce and not new.enforce:
        out.append(("enforce", "enforcement disabled — switching to detect-only mode"))
    if old.response_enabled and not new.response_enabled:
        out.append(("response_scanning.enabled", "response scanning disabled"))
    if old.forward_proxy and not new.forward_proxy:
        out.append(("forward_proxy.enabled", "forward proxy disabled"))
    old_trusted = {d.lower() for d in old.trusted_domains_raw}
    added = [d for d in new.trusted_domains_raw if d.lower() not in old_trusted]
    if added:
        out.append(("trusted_domains", f"trusted domains added: {', '.join(added)} — SSRF internal-IP "
                    "check bypassed for these hosts"))
    old_ips = set(old.ip_allowlist_raw)
    grown = [c for c in new.ip_allowlist_raw if c not in old_ips]
    if grown:
        out.append(("ssrf.ip_allowlist", f"SSRF IP allowlist expanded: {', '.join(grown)} — SSRF check "
                    "bypassed for these IP ranges"))
    if old.body_enabled and not new.body_enabled:
        out.append(("request_body_scanning.enabled", "request body scanning disabled"))
    if old.seed_enabled and not new.seed_enabled:
        out.append(("seed_phrase_detection.enabled", "seed phrase detection disabled"))
    if old.seed_verify and not new.seed_verify:
        out.append(("seed_phrase_detection.verify_checksum", "seed phrase checksum verification disabled — "
                    "increased false positive risk"))
    if old.seed_min_words and new.seed_min_words and new.seed_min_words < old.seed_min_words:
        out.append(("seed_phrase_detection.min_words", f"seed phrase min_words decreased from "
                    f"{old.seed_min_words} to {new.seed_min_words}"))
    return out


def load(path, mode):
    cfg = Config(path, mode)
    for key in cfg.unimplemented:
        sys.stderr.write(f"pipelock test double: WARNING: {key} is accepted but not implemented\n")
    return cfg


def install(cfg):
    State.cfg = cfg
    State.scanner = Scanner(cfg)
    if State.log is None:
        State.log = Logger(cfg)
    else:
        State.log.reconfigure(cfg)


def cmd_run(args):
    try:
        cfg = load(args.config, args.mode) if args.config else None
    except ConfigError as e:
        sys.stderr.write(f"{e}\n")                   # cmd/pipelock/main.go: print, exit 1
        return 1
    if cfg is None:
        sys.stderr.write("pipelock test double: --config is required\n")
        return 1
    listen = args.listen or _get(cfg.raw, "fetch_proxy", "listen", default="127.0.0.1:8888")
    State.ssl_ctx = make_ssl_ctx()
    install(cfg)

    last_reload = {"hash": None, "at": 0.0}
    reload_lock = threading.Lock()

    def reload(*_):                                   # config/reload.go tryReload
        try:
            new = load(args.config, args.mode)
        except ConfigError as e:
            sys.stderr.write(f"pipelock: config reload failed: {e}\n")
            return
        with reload_lock:                             # server.go Reload (one at a time)
            old = State.cfg
            if not old.forward_proxy and new.forward_proxy:        # server.go:1183
                State.log.error({"method": "CONFIG_RELOAD", "resource": args.config},
                                "rejected: forward proxy cannot be enabled via reload (requires restart)")
                return
            # fsnotify + SIGHUP stacking: the same hash within 2 s is skipped (server.go:213)
            if new.hash == last_reload["hash"] and time.monotonic() - last_reload["at"] < 2:
                return
            warnings = reload_warnings(old, new)      # config/reloadwarn.go ValidateReload
            for field, message in warnings:
                sys.stderr.write(f"WARNING: config reload: {field} - {message}\n")
            if old.mode == "strict" and warnings:     # server.go:1340-1345
                State.log.error({"method": "CONFIG_RELOAD", "resource": args.config},
                                "rejected: security downgrade from strict mode")
                return
            with State.lock:
                install(new)                          # a new scanner: open connections go on
            last_reload.update(hash=new.hash, at=time.monotonic())
            State.log.config_reload("success", f"mode={new.mode}", new.hash)

    signal.signal(signal.SIGHUP, lambda *_: threading.Thread(target=reload, daemon=True).start())
    def stop(*_):
        State.log.shutdown("signal received")
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def watch():                                      # fsnotify on the file (reload.go:50-96)
        last = None
        while True:
            try:
                st = os.stat(args.config)
                sig = (st.st_mtime_ns, st.st_size, st.st_ino)
            except OSError:
                sig = None
            if last is not None and sig is not None and sig != last:
                time.sleep(0.1)
                reload()
            last = sig
            time.sleep(0.1)

    threading.Thread(target=watch, daemon=True).start()
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    if ":" in host:
        Server.address_family = socket.AF_INET6
    try:
        srv = Server((host, int(port)), ConnHandler)
    except OSError as e:
        sys.stderr.write(f"listen tcp {listen}: {e}\n")
        return 1
    sys.stderr.write(f"Pipelock v{DOUBLE_VERSION} starting\n  Mode:   {cfg.mode}\n  Listen: {listen}\n"
                     f"  Health: http://{listen}/health\n")
    if cfg.forward_proxy:
        sys.stderr.write("  Proxy:  HTTP/HTTPS forward proxy enabled (CONNECT + absolute-URI)\n")
    sys.stderr.flush()
    if host in ("", "0.0.0.0", "::") or not ipaddress.ip_address(host).is_loopback:
        State.log.anomaly({"method": "STARTUP", "resource": listen}, "",
                          "listen address is not loopback — /metrics and /stats endpoints are "
                          "exposed to the network", 0.5)
    State.log.startup(listen, cfg.mode, DOUBLE_VERSION, cfg.hash)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def cmd_healthcheck(args):
    host, _, port = args.addr.rpartition(":")
    try:
        c = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=3)
        c.request("GET", "/health")
        status = c.getresponse().status
    except (OSError, ValueError) as e:
        sys.stderr.write(f"health check failed: {e}\n")
        return 1
    if status != 200:
        sys.stderr.write(f"unhealthy: status {status}\n")
        return 1
    return 0


class _Parser(argparse.ArgumentParser):
    def error(self, message):          # cobra prints the error and exits 1
        sys.stderr.write(f"{message}\n")
        sys.exit(1)


def main(argv=None):
    ap = _Parser(prog="pipelock", description="pipelock CONFORMANCE DOUBLE (not pipelock)")
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    r = sub.add_parser("run")
    r.add_argument("--config", "-c", default="")
    r.add_argument("--listen", "-l", default="")
    r.add_argument("--mode", "-m", choices=["strict", "balanced", "audit"])
    h = sub.add_parser("healthcheck")
    h.add_argument("--addr", default="127.0.0.1:8888")
    sub.add_parser("version")
    args = ap.parse_args(argv)
    if args.cmd == "run":
        return cmd_run(args)
    if args.cmd == "healthcheck":
        return cmd_healthcheck(args)
    sys.stderr.write(f"pipelock version {DOUBLE_VERSION}\n  build date: unknown\n"
                     "  git commit: test-double\n  go version: none (Python test double)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
