"""The hint pipelock's allowlist blocks gain (bot_bottle_addon/allowlist_hint.py)."""

from bot_bottle_addon.allowlist_hint import blocked_host, hint_text


def test_an_allowlist_block_names_the_host_and_the_command():
    text = "blocked: domain not in allowlist: registry.npmjs.org\n"
    assert blocked_host(text) == "registry.npmjs.org"
    out = hint_text(text, "0123456789abcdef")
    assert out == ("blocked: domain not in allowlist: registry.npmjs.org\n"
                   "bot-bottle: registry.npmjs.org is not on this bottle's allowlist; the person running "
                   "the bottle can allow it with: bottle allow-host 0123456789abcdef registry.npmjs.org\n")
    assert len(out) < 250, "short enough for a model to relay"
    redirect = "blocked: redirect blocked: domain not in allowlist: evil.example\n"
    assert "bottle allow-host 0123456789abcdef evil.example" in hint_text(redirect, "0123456789abcdef")


def test_other_answers_and_an_unknown_bottle_pass_unchanged():
    for text in ("blocked: request body contains secret: GitHub Token\n", "forward proxy fetch failed\n",
                 "hello\n", "blocked: domain not in allowlist: \n"):
        assert hint_text(text, "0123456789abcdef") is None, text
    assert hint_text("blocked: domain not in allowlist: x.example\n", None) is None
