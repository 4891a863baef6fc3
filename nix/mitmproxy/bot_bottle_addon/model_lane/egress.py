"""Server-side egress of a model request: what the provider would reach on the bottle's behalf (MCP connector servers, the web_fetch and web_search server tools, URL image/document sources, unknown server tools), judged against the bottle's allowlist and the manifest's model settings; pure, no I/O.

Sources: the Messages API's documentation (mcp_servers and the mcp_toolset tool, web_fetch_*
with allowed_domains/blocked_domains, web_search_*, sources of type "url") and Claude Code's
own requests (custom tools only; its WebSearch tool asks for web_search_*). A tool with a
`type` is one the provider runs or knows; the ones that reach no host of the agent's choosing
are listed below, any other type is refused (bot-bottle cannot tell where it reaches).
"""

import urllib.parse

from ..hosts import host_matches, is_ip_literal, norm_host
from ..refusal import Refusal, model_server_egress
from .config import ModelLane

# Tool types that reach no host the request chooses (client tools, and server tools that run
# in the provider's sandbox without network access, or only act on the request's own tools).
NO_EGRESS_TOOL_PREFIXES = ("custom", "bash_", "text_editor_", "computer_", "memory_", "code_execution_",
                           "tool_search_tool_", "mcp_toolset")


class EgressJudge:
    def __init__(self, lane: ModelLane, allowlist: tuple[str, ...]):
        self.lane = lane
        self.hosts = tuple(allowlist) + tuple(lane.server_hosts)

    def host_allowed(self, host: str) -> bool:
        return not is_ip_literal(host) and any(host_matches(p, host) for p in self.hosts)

    def domain_allowed(self, domain: str) -> bool:
        """A web_fetch domain: the provider fetches it and its subdomains, so a `*.d`
        pattern of the allowlist or server_hosts must cover it whole."""
        d = norm_host(domain)
        d = d[2:] if d.startswith("*.") else d
        return not is_ip_literal(d) and any(
            p.startswith("*.") and (d == p[2:] or d.endswith("." + p[2:])) for p in self.hosts)

    def judge(self, params: dict, urls: list[str]) -> tuple[list[str], Refusal | None]:
        """(what the provider may reach, refusal) for one request's parameters and the
        source URLs its blocks hold."""
        used: list[str] = []
        for check in (self._mcp_servers, self._tools):
            r = check(params, used)
            if r is not None:
                return used, r
        for u in urls:
            host = _url_host(u)
            if host is None or not self.host_allowed(host):
                return used, model_server_egress(f"the URL source {_quote(u)} (the provider fetches it)")
            used.append(f"url_source:{host}")
        return used, None

    def _mcp_servers(self, params: dict, used: list[str]) -> Refusal | None:
        servers = params.get("mcp_servers")
        if servers is None:
            return None
        if not isinstance(servers, list):
            return model_server_egress("mcp_servers that is not a list (MCP servers cannot be judged)")
        for i, s in enumerate(servers):
            url = s.get("url") if isinstance(s, dict) else None
            host = _url_host(url) if isinstance(url, str) else None
            if host is None:
                return model_server_egress(f"mcp_servers[{i}] without an http(s) URL with a host")
            if not self.host_allowed(host):
                return model_server_egress(f"the MCP server {_quote(url)} (mcp_servers[{i}])")
            used.append(f"mcp:{host}")
        return None

    def _tools(self, params: dict, used: list[str]) -> Refusal | None:
        tools = params.get("tools")
        if not isinstance(tools, list):
            return None
        for i, t in enumerate(tools):
            kind = t.get("type") if isinstance(t, dict) else None
            if kind is None or (isinstance(kind, str) and kind.startswith(NO_EGRESS_TOOL_PREFIXES)):
                continue
            if not isinstance(kind, str):
                return model_server_egress(f"tools[{i}] with a type that is not a string")
            if kind.startswith("web_search_"):
                if not self.lane.web_search:
                    return model_server_egress(f"the web through the web_search tool (tools[{i}], "
                                               "bottles.NAME.model.web_search is false)")
                used.append("web_search")
            elif kind.startswith("web_fetch_"):
                r = self._web_fetch(t, i, used)
                if r is not None:
                    return r
            else:
                return model_server_egress(f"whatever the server tool {_quote(kind)} reaches (tools[{i}]; "
                                           "bot-bottle does not know this tool type)")
        return None

    def _web_fetch(self, tool: dict, i: int, used: list[str]) -> Refusal | None:
        domains = tool.get("allowed_domains")
        if not isinstance(domains, list) or not domains:
            return model_server_egress(f"any web page through the web_fetch tool (tools[{i}] has no "
                                       "allowed_domains)")
        for d in domains:
            host = d.split("/", 1)[0] if isinstance(d, str) else ""
            if "://" in (d if isinstance(d, str) else "") or not host or not self.domain_allowed(host):
                return model_server_egress(f"{_quote(d)} and its subdomains through the web_fetch tool "
                                           f"(tools[{i}].allowed_domains; allow `*.{host or 'domain'}`)")
            used.append(f"web_fetch:{norm_host(host)}")
        return None


def _url_host(url: str) -> str | None:
    try:
        u = urllib.parse.urlsplit(url.strip())
        host = u.hostname
    except ValueError:
        return None
    if u.scheme.lower() not in ("http", "https") or not host:
        return None
    return norm_host(host)


def _quote(v) -> str:
    s = repr(v)
    return s if len(s) <= 120 else s[:117] + "...'"
