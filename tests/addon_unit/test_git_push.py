"""git push policy (git_push.py): the receive-pack request recognised, its pkt-line ref updates
read (as git 2.47 sends them: capabilities after NUL, push options, shallow lines, sha256 ids,
the 4-byte probe of a large push) and malformed bodies refused, each ref judged (patterns,
deletes, tags, names git would refuse), and the answer in git's own report-status format,
side-band or not, read back the way git reads it."""

import pytest

from bot_bottle_addon.config import ConfigError, parse_config
from bot_bottle_addon.git_push import PktError, parse_policy, parse_push, push_refusal
from bot_bottle_addon.rules import path_views
from samples import addon_config, addon_env

OLD = b"1c3f99485394740bc417973ef2a6a5414ec0c663"
NEW = b"2395dbc72c7cdba8ec561bef2046f69cd038de99"
ZERO = b"0" * 40
# The capabilities git 2.47.3 asked for in a push to `git http-backend` (captured).
CAPS = b" report-status-v2 side-band-64k quiet push-options object-format=sha1 agent=git/2.47.3"
PACK = b"PACK\x00\x00\x00\x02\x00\x00\x00\x01\x96\nx\x9c}\xcaK\x0eB!\x0c@"
PATH = "/repo.git/git-receive-pack"
TYPE = "application/x-git-receive-pack-request"


def pkt(payload: bytes) -> bytes:
    return b"%04x" % (len(payload) + 4) + payload


def body(*commands, caps=CAPS, options=(), pack=PACK, shallow=()):
    lines = [pkt(b"shallow " + s) for s in shallow]
    for i, (old, new, ref) in enumerate(commands):
        lines.append(pkt(old + b" " + new + b" " + ref + (b"\x00" + caps if i == 0 else b"")))
    lines.append(b"0000")
    if b"push-options" in caps and commands:
        lines += [pkt(o) for o in options] + [b"0000"]
    return b"".join(lines) + (pack if commands else b"")


# The exact body git 2.47.3 sent for `git push origin HEAD:refs/heads/agent/x v1 -o foo=bar`
# (captured from a local git http-backend), up to the pack's first bytes.
GIT_2_47_BODY = (
    b"00bf0000000000000000000000000000000000000000 2395dbc72c7cdba8ec561bef2046f69cd038de99 refs/heads/agent/x"
    b"\x00 report-status-v2 side-band-64k quiet push-options object-format=sha1 agent=git/2.47.3"
    b"00620000000000000000000000000000000000000000 1c3f99485394740bc417973ef2a6a5414ec0c663 refs/tags/v1"
    b"0000000bfoo=bar0000" + PACK)

POLICY = parse_policy({"rule": "git.push", "refs": ["refs/heads/agent/*"], "delete": False})


def test_a_real_push_body_is_read():
    push = parse_push(GIT_2_47_BODY)
    assert [(c.old, c.new, c.ref) for c in push.commands] == [
        (ZERO, NEW, b"refs/heads/agent/x"), (ZERO, OLD, b"refs/tags/v1")]
    assert push.capabilities == {"report-status-v2", "side-band-64k", "quiet", "push-options",
                                 "object-format=sha1", "agent=git/2.47.3"}
    assert push.push_options == (b"foo=bar",)
    assert GIT_2_47_BODY == body((ZERO, NEW, b"refs/heads/agent/x"), (ZERO, OLD, b"refs/tags/v1"),
                                 options=[b"foo=bar"]), "the test's own builder writes what git writes"


@pytest.mark.parametrize("name,data,refs", [
    ("update", body((OLD, NEW, b"refs/heads/main")), [b"refs/heads/main"]),
    ("delete-only, no pack", body((OLD, ZERO, b"refs/heads/x"), pack=b""), [b"refs/heads/x"]),
    ("three refs", body((ZERO, NEW, b"refs/heads/a"), (OLD, NEW, b"refs/heads/b"), (OLD, ZERO, b"refs/heads/c")),
     [b"refs/heads/a", b"refs/heads/b", b"refs/heads/c"]),
    ("no capabilities", body((OLD, NEW, b"refs/heads/a"), caps=b""), [b"refs/heads/a"]),
    ("LF-terminated lines", pkt(OLD + b" " + NEW + b" refs/heads/a\x00 report-status\n") + b"0000" + PACK,
     [b"refs/heads/a"]),
    ("shallow lines first", body((OLD, NEW, b"refs/heads/a"), shallow=[OLD, NEW]), [b"refs/heads/a"]),
    ("sha256 ids", body((b"a" * 64, b"b" * 64, b"refs/heads/a"), caps=b" report-status object-format=sha256"),
     [b"refs/heads/a"]),
    ("sha256 delete", body((b"a" * 64, b"0" * 64, b"refs/heads/a"), pack=b""), [b"refs/heads/a"]),
    ("the large-push probe", b"0000", []),
    ("upper-case length", b"00BF" + GIT_2_47_BODY[4:], [b"refs/heads/agent/x", b"refs/tags/v1"]),
])
def test_bodies_git_sends_are_read(name, data, refs):
    assert [c.ref for c in parse_push(data).commands] == refs


MALFORMED = [
    ("empty", b"", "empty"),
    ("not pkt-line", b"POST /x HTTP/1.1\r\n", "not a pkt-line length"),
    ("truncated length", b"00", "inside a pkt-line length"),
    ("length past the end", b"00ff" + OLD, "ends inside a pkt-line"),
    ("delim-pkt", b"0001", "delim/response-end"),
    ("response-end-pkt", b"0002", "delim/response-end"),
    ("length 3", b"0003", "delim/response-end"),
    ("no flush after the commands", pkt(OLD + b" " + NEW + b" refs/heads/a\x00 report-status"), "length"),
    ("two fields", body((OLD, NEW, b"")).replace(NEW + b" \x00", NEW + b"\x00"), "old-id new-id refname"),
    ("four fields", body((OLD, NEW, b"refs/heads/a b")), "old-id new-id refname"),
    ("short id", body((OLD[:39], NEW, b"refs/heads/a")), "old-id new-id refname"),
    ("upper-case id", body((OLD.upper(), NEW, b"refs/heads/a")), "old-id new-id refname"),
    ("mixed id lengths", body((b"a" * 64, NEW, b"refs/heads/a")), "old-id new-id refname"),
    ("NUL after the first command", body((OLD, NEW, b"refs/heads/a"), (OLD, NEW, b"refs/heads/b\x00x")),
     "a NUL in a command"),
    ("signed push", pkt(b"push-cert\x00 report-status\n") + pkt(b"certificate version 0.1\n"), "push-cert"),
    ("bad shallow", pkt(b"shallow xyz") + b"0000", "shallow"),
    ("not a pack after the commands", body((OLD, NEW, b"refs/heads/a"), pack=b"JUNK"), "other than a pack"),
    ("data after no commands", b"0000PACK", "after an empty command list"),
    ("non-ASCII capabilities", body((OLD, NEW, b"refs/heads/a"), caps=b" report-status \xff"), "not ASCII"),
    ("push options without their flush", pkt(OLD + b" " + NEW + b" refs/heads/a\x00" + CAPS) + b"0000" + pkt(b"x"),
     "ends inside a pkt-line length"),
]


@pytest.mark.parametrize("name,data,why", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_what_cannot_be_read_is_refused(name, data, why):
    with pytest.raises(PktError) as e:
        parse_push(data)
    assert why in str(e.value)
    r = push_refusal(POLICY, "POST", path_views(PATH.encode()), TYPE, data)
    assert r is not None and (r.status, r.code) == (403, "git_push")
    assert "its ref updates cannot be read" in r.text


def demux(payload: bytes) -> tuple[list[bytes], bytes]:
    """A side-band answer read as git reads it: (band-2 messages, band-1 data)."""
    pos, progress, data = 0, [], b""
    while True:
        n = int(payload[pos:pos + 4], 16)
        if n == 0:
            assert pos + 4 == len(payload), "nothing after the final flush"
            return progress, data
        band, chunk = payload[pos + 4], payload[pos + 5:pos + n]
        assert band in (1, 2), band
        if band == 1:
            data += chunk
        else:
            progress.append(chunk)
        pos += n


def pkt_lines(data: bytes) -> list[bytes | None]:
    out, pos = [], 0
    while pos < len(data):
        n = int(data[pos:pos + 4], 16)
        out.append(None if n == 0 else data[pos + 4:pos + n])
        pos += 4 if n == 0 else n
    return out


def refusal(data, policy=POLICY, method="POST", path=PATH, content_type=TYPE):
    return push_refusal(policy, method, path_views(path.encode()), content_type, data)


def test_a_push_to_main_is_answered_in_gits_report_status():
    r = refusal(body((OLD, NEW, b"refs/heads/main")))
    assert (r.status, r.code) == (200, "git_push")
    assert r.headers["Content-Type"] == "application/x-git-receive-pack-result"
    assert r.headers["X-Bot-Bottle-Block-Reason"] == "git_push"
    progress, status = demux(r.body)
    assert pkt_lines(status) == [
        b"unpack ok\n",
        b"ng refs/heads/main bot-bottle: refs/heads/main is not in git.push.refs (allowed: refs/heads/agent/*)\n",
        None]
    assert progress == [
        b"bot-bottle: refs/heads/main is not in git.push.refs (allowed: refs/heads/agent/*)\n",
        b"bot-bottle: nothing was pushed; push only what git.push allows: refs refs/heads/agent/*; "
        b"deleting refs not allowed\n"]
    assert r.logged == ("git_push", "blocked: bot-bottle: git push refused: refs/heads/main is not in git.push.refs "
                        "(allowed: refs/heads/agent/*); push only what git.push allows: refs refs/heads/agent/*; "
                        "deleting refs not allowed")


def test_one_refused_ref_refuses_the_whole_push_and_every_ref_is_answered():
    r = refusal(body((ZERO, NEW, b"refs/heads/agent/x"), (ZERO, OLD, b"refs/tags/v1"), (OLD, ZERO, b"refs/heads/agent/y")))
    _, status = demux(r.body)
    assert pkt_lines(status) == [
        b"unpack ok\n",
        b"ng refs/heads/agent/x bot-bottle: not sent: another ref in this push was refused\n",
        b"ng refs/tags/v1 bot-bottle: pushing tag refs/tags/v1 is not allowed (no pattern in git.push.refs matches "
        b"it; allowed: refs/heads/agent/*)\n",
        b"ng refs/heads/agent/y bot-bottle: deleting refs/heads/agent/y is not allowed (git.push.delete is false)\n",
        None]


@pytest.mark.parametrize("policy,commands,refused", [
    (POLICY, [(ZERO, NEW, b"refs/heads/agent/x")], None),
    (POLICY, [(OLD, NEW, b"refs/heads/agent/deep/er/x")], None),
    (POLICY, [(OLD, NEW, b"refs/heads/agent/a"), (ZERO, NEW, b"refs/heads/agent/b")], None),
    (POLICY, [(OLD, NEW, b"refs/heads/main")], "not in git.push.refs"),
    (POLICY, [(OLD, NEW, b"refs/heads/agentx")], "not in git.push.refs"),
    (POLICY, [(OLD, NEW, b"refs/heads/AGENT/x")], "not in git.push.refs"),
    (POLICY, [(OLD, NEW, b"refs/heads/Agent/x")], "not in git.push.refs"),
    (POLICY, [(OLD, ZERO, b"refs/heads/agent/x")], "deleting refs/heads/agent/x is not allowed"),
    (POLICY, [(ZERO, NEW, b"refs/tags/v1")], "pushing tag refs/tags/v1 is not allowed"),
    (POLICY, [(ZERO, NEW, b"refs/heads/agent/../main")], "not a ref name git accepts"),
    (POLICY, [(ZERO, NEW, b"refs/heads/agent/x.lock")], "not a ref name git accepts"),
    (POLICY, [(ZERO, NEW, b"refs/heads/agent/.x")], "not a ref name git accepts"),
    (POLICY, [(ZERO, NEW, b"refs/heads/agent/x/")], "not a ref name git accepts"),
    (POLICY, [(ZERO, NEW, b"refs/heads/agent//x")], "not a ref name git accepts"),
    (POLICY, [(ZERO, NEW, b"refs/heads/agent/x@{1}")], "not a ref name git accepts"),
    (POLICY, [(ZERO, NEW, b"refs/heads/agent/x*")], "not a ref name git accepts"),
    (POLICY, [(ZERO, NEW, b"HEAD")], "not a ref name git accepts"),
    (POLICY, [(ZERO, NEW, b"agent/x")], "not a ref name git accepts"),
    (parse_policy({"refs": ["refs/heads/agent/*"], "delete": True}), [(OLD, ZERO, b"refs/heads/agent/x")], None),
    (parse_policy({"refs": ["refs/heads/agent/*"], "delete": True}), [(OLD, ZERO, b"refs/heads/main")],
     "not in git.push.refs"),
    (parse_policy({"refs": ["refs/heads/agent/*", "refs/tags/agent-*"]}), [(ZERO, NEW, b"refs/tags/agent-1")], None),
    (parse_policy({"refs": ["refs/heads/agent/*", "refs/tags/agent-*"]}), [(ZERO, NEW, b"refs/tags/v1")],
     "pushing tag"),
    (parse_policy({"refs": ["refs/heads/main"]}), [(OLD, NEW, b"refs/heads/main")], None),
    (parse_policy({"refs": ["refs/heads/main"]}), [(OLD, NEW, b"refs/heads/mainline")], "not in"),
    (parse_policy({"refs": []}), [(OLD, NEW, b"refs/heads/agent/x")], "(allowed: none)"),
])
def test_each_ref_is_judged(policy, commands, refused):
    r = refusal(body(*commands), policy=policy)
    if refused is None:
        assert r is None
    else:
        assert r is not None and refused in r.text, r and r.text


def test_the_probe_of_a_large_push_passes():
    assert refusal(b"0000") is None


def test_without_side_band_the_report_is_plain_pkt_lines():
    r = refusal(body((OLD, NEW, b"refs/heads/main"), caps=b" report-status"))
    assert r.status == 200
    assert pkt_lines(r.body) == [
        b"unpack ok\n",
        b"ng refs/heads/main bot-bottle: refs/heads/main is not in git.push.refs (allowed: refs/heads/agent/*)\n",
        None]


def test_old_side_band_packets_stay_under_1000_bytes():
    long_ref = b"refs/heads/" + b"x" * 900
    r = refusal(body((OLD, NEW, long_ref), caps=b" report-status side-band"))
    progress, status = demux(r.body)
    pos = 0
    while pos < len(r.body):
        n = int(r.body[pos:pos + 4], 16)
        assert n <= 1000
        pos += n or 4
    assert long_ref in status


def test_a_client_that_asked_for_no_report_gets_the_plain_refusal():
    r = refusal(body((OLD, NEW, b"refs/heads/main"), caps=b" side-band-64k"))
    assert r.status == 403 and r.body.startswith(b"blocked: bot-bottle: git push refused: refs/heads/main")


@pytest.mark.parametrize("method,path,content_type,is_push", [
    ("POST", "/repo.git/git-receive-pack", TYPE, True),
    ("POST", "/repo.git/git-receive-pack", "", True),
    ("POST", "/org/repo/git-receive-pack/", "", True),
    ("POST", "/repo.git/GIT-RECEIVE-PACK", "", True),
    ("POST", "/repo.git/git%2Dreceive-pack", "", True),
    ("POST", "/repo.git/git-receive-pack?x=1", "", True),
    ("POST", "/repo.git/x/..//git-receive-pack", "", True),
    ("POST", "/repo.git%2fgit-receive-pack", "", True),
    ("PUT", "/repo.git/git-receive-pack", "", True),
    ("POST", "/somewhere", "application/x-git-receive-pack-request; charset=x", True),
    ("POST", "/a/%00", "", True),  # a path no server reads alike: may be a push
    ("GET", "/repo.git/git-receive-pack", "", False),
    ("GET", "/repo.git/info/refs?service=git-receive-pack", "", False),
    ("POST", "/repo.git/git-upload-pack", "application/x-git-upload-pack-request", False),
    ("POST", "/repo.git/git-receive-pack.txt", "", False),
])
def test_what_is_a_push(method, path, content_type, is_push):
    garbage = b"not a push body"
    r = refusal(garbage, method=method, path=path, content_type=content_type)
    assert (r is not None) is is_push


def test_no_policy_judges_nothing():
    assert push_refusal(None, "POST", path_views(PATH.encode()), TYPE, b"garbage") is None


BAD = [
    ("not-object", ["refs/heads/*"], "git_push: must be an object"),
    ("unknown-key", {"refs": [], "tags": True}, "git_push.tags: unknown key"),
    ("no-refs", {"delete": True}, "git_push.refs: must be a list"),
    ("not-under-refs", {"refs": ["heads/agent/*"]}, "git_push.refs[0]: must be a ref pattern under refs/"),
    ("bare-refs", {"refs": ["refs/"]}, "git_push.refs[0]"),
    ("space", {"refs": ["refs/heads/a b"]}, "git_push.refs[0]"),
    ("dots", {"refs": ["refs/heads/../x"]}, "git_push.refs[0]"),
    ("lock", {"refs": ["refs/heads/x.lock"]}, "git_push.refs[0]"),
    ("delete-string", {"refs": [], "delete": "no"}, "git_push.delete: must be true or false"),
]


@pytest.mark.parametrize("name,data,message", BAD, ids=[b[0] for b in BAD])
def test_bad_policies_are_refused_naming_the_field(name, data, message):
    with pytest.raises(ConfigError) as e:
        parse_config(addon_config(git_push=data), addon_env())
    assert str(e.value).startswith(message), (str(e.value), message)


def test_the_config_carries_the_policy():
    cfg = parse_config(addon_config(git_push={"rule": "git.push", "refs": ["refs/heads/agent/*"], "delete": False}),
                       addon_env())
    assert (cfg.git_push.refs, cfg.git_push.delete, cfg.git_push.rule) == (("refs/heads/agent/*",), False, "git.push")
    assert parse_config(addon_config(), addon_env()).git_push is None
    assert parse_config(addon_config(git_push=None), addon_env()).git_push is None


def test_the_refusal_is_in_the_documented_table():
    import re

    from conftest import REPO
    doc = (REPO / "docs" / "addon.md").read_text()
    table = doc[doc.index("## The addon's own refusals"):doc.index("## Behaviour")]
    documented = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\| `(\w+)` \| (\d+)", table, re.M)}
    r = refusal(body((OLD, NEW, b"refs/heads/main")))
    assert documented[r.code] == r.status == 200
    assert "403 (plain text) when the ref updates cannot be read" in table
