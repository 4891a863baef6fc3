"""Issue 18's model lane in a real mitmdump: requests to the provider's API host (api.anthropic.com,
served by the fake Anthropic API) go to the MODEL pipelock (its own allowlist: the provider only;
no body scanning), on https and plain http; everything else to the web pipelock as before. What the
fake API receives: the bottle's own key injected, placeholders instead of the secrets a session
reads, the image bytes unchanged. Refused with a reason the agent reads (the API's error JSON):
another identity, a login, server-side egress outside the allowlist, an unparseable body. The web
lane is unchanged: a secret-shaped string to another host is still blocked by pipelock.
"""

import base64
import json
import urllib.request
from pathlib import Path

import pytest

from conftest import (ANTHROPIC_KEY, CREDENTIALS, GUARDED, MODEL_PIPELOCK_NAME, OAUTH_TOKEN, REPO, SECRET_NAME,
                      SECRET_VALUE, addon_config, client, fake_key, pipelock_config)

FIXTURES = REPO / "tests" / "fixtures" / "model_lane"
API = "https://api.anthropic.com"
# the model credentials bound to the provider's host, as the product binds them
MODEL_CREDS = [{**c, "hosts": ["api.anthropic.com"]} if c["name"] != "GIT_TOKEN" else c for c in CREDENTIALS]
PH = {c["name"]: c["placeholder"] for c in CREDENTIALS}
AWS_ID, AWS_SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def model_lane(model_pl) -> dict:
    return {"pipelock": f"{MODEL_PIPELOCK_NAME}:{model_pl.port}",
            "providers": [{"name": "anthropic", "hosts": ["api.anthropic.com"],
                           "identity_headers": ["authorization", "x-api-key"],
                           "login": [{"host": "platform.claude.com", "path": "/v1/oauth/token"}]}],
            "web_search": False, "server_hosts": [], "cache_bytes": 33554432}


def start_model_pipelock(start_double, name: str):
    """The model pipelock: the provider's host only, body scanning off (the addon redacted)."""
    cfg = pipelock_config(api_allowlist=["api.anthropic.com"], trusted_domains=["api.anthropic.com"])
    cfg["request_body_scanning"] = {**cfg["request_body_scanning"], "enabled": False}
    return start_double(cfg, name=name)


@pytest.fixture(scope="module")
def model_pl(start_double):
    return start_model_pipelock(start_double, "model-pipelock")


@pytest.fixture(scope="module")
def web_pl(start_double):
    return start_double(name="web-pipelock")


@pytest.fixture(scope="module")
def lane_mitm(start_mitm, web_pl, model_pl):
    cfg = addon_config(web_pl.addr, credentials=MODEL_CREDS,
                       allowlist=["api.anthropic.com", "*.allowed.test"], model_lane=model_lane(model_pl))
    return start_mitm(config=cfg, name="mitm-model")


@pytest.fixture(autouse=True)
def fake_api_keys(origin):
    control(origin, "POST", {"api": {"keys": [ANTHROPIC_KEY, OAUTH_TOKEN], "gzip": False}})
    yield
    control(origin, "DELETE", None)


def control(origin, method, obj):
    data = None if obj is None else json.dumps(obj).encode()
    req = urllib.request.Request(origin.control + "/__config", method=method, data=data)
    urllib.request.urlopen(req, timeout=10).read()


def conversation(*results) -> dict:
    msgs = [{"role": "user", "content": [{"type": "text", "text": "Look at the files."}]}]
    for i, r in enumerate(results):
        tid = f"toolu_{i:02d}"
        msgs.append({"role": "assistant", "content": [{"type": "tool_use", "id": tid, "name": "Bash",
                                                      "input": {"command": f"cat f{i}"}}]})
        msgs.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": tid, "content": r}]})
    return {"model": "claude-sonnet-4-5-20250929", "max_tokens": 1024, "messages": msgs,
            "tools": [{"name": "Bash", "description": "Run a command",
                       "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}]}


def api_seen(origin, path="/v1/messages") -> list[dict]:
    return [r for r in origin.seen()["requests"] if r["host"].split(":")[0] == "api.anthropic.com"
            and r["path"].startswith(path)]


def post(mitm, body, headers=None, path="/v1/messages", raw=False):
    hdrs = {"x-api-key": PH["ANTHROPIC_API_KEY"], "anthropic-version": "2023-06-01",
            "content-type": "application/json", **(headers or {})}
    with client(mitm) as c:
        return c.post(API + path, content=body if raw else json.dumps(body).encode(), headers=hdrs)


def test_a_session_that_read_secrets_and_a_screenshot_goes_on(lane_mitm, web_pl, model_pl, origin):
    png = (FIXTURES / "screenshot.png").read_bytes()
    b64 = base64.b64encode(png).decode()
    image = [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64}}]
    body = conversation((FIXTURES / "env-output.txt").read_text(), image,
                        (FIXTURES / "aws-credentials.txt").read_text(), (FIXTURES / "env.example").read_text(),
                        (FIXTURES / "test-rsa-key.pem").read_text(), f"token: {SECRET_VALUE}")
    web_before, model_before = web_pl.settled_count(), model_pl.settled_count()
    mark = len(lane_mitm.lines())
    r = post(lane_mitm, body)
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "message"
    (seen,) = api_seen(origin)
    assert {k.lower(): v for k, v in seen["headers"]}["x-api-key"] == ANTHROPIC_KEY
    got = json.loads(seen["body"])
    image_data = got["messages"][4]["content"][0]["content"][0]["source"]["data"]
    assert base64.b64decode(image_data) == png  # byte for byte, though it holds AKIA... text
    text = json.dumps(got).replace(image_data, "")
    for secret in (AWS_ID, AWS_SECRET, "sk_test_4eC39HqLyjWDarjtT1zdp7dc", "BEGIN RSA PRIVATE KEY", SECRET_VALUE):
        assert secret not in text, secret
    for ph in ("<redacted:aws-access-id>", "<redacted:aws-secret-key>", "<redacted:private-key>",
               f"<redacted:secret:{SECRET_NAME}>", "ANTHROPIC_API_KEY=bot-bottle-placeholder-ANTHROPIC_API_KEY"):
        assert ph in text, ph
    # the model pipelock judged it, the web pipelock never saw it
    assert model_pl.forwarded(API + "/v1/messages")
    assert web_pl.settled_count() == web_before and model_pl.settled_count() > model_before
    line = lane_mitm.line_for("/v1/messages", mark)
    assert (line["lane"], line["verdict"], line["credential"]) == ("model", "allowed", "ANTHROPIC_API_KEY")
    assert line["redactions"]["aws-access-id"] == 1 and line["redactions"]["private-key"] == 1
    assert line["redactions"][f"secret:{SECRET_NAME}"] == 1 and line["server_egress"] == []
    assert line["bytes_up"] == seen["body_len"]


def test_a_hex_encoded_secret_key_reaches_the_provider_redacted(lane_mitm, model_pl, origin):
    # issue 22 item 3 on the model lane: `xxd -p`-style hex of AWS's example secret key line
    hexed = f"aws_secret_access_key = {AWS_SECRET}".encode().hex()
    body = conversation(f"$ cat creds.hex\n{hexed}\n$ echo ok\nok\n")
    mark = len(lane_mitm.lines())
    r = post(lane_mitm, body)
    assert r.status_code == 200, r.text
    (seen,) = api_seen(origin)
    got = json.loads(seen["body"])
    assert got["messages"][2]["content"][0]["content"] == "$ cat creds.hex\n<redacted:aws-secret-key>\n$ echo ok\nok\n"
    assert hexed not in seen["body"] and AWS_SECRET not in seen["body"]
    assert model_pl.forwarded(API + "/v1/messages")
    line = lane_mitm.line_for("/v1/messages", mark)
    assert (line["lane"], line["verdict"]) == ("model", "allowed")
    assert line["redactions"] == {"aws-secret-key": 1}
    assert hexed not in json.dumps(line)  # the log counts the class, never the value


def test_plain_http_to_the_provider_takes_the_model_lane_too(lane_mitm, web_pl, model_pl, origin):
    web_before = web_pl.settled_count()
    mark = len(lane_mitm.lines())
    with client(lane_mitm) as c:
        r = c.get("http://api.anthropic.com/api/hello")
    assert r.status_code == 200
    assert model_pl.forwarded("http://api.anthropic.com/api/hello")
    assert web_pl.settled_count() == web_before
    assert lane_mitm.line_for("/api/hello", mark)["lane"] == "model"


def test_the_web_lane_is_unchanged(lane_mitm, web_pl, model_pl, origin):
    model_before = model_pl.settled_count()
    mark = len(lane_mitm.lines())
    with client(lane_mitm) as c:
        r = c.post("https://allowed.test/echo", content=f"aws_secret_access_key = {AWS_SECRET}\n".encode())
        ok = c.get("https://allowed.test/echo?ok")
    assert r.status_code == 403 and r.text.startswith("blocked: ")  # pipelock's body DLP, as before
    assert ok.status_code == 200
    assert model_pl.settled_count() == model_before
    lines = lane_mitm.wait_lines(mark + 2)[mark:]
    assert {x["lane"] for x in lines} == {"web"} and lines[0]["reason_code"] == "body_dlp"


def refused(r, code: str, status: int = 403) -> str:
    assert r.status_code == status, r.text
    assert r.headers["x-bot-bottle-block-reason"] == code
    err = r.json()
    assert err["type"] == "error" and err["error"]["message"].startswith("blocked: bot-bottle: ")
    return err["error"]["message"]


OTHER_KEY = fake_key("sk-ant-api03-", 93, "another account") + "AA"


@pytest.mark.parametrize("headers,code,needle", [
    ({"x-api-key": OTHER_KEY}, "model_identity", "x-api-key"),
    ({"x-api-key": "opaque-key-of-no-known-format-0123456789"}, "model_identity", "x-api-key"),
    ({"authorization": "Bearer someone-elses-session-token"}, "model_identity", "authorization"),
], ids=["other api key", "opaque key", "bearer"])
def test_another_identity_is_refused(lane_mitm, web_pl, model_pl, origin, headers, code, needle):
    before = (web_pl.settled_count(), model_pl.settled_count())
    msg = refused(post(lane_mitm, conversation(), headers), code)
    assert needle in msg and OTHER_KEY not in msg
    assert (web_pl.settled_count(), model_pl.settled_count()) == before and not api_seen(origin)


@pytest.mark.parametrize("extra,needle", [
    ({"mcp_servers": [{"type": "url", "url": "https://mcp.exfil.example/sse", "name": "x"}]}, "mcp_servers[0]"),
    ({"tools": [{"type": "web_fetch_20250910", "name": "web_fetch"}]}, "no allowed_domains"),
    ({"tools": [{"type": "web_fetch_20250910", "name": "web_fetch", "allowed_domains": ["exfil.example"]}]},
     "'exfil.example'"),
    ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "web_search"),
], ids=["mcp", "web_fetch anywhere", "web_fetch outside", "web_search"])
def test_server_side_egress_outside_the_allowlist_is_refused(lane_mitm, model_pl, origin, extra, needle):
    before = model_pl.settled_count()
    mark = len(lane_mitm.lines())
    msg = refused(post(lane_mitm, {**conversation(), **extra}), "model_server_egress")
    assert needle in msg
    assert model_pl.settled_count() == before and not api_seen(origin)
    line = lane_mitm.line_for("/v1/messages", mark)
    assert (line["verdict"], line["reason_code"], line["lane"]) == ("refused", "model_server_egress", "model")


def test_server_side_egress_inside_the_allowlist_is_logged(lane_mitm, origin):
    mark = len(lane_mitm.lines())
    tool = {"type": "web_fetch_20250910", "name": "web_fetch", "allowed_domains": ["docs.allowed.test"]}
    r = post(lane_mitm, {**conversation(), "tools": [tool]})
    assert r.status_code == 200, r.text
    assert lane_mitm.line_for("/v1/messages", mark)["server_egress"] == ["web_fetch:docs.allowed.test"]


def test_unparseable_bodies_are_refused_not_forwarded(lane_mitm, model_pl, origin):
    before = model_pl.settled_count()
    for body in (b'{"model": "x", "messages": [', b'{"model": "a", "model": "b", "messages": []}'):
        refused(post(lane_mitm, body, raw=True), "model_unparseable", 400)
    assert model_pl.settled_count() == before and not api_seen(origin)


def test_a_login_inside_the_bottle_is_refused(lane_mitm, web_pl, model_pl):
    before = (web_pl.settled_count(), model_pl.settled_count())
    mark = len(lane_mitm.lines())
    with client(lane_mitm) as c:
        r = c.post("https://platform.claude.com/v1/oauth/token", json={"grant_type": "authorization_code"})
    msg = refused(r, "model_login")
    assert "claude setup-token" in msg and "CLAUDE_CODE_OAUTH_TOKEN" in msg
    assert (web_pl.settled_count(), model_pl.settled_count()) == before
    line = lane_mitm.line_for("/v1/oauth/token", mark)
    assert (line["lane"], line["verdict"], line["reason_code"]) == ("model", "refused", "model_login")


def test_the_same_conversation_twice_reads_the_same(lane_mitm, origin):
    body = conversation((FIXTURES / "aws-credentials.txt").read_text())
    assert post(lane_mitm, body).status_code == 200
    body2 = conversation((FIXTURES / "aws-credentials.txt").read_text(), "next")
    assert post(lane_mitm, body2).status_code == 200
    first, second = (json.loads(r["body"]) for r in api_seen(origin))
    assert first["messages"][2] == second["messages"][2]
    assert "<redacted:aws-access-id>" in json.dumps(first["messages"][2])


def test_the_addons_other_refusals_answer_in_the_apis_format_on_this_lane(lane_mitm, model_pl, origin):
    before = model_pl.settled_count()
    with client(lane_mitm) as c:
        r = c.get(f"{API}/v1/models?debug={SECRET_VALUE}", headers={"x-api-key": PH["ANTHROPIC_API_KEY"]})
    msg = refused(r, "secret_leak")
    assert SECRET_NAME in msg and SECRET_VALUE not in r.text
    assert model_pl.settled_count() == before and not api_seen(origin, "/v1/models")
