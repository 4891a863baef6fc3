"""Fixtures for the tests of the fake internet (tests/fake_internet/, run by run.sh).

The origin is the built bot-bottle-test/origin image, in its own container on an internal
Docker network where it answers under every fake host name; these tests run in another
container on that network and reach it by those names, over HTTPS (the test CA at
$BOT_BOTTLE_TEST_CA) and plain HTTP. Control calls (/__config, /__seen, /__git, ...) go
over plain HTTP to allowed.test; they are never recorded.
"""

from __future__ import annotations

import json
import os
import secrets
import ssl
import string
import sys
import urllib.request
from pathlib import Path

import httpx
import pytest

REPO = Path(os.environ.get("BOT_BOTTLE_REPO", Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(REPO / "tests" / "images" / "origin"))

CA = os.environ.get("BOT_BOTTLE_TEST_CA", str(REPO / "target" / "test-images" / "test-ca.pem"))
HOSTS = os.environ.get("FAKE_INTERNET_HOSTS", "").split() or [
    "allowed.test", "denied.test", "other.allowed.test", "plain.test",
    "api.anthropic.com", "statsig.anthropic.com", "git.allowed.test"]
CONTROL = "http://allowed.test"
API = "https://api.anthropic.com"
GIT_URL = "https://git.allowed.test/repo.git"


def real_format_api_key() -> str:
    """An Anthropic API key of the real format and length (sk-ant-api03-, 93 chars, AA)."""
    alphabet = string.ascii_letters + string.digits + "-_"
    return "sk-ant-api03-" + "".join(secrets.choice(alphabet) for _ in range(93)) + "AA"


def real_format_git_token() -> str:
    """A GitHub-style fine-grained token (github_pat_ + 82 chars)."""
    alphabet = string.ascii_letters + string.digits + "_"
    return "github_pat_" + "".join(secrets.choice(alphabet) for _ in range(82))


class Control:
    def call(self, method: str, path: str, obj=None) -> tuple[int, object]:
        data = None if obj is None else json.dumps(obj).encode()
        req = urllib.request.Request(CONTROL + path, method=method, data=data)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def config(self, **sections) -> dict:
        status, body = self.call("POST", "/__config", sections)
        assert status == 200, body
        return body

    def seen(self, **filters) -> dict:
        q = "&".join(f"{k}={v}" for k, v in filters.items())
        return self.call("GET", "/__seen" + ("?" + q if q else ""))[1]

    def git(self) -> dict:
        return self.call("GET", "/__git")[1]


@pytest.fixture(scope="session")
def control() -> Control:
    return Control()


@pytest.fixture(scope="session")
def api_key() -> str:
    return real_format_api_key()


@pytest.fixture(scope="session")
def git_token() -> str:
    return real_format_git_token()


@pytest.fixture(autouse=True)
def fresh_origin(control, api_key, git_token):
    """Before each test: settings back to the start config plus this session's API key
    and git token, records forgotten, the git repository back to its one commit."""
    assert control.call("DELETE", "/__config")[0] == 200
    control.config(api={"keys": [api_key]}, git={"password": git_token})
    assert control.call("POST", "/__reset")[0] == 200
    assert control.call("POST", "/__git/reset")[0] == 200
    yield


@pytest.fixture
def tls() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=CA)


@pytest.fixture
def http(tls):
    with httpx.Client(verify=tls, timeout=120, trust_env=False) as c:
        yield c
