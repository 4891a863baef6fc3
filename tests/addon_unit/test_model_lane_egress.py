"""Server-side egress (model_lane/egress.py, through ModelLaneJudge): what the provider would reach for
the bottle — MCP connector servers, web_fetch, web_search, URL sources, unknown server tools — is
refused outside the allowlist and the manifest's model settings, and logged when allowed. Request
shapes from the Messages API's documentation."""

import json

import pytest

from bot_bottle_addon.model_lane.lane import ModelLaneJudge
from model_samples import ALLOWLIST, body_of, claude_request, model_parsed


def judge(req: dict, **lane):
    cfg = model_parsed(**lane)
    return ModelLaneJudge(cfg.model_lane, cfg.allowlist, cfg.known).judge(body_of(req))


def with_(**params) -> dict:
    req = claude_request([])
    req.update(params)
    return req


WEB_FETCH = {"type": "web_fetch_20250910", "name": "web_fetch", "max_uses": 5}
WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}


def mcp(url: str) -> dict:
    return {"type": "url", "url": url, "name": "ext", "authorization_token": "tok"}


def refused(j, needle: str):
    assert j.refusal is not None, "not refused"
    assert (j.refusal.status, j.refusal.code) == (403, "model_server_egress")
    assert needle in j.refusal.text, j.refusal.text
    assert json.loads(j.refusal.body)["error"]["type"] == "permission_error"


def test_claude_codes_own_request_reaches_nothing():
    j = judge(claude_request(["ok"]))
    assert j.refusal is None and j.server_egress == []


@pytest.mark.parametrize("url", ["https://mcp.exfil.example/sse", "https://api.anthropic.com.exfil.test/mcp",
                                 "https://127.0.0.1/mcp", "https://[::1]/mcp", "ftp://github.com/x",
                                 "https:///nohost", "not a url"])
def test_mcp_servers_outside_the_allowlist_are_refused(url):
    refused(judge(with_(mcp_servers=[mcp(url)])), "mcp_servers[0]")


def test_mcp_servers_inside_the_allowlist_or_server_hosts_pass_and_are_logged():
    j = judge(with_(mcp_servers=[mcp("https://api.github.com/mcp"), mcp("https://mcp.example.com/sse")]),
              server_hosts=["mcp.example.com"])
    assert j.refusal is None and j.server_egress == ["mcp:api.github.com", "mcp:mcp.example.com"]
    refused(judge(with_(mcp_servers=[mcp("https://api.github.com/mcp"), mcp("https://mcp.example.com/sse")])),
            "mcp_servers[1]")
    refused(judge(with_(mcp_servers={"url": "https://x.test"})), "not a list")


def test_web_fetch_needs_allowed_domains_covered_with_their_subdomains():
    refused(judge(with_(tools=[WEB_FETCH])), "no allowed_domains")
    refused(judge(with_(tools=[{**WEB_FETCH, "allowed_domains": []}])), "no allowed_domains")
    refused(judge(with_(tools=[{**WEB_FETCH, "blocked_domains": ["evil.test"]}])), "no allowed_domains")
    refused(judge(with_(tools=[{**WEB_FETCH, "allowed_domains": ["exfil.example"]}])), "'exfil.example'")
    # pypi.org is allowed only as itself; the provider would fetch its subdomains too
    refused(judge(with_(tools=[{**WEB_FETCH, "allowed_domains": ["pypi.org"]}])), "allow `*.pypi.org`")
    refused(judge(with_(tools=[{**WEB_FETCH, "allowed_domains": ["https://github.com"]}])), "web_fetch")
    j = judge(with_(tools=[*claude_request([])["tools"],
                           {**WEB_FETCH, "allowed_domains": ["docs.github.com", "github.com/org/repo",
                                                             "files.pythonhosted.org"]}]))
    assert j.refusal is None
    assert j.server_egress == ["web_fetch:docs.github.com", "web_fetch:github.com", "web_fetch:files.pythonhosted.org"]


def test_web_search_only_when_the_manifest_allows_it():
    refused(judge(with_(tools=[WEB_SEARCH])), "web_search is false")
    j = judge(with_(tools=[WEB_SEARCH]), web_search=True)
    assert j.refusal is None and j.server_egress == ["web_search"]


@pytest.mark.parametrize("tool", [{"type": "bash_20250124", "name": "bash"},
                                  {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
                                  {"type": "code_execution_20250825", "name": "code_execution"},
                                  {"type": "memory_20250818", "name": "memory"},
                                  {"type": "mcp_toolset", "mcp_server_name": "ext"},
                                  {"type": "custom", "name": "x", "input_schema": {"type": "object"}}])
def test_tools_that_reach_no_chosen_host_pass(tool):
    assert judge(with_(tools=[tool])).refusal is None


def test_an_unknown_server_tool_is_refused():
    refused(judge(with_(tools=[{"type": "url_context_20260101", "name": "u"}])), "'url_context_20260101'")
    refused(judge(with_(tools=[{"type": 7, "name": "u"}])), "not a string")


def test_url_sources_are_fetched_by_the_provider():
    img = {"type": "image", "source": {"type": "url", "url": "https://exfil.example/a.png?d=SECRETDATA"}}
    refused(judge(claude_request([[img]])), "the URL source")
    doc = {"type": "document", "source": {"type": "url", "url": "https://raw.github.com/o/r/x.pdf"}}
    j = judge(claude_request([[doc]]))
    assert j.refusal is None and j.server_egress == ["url_source:raw.github.com"]
    # judged again from the cache on the next turn
    cfg = model_parsed()
    jj = ModelLaneJudge(cfg.model_lane, cfg.allowlist, cfg.known)
    first = jj.judge(body_of(claude_request([[img]])))
    second = jj.judge(body_of(claude_request([[img], "next"])))
    assert first.refusal.code == second.refusal.code == "model_server_egress"
    assert jj.cache.hits > 0


def test_batches_are_judged_request_by_request():
    ok = {"custom_id": "a", "params": claude_request([])}
    bad = {"custom_id": "b", "params": with_(mcp_servers=[mcp("https://mcp.exfil.example/")])}
    assert judge({"requests": [ok]}).refusal is None
    refused(judge({"requests": [ok, bad]}), "mcp_servers[0]")
