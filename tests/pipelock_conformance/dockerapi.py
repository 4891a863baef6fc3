"""A small Docker Engine API client (HTTP over the UNIX socket), standard library only.

The conformance client runs in a container on the test network and starts one pipelock
container per configuration through the engine's socket (mounted by run.sh), the same way the
product does: create, copy the config in as a tar (`docker cp -`), start.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import struct
import tarfile
import time
import urllib.parse

API = "/v1.41"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=120):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class DockerError(Exception):
    pass


class Docker:
    def __init__(self, sock="/var/run/docker.sock"):
        self.sock = sock

    def _req(self, method, path, body=None, params=None, ctype="application/json", timeout=120,
             ok=(200, 201, 204, 304)):
        conn = _UnixConnection(self.sock, timeout)
        url = API + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
        headers = {"Content-Type": ctype} if data is not None else {}
        conn.request(method, url, body=data, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        if resp.status not in ok:
            raise DockerError(f"{method} {path}: {resp.status} {raw[:500]!r}")
        return resp.status, raw

    def create(self, name, image, *, env=(), cmd=None, labels=None, network=None, aliases=(),
               user=None, extra_hosts=()):
        body = {"Image": image, "Env": list(env), "Labels": labels or {},
                "HostConfig": {"NetworkMode": network or "default"}}
        if extra_hosts:  # `docker run --add-host NAME:IP` (lines in the container's /etc/hosts)
            body["HostConfig"]["ExtraHosts"] = list(extra_hosts)
        if cmd is not None:
            body["Cmd"] = list(cmd)
        if user:
            body["User"] = user
        if network:
            body["NetworkingConfig"] = {"EndpointsConfig": {network: {"Aliases": list(aliases)}}}
        _, raw = self._req("POST", "/containers/create", body, {"name": name})
        return json.loads(raw)["Id"]

    def put_file(self, cid, directory, name, content: bytes, uid=1000, gid=1000, mode=0o644):
        """`docker cp -` of one file (numeric owner, like the product's tar)."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid, info.mtime = len(content), mode, uid, gid, 0
            tar.addfile(info, io.BytesIO(content))
        self._req("PUT", f"/containers/{cid}/archive", buf.getvalue(), {"path": directory},
                  ctype="application/x-tar")

    def start(self, cid):
        self._req("POST", f"/containers/{cid}/start")

    def inspect(self, cid):
        _, raw = self._req("GET", f"/containers/{cid}/json")
        return json.loads(raw)

    def kill(self, cid, signal="KILL"):
        self._req("POST", f"/containers/{cid}/kill", params={"signal": signal}, ok=(204, 409))

    def remove(self, cid):
        self._req("DELETE", f"/containers/{cid}", params={"force": "1", "v": "1"}, ok=(204, 404, 409))

    def wait(self, cid, timeout=60):
        _, raw = self._req("POST", f"/containers/{cid}/wait", timeout=timeout)
        return json.loads(raw)["StatusCode"]

    def logs(self, cid):
        """(stdout, stderr) as text; the stream is multiplexed (no TTY)."""
        _, raw = self._req("GET", f"/containers/{cid}/logs", params={"stdout": "1", "stderr": "1"})
        out, err, i = [], [], 0
        while i + 8 <= len(raw):
            stream, size = struct.unpack(">BxxxL", raw[i:i + 8])
            chunk = raw[i + 8:i + 8 + size]
            (out if stream == 1 else err).append(chunk)
            i += 8 + size
        return b"".join(out).decode("utf-8", "replace"), b"".join(err).decode("utf-8", "replace")

    def wait_exit(self, cid, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            st = self.inspect(cid)["State"]
            if not st["Running"] and st["Status"] in ("exited", "dead"):
                return st["ExitCode"]
            time.sleep(0.2)
        return None
