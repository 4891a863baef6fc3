"""Fixtures for the pipelock conformance suite (see run.sh, which sets the environment).

The client (this pytest) runs in a container on a `bbconf-` Docker network with the upstream
server (upstream.py, network aliases for every test host). Each test starts the pipelock image
under test (the double or a real pipelock: BBCONF_IMAGE) with its own config through the Docker
socket, exactly like the product: create, `docker cp -` the config as a tar owned by 1000:1000,
start. Containers are labelled bot-bottle-test=bbconf and bbconf.run=<run id> and removed after
each test (run.sh sweeps the label too).
"""

from __future__ import annotations

import copy
import http.client
import json
import os
import random
import socket
import ssl
import time
import urllib.request

import pytest

from dockerapi import Docker

IMAGE = os.environ.get("BBCONF_IMAGE", "")
NETWORK = os.environ.get("BBCONF_NETWORK", "")
RUN = os.environ.get("BBCONF_RUN", "local")
CONTROL = os.environ.get("BBCONF_CONTROL", "http://upstream:9000")
CA_FILE = os.environ.get("BBCONF_CA", "/ca/test-ca.pem")
STREAM_SECONDS = float(os.environ.get("BBCONF_STREAM_SECONDS", "40"))
PORT = 8888

# Hosts served by the upstream container (network aliases set by run.sh).
ALLOWLIST = ["*.allowed.test", "api.anthropic.com", "statsig.anthropic.com", "internal.example"]
TRUSTED = ["*.allowed.test", "api.anthropic.com", "statsig.anthropic.com"]  # not internal.example

BASE = {
    "version": 1,
    "mode": "strict",
    "enforce": True,
    "api_allowlist": ALLOWLIST,
    "trusted_domains": TRUSTED,
    "forward_proxy": {"enabled": True},
    "logging": {"format": "json", "output": "stdout", "include_allowed": True,
                "include_blocked": True},
}


def rand_token(prefix, n, seed, alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"):
    rng = random.Random(seed)
    return prefix + "".join(rng.choice(alphabet) for _ in range(n))


# Real-format credentials (length and alphabet of Anthropic's): 108 characters.
API_KEY = rand_token("sk-ant-api03-", 93, 1) + "AA"
OAUTH_TOKEN = rand_token("sk-ant-oat01-", 93, 2) + "AA"
# A forwarded secret the agent holds (guarded): pipelock gets it by name (scan_env).
LEAK_TOKEN = "Lk7/Qz9+Wx2=Mv4-Pn8_Rt6.Sb3Hj5Kd"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6" * 3    # 40 chars, matches "GitHub Token" (core)


def merge(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def config(**over):
    return merge(BASE, over)


class Pipelock:
    def __init__(self, docker, cid, name):
        self.docker, self.cid, self.name = docker, cid, name

    def entries(self):
        out, _ = self.docker.logs(self.cid)
        items = []
        for line in out.splitlines():
            try:
                items.append(json.loads(line))
            except ValueError:
                pass
        return items

    def events(self, event, **match):
        return [e for e in self.entries() if e.get("event") == event
                and all(e.get(k) == v for k, v in match.items())]

    def wait_event(self, event, timeout=5.0, **match):
        end = time.monotonic() + timeout
        while True:
            found = self.events(event, **match)
            if found or time.monotonic() > end:
                return found
            time.sleep(0.2)

    def stderr(self):
        return self.docker.logs(self.cid)[1]

    def conn(self, timeout=60):
        return http.client.HTTPConnection(self.name, PORT, timeout=timeout)

    def request(self, method, url, body=None, headers=None, timeout=60):
        """An absolute-form request through pipelock; returns (status, headers, body)."""
        c = self.conn(timeout)
        c.request(method, url, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, r.getheaders(), data

    def raw(self, data, timeout=10):
        s = socket.create_connection((self.name, PORT), timeout=timeout)
        s.sendall(data)
        return s


@pytest.fixture(scope="session")
def docker():
    assert IMAGE and NETWORK, "run through tests/pipelock_conformance/run.sh"
    return Docker()


@pytest.fixture
def start(docker, request):
    made = []

    def run(cfg, env=None, expect_fail=False, image=None, cmd=None, extra_hosts=()):
        n = len(made)
        name = f"bbconf-pl-{RUN}-{abs(hash(request.node.nodeid)) % 10**8}-{n}"
        cid = docker.create(name, image or IMAGE, env=[f"{k}={v}" for k, v in (env or {}).items()],
                            cmd=cmd, network=NETWORK, extra_hosts=extra_hosts,
                            labels={"bot-bottle-test": "bbconf", "bbconf.run": RUN})
        made.append(cid)
        text = cfg if isinstance(cfg, (str, bytes)) else json.dumps(cfg, indent=2) + "\n"
        docker.put_file(cid, "/etc/pipelock", "pipelock.yaml",
                        text if isinstance(text, bytes) else text.encode())
        docker.start(cid)
        pl = Pipelock(docker, cid, name)
        if expect_fail:
            code = docker.wait_exit(cid, 20)
            return code, pl
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                with urllib.request.urlopen(f"http://{name}:{PORT}/health", timeout=2) as r:
                    if r.status == 200:
                        return pl
            except OSError:
                st = docker.inspect(cid)["State"]
                if not st["Running"]:
                    out, err = docker.logs(cid)
                    raise AssertionError(f"pipelock exited {st['ExitCode']}: {err}\n{out}")
            time.sleep(0.2)
        raise AssertionError(f"pipelock did not become healthy: {docker.logs(cid)}")

    yield run
    for cid in made:
        docker.remove(cid)


class Origin:
    def seen(self):
        with urllib.request.urlopen(CONTROL + "/__seen", timeout=10) as r:
            return json.load(r)["requests"]

    def reset(self):
        urllib.request.urlopen(urllib.request.Request(CONTROL + "/__reset", data=b"",
                                                      method="POST"), timeout=10).read()


@pytest.fixture
def origin():
    o = Origin()
    o.reset()
    return o


def tls_client_context():
    ctx = ssl.create_default_context(cafile=CA_FILE)
    return ctx


def header(headers, name):
    for k, v in headers:
        if k.lower() == name.lower():
            return v
    return None
