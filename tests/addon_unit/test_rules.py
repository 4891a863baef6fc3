"""Per-host method and path rules (rules.py): the path in every form a server may route it by
(percent-decoding at any depth, encoded slashes and backslashes both ways, dot and empty
segments, path parameters), the globs, methods (GET allows HEAD, `*`, override headers), which
hosts a rule names, the refusal text, and the config entries refused with their field."""

import pytest

from bot_bottle_addon.config import ConfigError, parse_config
from bot_bottle_addon.rules import parse_rules, path_views, rules_refusal
from samples import addon_config, addon_env

S = b"\x00"  # an encoded / or \ kept inside its segment (the strict view)

VIEWS = [
    # plain paths
    (b"/", [b"/"]),
    (b"/a/b", [b"/a/b"]),
    (b"/a/b/", [b"/a/b"]),
    (b"/a//b///c", [b"/a/b/c"]),
    (b"//a", [b"/a"]),
    (b"/a/b?x=/../../c#f", [b"/a/b"]),
    (b"/a/b#/../c", [b"/a/b"]),
    # dot segments, plain and encoded at any depth (up to 4)
    (b"/a/./b", [b"/a/b"]),
    (b"/a/../b", [b"/b"]),
    (b"/../../a", [b"/a"]),
    (b"/a/b/..", [b"/a"]),
    (b"/a/b/.", [b"/a/b"]),
    (b"/a/%2e%2e/b", [b"/b"]),
    (b"/a/%2E%2E/b", [b"/b"]),
    (b"/a/.%2e/b", [b"/b"]),
    (b"/a/%2e/b", [b"/a/b"]),
    (b"/a/%252e%252e/b", [b"/b"]),
    (b"/a/%25252e%25252e/b", [b"/b"]),
    (b"/a/%2525252e%2525252e/b", [b"/b"]),
    (b"/a/%25%32%65%25%32%65/b", [b"/b"]),  # each character of %2e encoded: decodes to %2e%2e, then ..
    # path parameters (Tomcat): `..;x` is a `..` segment
    (b"/a/..;/b", [b"/b"]),
    (b"/a/..;jsessionid=1/b", [b"/b"]),
    (b"/a/.;x/b", [b"/a/b"]),
    (b"/a;x/b", [b"/a;x/b"]),
    # encoded slashes: a separator (loose) or a character (strict)
    (b"/a%2fb", [b"/a/b", b"/a" + S + b"b"]),
    (b"/a%2Fb", [b"/a/b", b"/a" + S + b"b"]),
    (b"/a/..%2fb", [b"/b", b"/a/.." + S + b"b"]),
    (b"/a/%252F", [b"/a", b"/a/" + S]),
    (b"/a/..%2f..%2fc", [b"/c", b"/a/.." + S + b".." + S + b"c"]),
    # backslashes, raw or encoded: a separator to some servers
    (b"/a\\..\\b", [b"/b", b"/a\\..\\b"]),
    (b"/a/%5c..%5cb", [b"/b", b"/a/" + S + b".." + S + b"b"]),
    # other encodings are just characters
    (b"/a/%7e", [b"/a/~"]),
    (b"/%e2%82%ac", [b"/\xe2\x82\xac"]),
    (b"/a/%zz", [b"/a/%zz"]),
    (b"/a/%2", [b"/a/%2"]),
    (b"/a/100%", [b"/a/100%"]),
    # cannot be judged
    (b"/a/%00", None),
    (b"/a%0a", None),
    (b"/a%0D%0Ab", None),
    (b"/a/%7f", None),
    (b"/a/%2500", None),
    (b"/a\tb", None),
    (b"/a/%252525252e", None),  # 5 levels
    (b"*", None),
    (b"", None),
    (b"a/b", None),
    (b"https://x.test/a", None),
]


@pytest.mark.parametrize("raw,views", VIEWS, ids=[repr(r) for r, _ in VIEWS])
def test_the_path_in_every_form_a_server_may_read_it(raw, views):
    assert path_views(raw) == views


def rules(*entries):
    return parse_rules([dict({"rule": f"egress.rules[{i}]"}, **e) for i, e in enumerate(entries)])


GITHUB = rules(
    {"host": "api.github.com", "methods": ["GET"], "paths": ["/repos/acme/**", "/user"]},
    {"host": "api.github.com", "methods": ["POST"], "paths": ["/repos/acme/*/issues/*/comments"]},
)


def allowed(rs, method, path, host="api.github.com", headers=()):
    return rules_refusal(rs, method, host, path, list(headers)) is None


@pytest.mark.parametrize("method,path", [
    ("GET", b"/repos/acme"),
    ("GET", b"/repos/acme/widgets"),
    ("GET", b"/repos/acme/widgets/"),
    ("GET", b"/repos/acme/widgets/contents/src%2Fmain.rs"),  # an encoded slash under /repos/acme/**
    ("GET", b"/repos//acme/widgets"),
    ("GET", b"/repos/acme/widgets/./issues"),
    ("GET", b"/repos/acme/widgets?per_page=100&q=../../x"),
    ("GET", b"/user"),
    ("HEAD", b"/user"),
    ("get", b"/user"),
    ("POST", b"/repos/acme/widgets/issues/12/comments"),
    ("POST", b"/repos/acme/widgets/issues/12/comments/"),
    ("POST", b"/repos/acme/widgets/pulls/3/../../issues/12/comments"),
])
def test_what_the_rules_allow_passes(method, path):
    assert allowed(GITHUB, method, path)


@pytest.mark.parametrize("method,path", [
    ("GET", b"/repos/other/widgets"),
    ("GET", b"/repos/acmeX/widgets"),
    ("GET", b"/users/acme"),
    ("GET", b"/user/keys"),
    ("GET", b"/"),
    # encoded and dotted spellings of /repos/other
    ("GET", b"/repos/acme/../other"),
    ("GET", b"/repos/acme/%2e%2e/other"),
    ("GET", b"/repos/acme/%2E%2E/other"),
    ("GET", b"/repos/acme/%252e%252e/other"),
    ("GET", b"/repos/acme/..%2fother"),
    ("GET", b"/repos/acme/..%2Fother"),
    ("GET", b"/repos/acme/..%252fother"),
    ("GET", b"/repos/acme%2f..%2f..%2frepos/other"),
    ("GET", b"/repos/acme/..\\other"),
    ("GET", b"/repos/acme/..%5cother"),
    ("GET", b"/repos/acme/..;/other"),
    ("GET", b"/repos/acme/./../other"),
    ("GET", b"//repos/acme/../../repos/other"),
    ("GET", b"/repos/acme/%00/../other"),
    ("GET", b"/repos/acme/%252525252e%252525252e/other"),
    ("GET", b"/REPOS/acme/widgets"),  # case-sensitive unless ignore_case
    # methods
    ("DELETE", b"/repos/acme/widgets"),
    ("PUT", b"/repos/acme/widgets"),
    ("PATCH", b"/repos/acme/widgets"),
    ("POST", b"/repos/acme/widgets"),
    ("POST", b"/repos/acme/widgets/issues/12"),
    ("POST", b"/repos/acme/widgets/issues/12/comments/5"),
    ("POST", b"/repos/acme/widgets/issues/12/comments%2f..%2f..%2f..%2f..%2fother/x/issues/1/comments"),
    ("OPTIONS", b"*"),
])
def test_everything_else_on_a_ruled_host_is_refused(method, path):
    assert not allowed(GITHUB, method, path)


def test_a_method_override_header_is_judged_as_a_method():
    assert not allowed(GITHUB, "GET", b"/repos/acme/widgets", headers=[("X-HTTP-Method-Override", "DELETE")])
    assert not allowed(GITHUB, "POST", b"/repos/acme/w/issues/1/comments", headers=[("x-method-override", "PUT")])
    assert not allowed(GITHUB, "GET", b"/repos/acme/w", headers=[("X-HTTP-Method", "get, delete")])
    assert allowed(GITHUB, "GET", b"/repos/acme/widgets", headers=[("X-HTTP-Method-Override", "head")])
    r = rules_refusal(GITHUB, "GET", "api.github.com", b"/repos/acme/w", [("X-HTTP-Method-Override", "DELETE")])
    assert "DELETE (from the x-http-method-override header) is not allowed on api.github.com" in r.text


def test_a_host_no_rule_names_keeps_the_allowlists_behaviour():
    assert allowed(GITHUB, "DELETE", b"/anything/../at%2Fall", host="github.com")
    assert allowed(GITHUB, "DELETE", b"*", host="uploads.github.com")
    assert allowed([], "DELETE", b"/x")


def test_a_rules_host_is_matched_like_the_allowlist():
    rs = rules({"host": "*.example.com", "methods": ["GET"], "paths": ["/**"]})
    for host in ["example.com", "a.example.com", "A.B.Example.COM.", "EXAMPLE.com"]:
        assert not allowed(rs, "POST", b"/", host=host), host
        assert allowed(rs, "GET", b"/x", host=host), host
    assert allowed(rs, "POST", b"/", host="badexample.com")
    rs = rules({"host": "API.github.com", "methods": ["GET"], "paths": ["/**"]})
    assert not allowed(rs, "POST", b"/", host="api.github.com.")


def test_the_rules_of_a_host_add_up():
    rs = rules({"host": "*.example.com", "methods": ["GET"], "paths": ["/**"]},
               {"host": "api.example.com", "methods": ["POST"], "paths": ["/upload"]})
    assert allowed(rs, "POST", b"/upload", host="api.example.com")
    assert not allowed(rs, "POST", b"/upload", host="www.example.com")
    assert allowed(rs, "GET", b"/x", host="api.example.com")


@pytest.mark.parametrize("pattern,path,ok", [
    ("/", b"/", True),
    ("/", b"/a", False),
    ("/**", b"/", True),
    ("/**", b"/a/b/c", True),
    ("/a/**", b"/a", True),
    ("/a/**", b"/a/b/c", True),
    ("/a/**", b"/ab", False),
    ("/a/**/z", b"/a/z", True),
    ("/a/**/z", b"/a/b/c/z", True),
    ("/a/**/z", b"/a/b/c/zz", False),
    ("/a/*", b"/a/b", True),
    ("/a/*", b"/a", False),
    ("/a/*", b"/a/b/c", False),
    ("/a/*/c", b"/a/b/c", True),
    ("/a/*/c", b"/a/b/x/c", False),
    ("/a/b*.json", b"/a/b1.json", True),
    ("/a/b*.json", b"/a/b.json", True),
    ("/a/b*.json", b"/a/b/x.json", False),
    ("/a/b.json", b"/a/bxjson", False),  # `.` is a character, not a regex
    ("/a/(x)+", b"/a/(x)+", True),
    ("/a/(x)+", b"/a/xx", False),
    ("/a/*", b"/a/b%2fc", False),  # `a/b/c` to a server that decodes first
    ("/a/b/c", b"/a/b%2fc", False),  # one segment `b%2Fc` to a server that routes on the raw path
    ("/a/**", b"/a/b%2fc", True),
])
def test_globs(pattern, path, ok):
    rs = rules({"host": "h.test", "methods": ["*"], "paths": [pattern]})
    assert allowed(rs, "PATCH", path, host="h.test") is ok


def test_ignore_case_folds_ascii_case_of_pattern_and_path():
    rs = rules({"host": "h.test", "methods": ["GET"], "paths": ["/Repos/Acme/**"], "ignore_case": True})
    for p in [b"/repos/acme/x", b"/REPOS/ACME", b"/rEpOs/%41cme/x"]:
        assert allowed(rs, "GET", p, host="h.test"), p
    assert not allowed(rs, "GET", b"/repos/other", host="h.test")
    strict = rules({"host": "h.test", "methods": ["GET"], "paths": ["/Repos/Acme/**"]})
    assert not allowed(strict, "GET", b"/repos/acme/x", host="h.test")


def test_get_allows_head_and_star_allows_any_method():
    rs = rules({"host": "h.test", "methods": ["GET"], "paths": ["/**"]})
    assert allowed(rs, "HEAD", b"/", host="h.test")
    assert not allowed(rs, "OPTIONS", b"/", host="h.test")
    rs = rules({"host": "h.test", "methods": ["HEAD"], "paths": ["/**"]})
    assert not allowed(rs, "GET", b"/", host="h.test")
    rs = rules({"host": "h.test", "methods": ["*"], "paths": ["/x"]})
    assert allowed(rs, "PROPFIND", b"/x", host="h.test")
    assert not allowed(rs, "PROPFIND", b"/y", host="h.test")


def test_the_refusal_names_the_rules_and_what_they_allow():
    r = rules_refusal(GITHUB, "DELETE", "API.github.com", b"/repos/acme/widgets", [])
    assert (r.status, r.code) == (403, "egress_rule")
    assert r.headers["X-Bot-Bottle-Block-Reason"] == "egress_rule"
    assert r.text == (
        "blocked: bot-bottle: DELETE is not allowed on api.github.com by the bottle's egress rules; "
        "api.github.com allows only: GET /repos/acme/** /user (egress.rules[0]); "
        "POST /repos/acme/*/issues/*/comments (egress.rules[1])\n")
    r = rules_refusal(GITHUB, "GET", "api.github.com", b"/repos/acme/%2e%2e/other", [])
    assert r.text.startswith("blocked: bot-bottle: GET to this path is not allowed on api.github.com by the "
                             "bottle's egress rules (the path is judged percent-decoded, with dot segments "
                             "resolved); api.github.com allows only: GET /repos/acme/** /user (egress.rules[0])")
    assert b"other" not in r.body, "the agent's path is not echoed (the log quotes the reason)"
    r = rules_refusal(GITHUB, "GET", "api.github.com", b"/a/%00", [])
    assert "the path cannot be judged" in r.text


BAD = [
    ("not-a-list", {"x": 1}, "rules: must be a list of rules"),
    ("entry-not-object", ["GET"], "rules[0]: must be an object"),
    ("unknown-key", [{"host": "h.test", "methods": ["GET"], "paths": ["/"], "verbs": []}], "rules[0].verbs: unknown key"),
    ("no-host", [{"methods": ["GET"], "paths": ["/"]}], "rules[0].host: must be a host name"),
    ("star-host", [{"host": "*", "methods": ["GET"], "paths": ["/"]}], "rules[0].host: must be a host name"),
    ("url-host", [{"host": "https://h.test", "methods": ["GET"], "paths": ["/"]}], "rules[0].host"),
    ("no-methods", [{"host": "h.test", "paths": ["/"]}], "rules[0].methods: must be a non-empty list"),
    ("empty-methods", [{"host": "h.test", "methods": [], "paths": ["/"]}], "rules[0].methods: must be a non-empty"),
    ("bad-method", [{"host": "h.test", "methods": ["GE T"], "paths": ["/"]}], "rules[0].methods[0]: must be an HTTP"),
    ("star-in-method", [{"host": "h.test", "methods": ["G*"], "paths": ["/"]}], "rules[0].methods[0]"),
    ("empty-paths", [{"host": "h.test", "methods": ["GET"], "paths": []}], "rules[0].paths: must be a non-empty"),
    ("relative", [{"host": "h.test", "methods": ["GET"], "paths": ["a/b"]}], "rules[0].paths[0]: must be an absolute"),
    ("query", [{"host": "h.test", "methods": ["GET"], "paths": ["/a?b"]}], "rules[0].paths[0]: must be a plain path"),
    ("encoded", [{"host": "h.test", "methods": ["GET"], "paths": ["/a%2Fb"]}], "rules[0].paths[0]: must be a plain"),
    ("dots", [{"host": "h.test", "methods": ["GET"], "paths": ["/a/../b"]}], "rules[0].paths[0]: must not contain ."),
    ("dot-param", [{"host": "h.test", "methods": ["GET"], "paths": ["/a/..;x"]}], "rules[0].paths[0]: must not contain ."),
    ("double-slash", [{"host": "h.test", "methods": ["GET"], "paths": ["/a//b"]}], "rules[0].paths[0]: must not contain //"),
    ("trailing", [{"host": "h.test", "methods": ["GET"], "paths": ["/a/"]}], "rules[0].paths[0]: must not end with /"),
    ("partial-starstar", [{"host": "h.test", "methods": ["GET"], "paths": ["/a**"]}], "rules[0].paths[0]: ** must be"),
    ("path-not-string", [{"host": "h.test", "methods": ["GET"], "paths": [1]}], "rules[0].paths[0]: must be a string"),
    ("ignore-case", [{"host": "h.test", "methods": ["GET"], "paths": ["/"], "ignore_case": 1}],
     "rules[0].ignore_case: must be true or false"),
    ("rule-label", [{"host": "h.test", "methods": ["GET"], "paths": ["/"], "rule": ""}], "rules[0].rule"),
]


@pytest.mark.parametrize("name,data,message", BAD, ids=[b[0] for b in BAD])
def test_bad_rules_are_refused_naming_the_field(name, data, message):
    with pytest.raises(ConfigError) as e:
        parse_config(addon_config(rules=data), addon_env())
    assert str(e.value).startswith(message), (str(e.value), message)


def test_the_config_carries_the_rules():
    cfg = parse_config(addon_config(rules=[{"rule": "egress.rules[0]", "host": "API.github.com.",
                                            "methods": ["get", "*"], "paths": ["/**"], "ignore_case": False}]),
                       addon_env())
    assert [(r.host, r.methods, r.paths, r.rule) for r in cfg.rules] == [
        ("api.github.com", ("GET", "*"), ("/**",), "egress.rules[0]")]
    assert parse_config(addon_config(), addon_env()).rules == []


def test_the_refusal_is_in_the_documented_table():
    import re

    from conftest import REPO
    doc = (REPO / "docs" / "addon.md").read_text()
    table = doc[doc.index("## The addon's own refusals"):doc.index("## Behaviour")]
    documented = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\| `(\w+)` \| (\d+)", table, re.M)}
    r = rules_refusal(GITHUB, "DELETE", "api.github.com", b"/", [])
    assert documented[r.code] == r.status
