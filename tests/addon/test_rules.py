"""Per-host method and path rules (issue 21, rules.py) in a real mitmdump: refused before
pipelock sees anything, with the rules in the answer and the log; encoded and dot-segment
spellings of a forbidden path refused as sent on the wire (curl --path-as-is, http.client);
and the rules hold on every request of one kept-alive HTTP/1.1 connection and one HTTP/2
connection after an allowed request."""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess

import pytest

from conftest import addon_config, addon_env, client, free_port, mitm_args

# allowed.test is read-only except one upload path; /private is forbidden to all methods.
RULES = [
    {"rule": "egress.rules[0]", "host": "allowed.test", "methods": ["GET"], "paths": ["/rules", "/rules/public/**"],
     "ignore_case": False},
    {"rule": "egress.rules[1]", "host": "allowed.test", "methods": ["POST"], "paths": ["/rules/upload"],
     "ignore_case": False},
]
ALLOWED_ONLY = ("allowed.test allows only: GET /rules /rules/public/** (egress.rules[0]); "
                "POST /rules/upload (egress.rules[1])")


@pytest.fixture(scope="module")
def ruled(start_mitm, double):
    return start_mitm(config=addon_config(double.addr, rules=RULES), name="ruled")


def curl(mitm, *transfers, http2=False):
    """curl through the chain, paths sent as written, one connection reused where it can be;
    each transfer is a list of arguments (`--next` between them). One list per request:
    [status, num_connects, http_version, X-Bot-Bottle-Block-Reason]."""
    fmt = "%{http_code} %{num_connects} %{http_version} %header{x-bot-bottle-block-reason}\\n"
    common = ["-sS", "--path-as-is", "--http2" if http2 else "--http1.1", "--proxy", mitm.proxy,
              "--cacert", str(mitm.ca), "-w", fmt]
    cmd = ["curl"]
    for i, t in enumerate(transfers):
        cmd += (["--next"] if i else []) + common
        for a in t:
            cmd += ["-o", "/dev/null", a] if a.startswith("https://") else [a]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [(line.split(" ", 3) + [""])[:4] for line in out.stdout.splitlines()]


def test_a_read_only_rule_lets_get_through_and_refuses_writes_with_its_reason(ruled, double, origin):
    since = len(ruled.lines())
    assert curl(ruled, ["https://allowed.test/rules/public/a"]) == [["200", "1", "1.1", ""]]
    for method in ["POST", "PUT", "DELETE", "PATCH"]:
        before = double.settled_count()
        with client(ruled) as c:
            r = c.request(method, "https://allowed.test/rules/public/a", content=b"x")
        assert r.status_code == 403, r.text
        assert r.headers["x-bot-bottle-block-reason"] == "egress_rule"
        what = "to this path is not allowed" if method == "POST" else "is not allowed"  # POST has a rule elsewhere
        assert r.text == (f"blocked: bot-bottle: {method} {what} on allowed.test by the bottle's egress rules"
                          + (" (the path is judged percent-decoded, with dot segments resolved)"
                             if method == "POST" else "") + f"; {ALLOWED_ONLY}\n")
        assert double.settled_count() == before, f"{method} reached pipelock"
    assert [r["method"] for r in origin.requests("/rules/public/a")] == ["GET"]
    lines = [x for x in ruled.lines()[since:] if x["path"] == "/rules/public/a"]
    assert [(x["method"], x["verdict"], x["by"], x["reason_code"], x["status"]) for x in lines] == [
        ("GET", "allowed", None, None, 200)] + [
        (m, "refused", "bot-bottle", "egress_rule", 403) for m in ["POST", "PUT", "DELETE", "PATCH"]]
    assert ALLOWED_ONLY in lines[1]["reason"]
    # the one POST the rules allow, and a host no rule names
    assert curl(ruled, ["-X", "POST", "--data-binary", "x", "https://allowed.test/rules/upload"])[0][0] == "200"
    assert curl(ruled, ["-X", "DELETE", "https://other.allowed.test/rules/x"])[0][0] == "200"


FORBIDDEN_SPELLINGS = [
    "/rules/private",
    "/rules/public/../private",
    "/rules/public/%2e%2e/private",
    "/rules/public/%2E%2E/private",
    "/rules/public/.%2e/private",
    "/rules/public/%252e%252e/private",
    "/rules/public/..%2fprivate",
    "/rules/public/..%2Fprivate",
    "/rules/public/..%252fprivate",
    "/rules/public/..%5cprivate",
    "/rules/public/..;/private",
    "/rules/public/./../private",
    "/rules/public//../../rules/private",
    "/rules/public%2f..%2f..%2frules/private",
    "/rules/public/%00/../../private",
    "/RULES/public/a",
]


@pytest.mark.parametrize("http2", [False, True], ids=["http1", "http2"])
def test_encoded_and_dotted_spellings_of_a_forbidden_path_are_refused(ruled, double, origin, http2):
    before = double.settled_count()
    urls = [f"https://allowed.test{p}" for p in FORBIDDEN_SPELLINGS]
    results = curl(ruled, urls, http2=http2)
    assert [r[0] for r in results] == ["403"] * len(urls), list(zip(FORBIDDEN_SPELLINGS, results))
    assert all(r[3] == "egress_rule" for r in results)
    assert double.settled_count() == before, "a refused spelling reached pipelock"
    assert origin.requests("/rules/private") == [] and origin.requests("/RULES") == []
    # other spellings of an allowed path pass (pipelock itself refuses any `..`)
    ok = curl(ruled, ["https://allowed.test/rules/public/a/", "https://allowed.test/rules/public/%61",
                      "https://allowed.test/rules//public/a"], http2=http2)
    assert [r[0] for r in ok] == ["200"] * 3


def test_rules_hold_inside_one_kept_alive_http1_connection(ruled, double, origin):
    ctx = ssl.create_default_context(cafile=str(ruled.ca))
    conn = http.client.HTTPSConnection("127.0.0.1", ruled.port, context=ctx, timeout=30)
    conn.set_tunnel("allowed.test", 443)

    def send(method, path, body=None):
        conn.request(method, path, body=body)  # http.client sends the path exactly as given
        r = conn.getresponse()
        return r.status, r.getheader("x-bot-bottle-block-reason"), r.read()

    assert send("GET", "/rules/public/keep1")[0] == 200
    sock = conn.sock
    assert send("DELETE", "/rules/public/keep1")[:2] == (403, "egress_rule")
    assert send("GET", "/rules/public/%2e%2e/private")[:2] == (403, "egress_rule")
    assert send("POST", "/rules/public/keep1", b"data")[:2] == (403, "egress_rule")
    assert send("GET", "/rules/public/keep2")[0] == 200
    assert send("PUT", "/rules/public/keep2", b"data")[:2] == (403, "egress_rule")
    assert conn.sock is sock, "the connection was not kept alive"
    conn.close()
    assert [r["method"] for r in origin.requests("/rules/public/keep")] == ["GET", "GET"]
    assert origin.requests("/rules/private") == []


def test_rules_hold_inside_one_http2_connection(ruled, double, origin):
    results = curl(ruled, ["https://allowed.test/rules/public/h2a"],
                   ["-X", "DELETE", "https://allowed.test/rules/public/h2a"],
                   ["https://allowed.test/rules/public/%2e%2e/private"],
                   ["-X", "POST", "--data-binary", "x", "https://allowed.test/rules/public/h2a"],
                   ["https://allowed.test/rules/public/h2b"], http2=True)
    assert [(r[0], r[1], r[2]) for r in results] == [
        ("200", "1", "2"), ("403", "0", "2"), ("403", "0", "2"), ("403", "0", "2"), ("200", "0", "2")], \
        "one connection (num_connects 0 after the first), HTTP/2 throughout"
    assert [r["method"] for r in origin.requests("/rules/public/h2")] == ["GET", "GET"]


def test_mitmdump_refuses_to_start_with_a_bad_rule(workdir, double):
    cfg = workdir / "badrules.json"
    cfg.write_text(json.dumps(addon_config(double.addr, rules=[{"host": "allowed.test", "methods": [], "paths": ["/"]}])))
    out = subprocess.run(mitm_args(free_port(), workdir / "badrules-conf", config_path=cfg), capture_output=True,
                         text=True, timeout=30, env={"PATH": "/usr/bin:/bin", **addon_env()})
    assert out.returncode != 0
    assert f"bottle_config ({cfg}): rules[0].methods: must be a non-empty list of HTTP methods" \
        in out.stdout + out.stderr
