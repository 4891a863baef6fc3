"""A git smart-HTTP host for the fake internet (loaded by origin.py; standard library only).

Serves GIT_HOSTS (git.allowed.test) through Debian git's own CGI, `git http-backend`
(clone, fetch and push; protocol v2 passed on through Git-Protocol; gzip'd request bodies
through HTTP_CONTENT_ENCODING). Every request needs HTTP Basic auth whose password is
git.password (and whose user name is git.username, when that is set; any user name
otherwise, like a token-as-password forge); else 401 with
`WWW-Authenticate: Basic realm="git.allowed.test"`. With no git.password configured
every request gets 401.

Repositories: git.repos (default ["repo.git"]) are created bare under a private root at
start and on POST /__git/reset, each with one commit on main (README.md; fixed author and
date, so its id is the same every time) and push enabled (http.receivepack).
URL: https://git.allowed.test/repo.git. GET /__git shows each repository's refs, its log
(all refs) and the files on main, so a test can check a push.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse

GIT_HOSTS = {"git.allowed.test"}
DEFAULTS = {"username": None, "password": None, "repos": ["repo.git"]}

README = b"# repo\n\nThe fake internet's git repository (tests/images/origin/git_server.py).\n"
IDENTITY = {
    "GIT_AUTHOR_NAME": "Fake Internet", "GIT_AUTHOR_EMAIL": "origin@allowed.test",
    "GIT_AUTHOR_DATE": "1700000000 +0000",
    "GIT_COMMITTER_NAME": "Fake Internet", "GIT_COMMITTER_EMAIL": "origin@allowed.test",
    "GIT_COMMITTER_DATE": "1700000000 +0000",
}


def serves(host: str) -> bool:
    return host in GIT_HOSTS


def check_basic(auth: str | None, cfg: dict) -> str | None:
    """The user name when Authorization carries the expected Basic credential, else None."""
    if cfg.get("password") is None or not auth or auth[:6].lower() != "basic ":
        return None
    try:
        user, sep, password = base64.b64decode(auth[6:].strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    if not sep or password != cfg["password"]:
        return None
    if cfg.get("username") and user != cfg["username"]:
        return None
    return user or "git"


class GitServer:
    def __init__(self, root: str | None = None):
        self.root = root or tempfile.mkdtemp(prefix="origin-git-")
        os.makedirs(self.root, exist_ok=True)
        self.lock = threading.Lock()

    def env(self, extra: dict | None = None) -> dict:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.root,                 # no user's ~/.gitconfig
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_COUNT": "1",           # the origin may run as another user than the repos' owner
            "GIT_CONFIG_KEY_0": "safe.directory",
            "GIT_CONFIG_VALUE_0": "*",
        }
        env.update(extra or {})
        return env

    def git(self, *args, cwd=None, data: bytes | None = None) -> str:
        out = subprocess.run(["git", *args], cwd=cwd or self.root, input=data, capture_output=True,
                             env=self.env(IDENTITY), check=True)
        return out.stdout.decode().strip()

    def init(self, repos: list[str]):
        """(Re)create the bare repositories, each with one commit on main."""
        with self.lock:
            for entry in os.listdir(self.root):
                shutil.rmtree(os.path.join(self.root, entry), ignore_errors=True)
            for name in repos:
                path = os.path.join(self.root, name)
                self.git("init", "-q", "--bare", "-b", "main", path)
                self.git("config", "http.receivepack", "true", cwd=path)
                blob = self.git("hash-object", "-w", "--stdin", cwd=path, data=README)
                tree = self.git("mktree", cwd=path, data=f"100644 blob {blob}\tREADME.md\n".encode())
                commit = self.git("commit-tree", tree, "-m", "initial commit", cwd=path)
                self.git("update-ref", "refs/heads/main", commit, cwd=path)

    def state(self) -> dict:
        repos = {}
        with self.lock:
            names = sorted(os.listdir(self.root))
            for name in names:
                path = os.path.join(self.root, name)
                refs = {}
                for line in self.git("for-each-ref", "--format=%(refname) %(objectname)", cwd=path).splitlines():
                    ref, _, sha = line.partition(" ")
                    refs[ref] = sha
                log = []
                if refs:
                    fmt = "--format=%H%x00%an%x00%ae%x00%s"
                    for line in self.git("log", "--all", fmt, cwd=path).splitlines():
                        sha, an, ae, subject = line.split("\x00", 3)
                        log.append({"sha": sha, "author": an, "email": ae, "subject": subject})
                files = (self.git("ls-tree", "-r", "--name-only", "refs/heads/main", cwd=path).splitlines()
                         if "refs/heads/main" in refs else [])
                repos[name] = {"refs": refs, "log": log, "files": files}
        return {"root": self.root, "repos": repos}

    def handle(self, h, path: str, query: str, body: bytes, cfg: dict, verbose=False):
        """Answer one request for a git host on handler h (body already read)."""
        user = check_basic(h.headers.get("Authorization"), cfg)
        if user is None:
            msg = b"authentication required\n"
            h.send_response(401)
            h.send_header("WWW-Authenticate", 'Basic realm="git.allowed.test"')
            h.send_header("Content-Type", "text/plain; charset=utf-8")
            h.send_header("Content-Length", str(len(msg)))
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(msg)
            return
        env = self.env({
            "GIT_PROJECT_ROOT": self.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REQUEST_METHOD": h.command,
            "PATH_INFO": urllib.parse.unquote(path),
            "QUERY_STRING": query,
            "CONTENT_TYPE": h.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user,
            "REMOTE_ADDR": h.client_address[0],
        })
        if h.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = h.headers["Git-Protocol"]
        if h.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = h.headers["Content-Encoding"]
        proc = subprocess.Popen(["git", "http-backend"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)

        def feed():
            try:
                proc.stdin.write(body)
            except OSError:
                pass
            finally:
                proc.stdin.close()

        errors = []
        threading.Thread(target=feed, daemon=True).start()
        threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True).start()
        status, headers = 200, []
        while True:
            line = proc.stdout.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").rstrip("\r\n").partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            else:
                headers.append((name, value.strip()))
        h.send_response(status)
        for name, value in headers:
            h.send_header(name, value)
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        while True:
            data = proc.stdout.read1(1 << 16)
            if not data:
                break
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()
        proc.wait()
        if verbose and (proc.returncode or any(errors)):
            sys.stderr.write(f"origin: git http-backend exit {proc.returncode}: {b''.join(errors)!r}\n")
