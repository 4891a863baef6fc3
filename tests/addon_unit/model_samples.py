"""Real-format inputs for the model lane's host tests: the fixture files (tests/fixtures/model_lane/),
Messages API requests shaped like Claude Code 2.1's (system blocks, custom tools with input
schemas, tool_use/tool_result turns, cache_control on the newest block), and the addon config
keys exactly as the Rust side renders them (/work/coord/model-notes.md, docs/addon.md)."""

import base64
import copy
import json

from conftest import REPO
from samples import addon_config, addon_env

FIXTURES = REPO / "tests" / "fixtures" / "model_lane"
AWS_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example pair
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
STRIPE_TEST_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"  # Stripe's documented test key

MODEL_LANE = {
    "pipelock": "bot-bottle-model-pl-forger-01234567:8888",
    "providers": [{"name": "anthropic", "hosts": ["api.anthropic.com"],
                   "identity_headers": ["authorization", "x-api-key"],
                   "login": [{"host": "platform.claude.com", "path": "/v1/oauth/token"},
                             {"host": "console.anthropic.com", "path": "/v1/oauth/token"}]}],
    "web_search": False, "server_hosts": [], "cache_bytes": 33554432,
}
ALLOWLIST = ["api.anthropic.com", "github.com", "*.github.com", "*.pythonhosted.org", "pypi.org"]


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text()


def png_bytes() -> bytes:
    return (FIXTURES / "screenshot.png").read_bytes()


def model_config(**lane_overrides) -> dict:
    return addon_config(allowlist=list(ALLOWLIST), model_lane=copy.deepcopy({**MODEL_LANE, **lane_overrides}))


def model_parsed(**lane_overrides):
    from bot_bottle_addon.config import parse_config
    return parse_config(model_config(**lane_overrides), addon_env())


TOOLS = [
    {"name": "Bash", "description": "Executes a given bash command in a persistent shell session " * 20,
     "input_schema": {"type": "object", "properties": {
         "command": {"type": "string", "description": "The command to execute"},
         "timeout": {"type": "number", "description": "Optional timeout in milliseconds (max 600000)"},
         "description": {"type": "string", "description": "Clear, concise description of what this command does"}},
         "required": ["command"], "additionalProperties": False,
         "$schema": "http://json-schema.org/draft-07/schema#"}},
    {"name": "Read", "description": "Reads a file from the local filesystem. " * 30,
     "input_schema": {"type": "object", "properties": {
         "file_path": {"type": "string", "description": "The absolute path to the file to read"},
         "offset": {"type": "number"}, "limit": {"type": "number"}},
         "required": ["file_path"], "additionalProperties": False,
         "$schema": "http://json-schema.org/draft-07/schema#"}},
    {"name": "Edit", "description": "Performs exact string replacements in files. " * 30,
     "input_schema": {"type": "object", "properties": {
         "file_path": {"type": "string"}, "old_string": {"type": "string"}, "new_string": {"type": "string"}},
         "required": ["file_path", "old_string", "new_string"]}},
]
SYSTEM = [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
          {"type": "text", "text": "You are an interactive CLI tool that helps users with software engineering "
                                   "tasks. " * 200, "cache_control": {"type": "ephemeral"}}]


def tool_turn(n: int, result) -> list[dict]:
    """An assistant tool_use and the user's tool_result for it (`result`: text or blocks)."""
    tid = f"toolu_01{n:022d}"
    return [{"role": "assistant", "content": [
                {"type": "text", "text": f"Let me look at that ({n})."},
                {"type": "tool_use", "id": tid, "name": "Bash", "input": {"command": f"cat file{n}",
                                                                          "description": "Show it"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tid, "content": result,
                                          "is_error": False}]}]


def image_result(data: bytes) -> list[dict]:
    """What Claude Code's Read tool returns for an image: an image block in the tool_result."""
    return [{"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": base64.b64encode(data).decode()}}]


def claude_request(turns: list, prompt: str = "Look at the repository and tell me what it does.") -> dict:
    """A /v1/messages body as Claude Code sends it; the newest block carries cache_control."""
    messages = [{"role": "user", "content": [{"type": "text", "text": prompt}]}]
    for i, result in enumerate(turns):
        messages += tool_turn(i, result)
    last = messages[-1]["content"][-1]
    last["cache_control"] = {"type": "ephemeral"}
    return {"model": "claude-sonnet-4-5-20250929", "max_tokens": 32000, "messages": messages,
            "system": SYSTEM, "tools": TOOLS, "metadata": {"user_id": "user_" + "ab12" * 16 + "_account__session_x"},
            "stream": True}


def body_of(req: dict) -> bytes:
    return json.dumps(req).encode()
