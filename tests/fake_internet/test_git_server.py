"""The git smart-HTTP host (tests/images/origin/git_server.py): clone, commit, push and
fetch over HTTPS with the expected Basic credential, directly and through a TLS-intercepting
proxy (a plain mitmdump), refused without it."""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import CA, GIT_URL, real_format_git_token

MITMDUMP = "/opt/mitmproxy/bin/mitmdump"


def git(*args, cwd=None, env=None, check=True) -> subprocess.CompletedProcess:
    e = {"PATH": "/usr/bin:/bin", "HOME": str(cwd or "/tmp"), "GIT_SSL_CAINFO": CA,
         "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1",
         "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
         "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}
    e.update(env or {})
    out = subprocess.run(["git", *args], cwd=cwd, env=e, capture_output=True, text=True, timeout=120)
    if check:
        assert out.returncode == 0, f"git {args}: {out.stderr}"
    return out


def with_cred(user: str, token: str) -> str:
    return GIT_URL.replace("https://", f"https://{user}:{token}@")


def test_clone_commit_push_fetch_with_the_credential(tmp_path, git_token, control):
    url = with_cred("x-access-token", git_token)
    a = tmp_path / "a"
    git("clone", "-q", url, str(a))
    assert (a / "README.md").exists()
    assert git("log", "--format=%s", cwd=a).stdout.split("\n")[0] == "initial commit"
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=a).stdout.strip() == "main"
    (a / "work.txt").write_text("done in a test\n")
    git("add", "work.txt", cwd=a)
    git("commit", "-q", "-m", "add work", cwd=a)
    head = git("rev-parse", "HEAD", cwd=a).stdout.strip()
    git("push", "-q", "origin", "main", cwd=a)

    state = control.git()["repos"]["repo.git"]
    assert state["refs"]["refs/heads/main"] == head
    assert state["files"] == ["README.md", "work.txt"]
    assert state["log"][0]["subject"] == "add work" and state["log"][0]["email"] == "test@example.com"

    b = tmp_path / "b"
    git("clone", "-q", url, str(b))
    git("fetch", "-q", "origin", cwd=b)
    assert git("rev-parse", "origin/main", cwd=b).stdout.strip() == head

    # The server saw the credential on every request after the first challenge.
    reqs = control.seen(host="git.allowed.test")["requests"]
    expect = "Basic " + base64.b64encode(f"x-access-token:{git_token}".encode()).decode()
    auths = [dict((k.lower(), v) for k, v in r["headers"]).get("authorization") for r in reqs]
    assert expect in auths
    assert {a for a in auths if a} == {expect}
    assert any("git-receive-pack" in r["path"] for r in reqs)


def test_refused_without_or_with_a_wrong_credential(tmp_path, git_token, http):
    r = http.get(GIT_URL + "/info/refs?service=git-upload-pack")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Basic realm="git.allowed.test"'
    for url in (GIT_URL, with_cred("x-access-token", real_format_git_token()),
                with_cred("someone-else", git_token)):
        out = git("clone", "-q", url, str(tmp_path / "x"), check=False)
        assert out.returncode != 0
        assert "Authentication failed" in out.stderr or "could not read Username" in out.stderr, out.stderr
        assert not (tmp_path / "x").exists()


def test_push_refused_without_the_credential(tmp_path, git_token, control):
    a = tmp_path / "a"
    git("clone", "-q", with_cred("x-access-token", git_token), str(a))
    (a / "f").write_text("x\n")
    git("add", "f", cwd=a)
    git("commit", "-q", "-m", "x", cwd=a)
    git("remote", "set-url", "origin", GIT_URL, cwd=a)
    assert git("push", "-q", "origin", "main", cwd=a, check=False).returncode != 0
    assert control.git()["repos"]["repo.git"]["files"] == ["README.md"]


def test_any_user_name_when_none_is_configured(tmp_path, git_token, control):
    control.config(git={"username": None})
    git("clone", "-q", with_cred("anybody", git_token), str(tmp_path / "a"))


def test_git_reset_restores_the_one_commit(tmp_path, git_token, control):
    before = control.git()["repos"]["repo.git"]["refs"]["refs/heads/main"]
    a = tmp_path / "a"
    git("clone", "-q", with_cred("x-access-token", git_token), str(a))
    git("commit", "-q", "--allow-empty", "-m", "empty", cwd=a)
    git("push", "-q", "origin", "main", cwd=a)
    assert control.git()["repos"]["repo.git"]["refs"]["refs/heads/main"] != before
    status, state = control.call("POST", "/__git/reset")
    assert status == 200 and state["repos"]["repo.git"]["refs"]["refs/heads/main"] == before


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def proxy(tmp_path):
    """A TLS-intercepting proxy (plain mitmdump, no addon) that trusts the test CA upstream."""
    if not os.path.exists(MITMDUMP):
        pytest.skip("no mitmdump here")
    port, conf = free_port(), tmp_path / "mitm"
    log = (tmp_path / "mitm.log").open("w")
    p = subprocess.Popen([MITMDUMP, "--listen-host", "127.0.0.1", "--listen-port", str(port),
                          "--set", f"confdir={conf}", "--set", f"ssl_verify_upstream_trusted_ca={CA}",
                          "-q"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.1)
    yield {"url": f"http://127.0.0.1:{port}", "ca": str(conf / "mitmproxy-ca-cert.pem")}
    p.terminate()
    p.wait(10)


def test_clone_and_push_through_a_tls_intercepting_proxy(tmp_path, git_token, control, proxy):
    env = {"HTTPS_PROXY": proxy["url"], "GIT_SSL_CAINFO": proxy["ca"]}
    a = tmp_path / "a"
    git("clone", "-q", with_cred("x-access-token", git_token), str(a), env=env)
    (a / "via-proxy.txt").write_text("through mitmproxy\n")
    git("add", ".", cwd=a)
    git("commit", "-q", "-m", "via proxy", cwd=a)
    git("push", "-q", "origin", "main", cwd=a, env=env)
    assert "via-proxy.txt" in control.git()["repos"]["repo.git"]["files"]
    # it really went through the proxy: the origin's peer is this container either way,
    # so check the proxy's CA was the one git had to trust
    out = git("ls-remote", with_cred("x-access-token", git_token), cwd=a,
              env={"HTTPS_PROXY": proxy["url"]}, check=False)  # test CA only: mitmproxy's cert fails
    assert out.returncode != 0 and "certificate" in out.stderr.lower(), out.stderr
    shutil.rmtree(a)
