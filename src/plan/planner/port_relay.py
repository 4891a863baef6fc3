"""bot-bottle's port relay (`bottle run -p`): `python3 -c THIS ROLE HOST SPEC...`.

Each SPEC is `LISTEN=TARGET|TARGET...`: accept on LISTEN (a port on this container's own
address, the one /etc/hosts gives its hostname: never 0.0.0.0, so a network joined later
does not reach it) and copy bytes both ways to the first TARGET (`host:port`,
`[v6]:port`, or a bare port on HOST) that accepts. Targets are fixed here: nothing a client sends chooses where
a connection goes, so the relay is no proxy. A target that refuses closes the client at
once (bottle's host probe reads that as "not answering yet"). One JSON line per event on
stdout: `listening`, then `connection` with the bytes each way (the exit report sums
them). Standard library only.
"""

import asyncio
import json
import socket
import sys

CHUNK = 65536
CONNECT_TIMEOUT = 5
MAX_CONNECTIONS = 64


def say(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def own_address():
    """This container's address on the network it started on (docker's /etc/hosts line)."""
    name = socket.gethostname()
    with open("/etc/hosts") as hosts:
        for line in hosts:
            fields = line.split("#")[0].split()
            if len(fields) > 1 and name in fields[1:] and ":" not in fields[0]:
                if not fields[0].startswith("127."):
                    return fields[0]
    sys.exit("port relay: /etc/hosts gives no address for " + name)


def target(text, default_host):
    host, _, port = text.rpartition(":")
    return (host.strip("[]") or default_host), int(port)


async def pump(reader, writer, counts, key):
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            counts[key] += len(data)
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        pass


async def connect(targets):
    for host, port in targets:
        # A name is looked up for IPv4 only: an AAAA question for a container's name
        # would go to the resolver that answers nothing and hold the client for seconds.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(host, port, family=family), CONNECT_TIMEOUT
            )
        except (OSError, asyncio.TimeoutError):
            continue
    return None


def serve(listen, targets, limit):
    async def handle(reader, writer):
        counts = {"in": 0, "out": 0}
        if limit.locked():
            writer.close()
            return
        async with limit:
            inner = await connect(targets)
            if inner is None:
                writer.transport.abort()
                return
            up = asyncio.ensure_future(pump(reader, inner[1], counts, "in"))
            down = asyncio.ensure_future(pump(inner[0], writer, counts, "out"))
            await asyncio.gather(up, down)
            for w in (writer, inner[1]):
                w.close()
            say("connection", listen=listen, bytes_in=counts["in"], bytes_out=counts["out"])

    return handle


async def reachable(targets):
    """Waits until the first target accepts: the forwarder is joined to the agent network
    after it starts, and must not accept a client before it can reach the relay (a client
    held while a connection hangs looks like a server that answers)."""
    host, port = targets[0]
    while True:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1)
            writer.close()
            return
        except (OSError, asyncio.TimeoutError):
            await asyncio.sleep(0.2)


async def main(role, host, specs):
    address = own_address()
    limit = asyncio.Semaphore(MAX_CONNECTIONS)
    if role == "forwarder":
        first = specs[0].partition("=")[2].split("|")
        await reachable([target(t, host) for t in first])
    servers = []
    for spec in specs:
        listen, _, targets = spec.partition("=")
        listen = int(listen)
        handle = serve(listen, [target(t, host) for t in targets.split("|")], limit)
        servers.append(await asyncio.start_server(handle, address, listen, reuse_address=True))
        say("listening", role=role, address=address, listen=listen, targets=targets)
    with open("/tmp/bot-bottle-relay.ready", "w") as ready:
        ready.write(address)
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
