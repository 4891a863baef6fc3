"""Request shapes for the conformance suite: the product's pipelock config for a test bottle and
a Claude-Code-shaped Messages API request body."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The config src/pipelock_config.rs renders for a bottle like the Claude test bottle (allowlist
# and private_hosts = the fake internet; credentials injected into Authorization and x-api-key).
PRODUCT_CONFIG = json.loads((HERE / "product_config.json").read_text())
# The model pipelock's config for the same bottle (PipelockConfig::for_model): the model API's
# host alone, no request body (and so no header) scanning.
MODEL_CONFIG = json.loads((HERE / "model_config.json").read_text())

_SENTENCES = [
    "You are an interactive command line tool that helps users with software engineering tasks.",
    "Use the instructions below and the tools available to you to assist the user.",
    "When you read a file, check the surrounding code before you change anything.",
    "Prefer small, focused edits; explain what you changed and why, in a few short lines.",
    "If a command fails, read the error, fix the cause, and run the command again.",
    "Never guess a path: list the directory first, then open the file you need.",
    "Tests must pass before the work is done; add a test when you fix a bug.",
    "Keep answers short unless the user asks for detail, and use Markdown for code.",
    "The repository uses Rust for the command line program and Python for the test helpers.",
    "Before a commit, run the formatter and the linter, then describe the change in one line.",
]
_TOOLS = ["Bash", "Read", "Edit", "Write", "Glob", "Grep", "LS", "MultiEdit", "NotebookEdit",
          "WebFetch", "WebSearch", "TodoWrite", "Task", "ExitPlanMode", "BashOutput"]


def english(n_bytes: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    out, size = [], 0
    while size < n_bytes:
        s = rng.choice(_SENTENCES)
        out.append(s)
        size += len(s) + 1
    return " ".join(out)


def claude_messages_body(n_bytes: int = 120_000, turns: int = 8) -> bytes:
    """A /v1/messages request the size and shape of Claude Code's: system prompt blocks, ~15
    tools with JSON schemas, a conversation with text, tool_use and tool_result blocks. It has
    dozens of "type" keys, which pipelock's sorted joined body scan puts next to each other."""
    tools = []
    for i, name in enumerate(_TOOLS):
        tools.append({
            "name": name,
            "description": english(1500, seed=i),
            "input_schema": {
                "type": "object", "additionalProperties": False, "required": ["command"],
                "properties": {
                    "command": {"type": "string", "description": english(200, seed=100 + i)},
                    "timeout": {"type": "number", "description": "Optional timeout in ms"},
                    "path": {"type": "string", "description": "Absolute path to the file"},
                    "limit": {"type": "number", "description": "Number of lines to read"},
                    "replace_all": {"type": "boolean", "default": False},
                },
                "$schema": "http://json-schema.org/draft-07/schema#",
            },
        })
    messages = []
    for t in range(turns):
        messages.append({"role": "user", "content": [
            {"type": "text", "text": english(600, seed=200 + t)}]})
        messages.append({"role": "assistant", "content": [
            {"type": "text", "text": english(300, seed=300 + t)},
            {"type": "tool_use", "id": f"toolu_01A{t:04d}", "name": "Bash",
             "input": {"command": f"ls -la src/module_{t}", "description": "List files"}}]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": f"toolu_01A{t:04d}",
             "content": [{"type": "text", "text": english(800, seed=400 + t)}]}]})
    body = {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 32000,
        "stream": True,
        "system": [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
                   {"type": "text", "text": "", "cache_control": {"type": "ephemeral"}}],
        "tools": tools,
        "messages": messages,
        "metadata": {"user_id": "user_3f2a9c_account__session_6d1e4b2a-0c55-4c1e-9d35-2f7e8a1b9c3d"},
    }
    base = len(json.dumps(body))
    body["system"][1]["text"] = english(max(0, n_bytes - base), seed=1)
    return json.dumps(body).encode()


def image_upload_body(n_bytes: int = 6 * 1024 * 1024) -> bytes:
    """A Messages request carrying one base64 image (random bytes), n_bytes long in total."""
    rng = random.Random(11)
    raw_len = (n_bytes - 400) * 3 // 4
    data = base64.b64encode(rng.randbytes(raw_len)).decode()
    body = {"model": "claude-sonnet-4-5-20250929", "max_tokens": 1024, "stream": True,
            "messages": [{"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}},
                {"type": "text", "text": "What is in this picture?"}]}]}
    return json.dumps(body).encode()
