"""bot-bottle's port relay (`bottle run -p`): `python3 -c THIS ROLE HOST SPEC...`.

Each SPEC is `LISTEN=TARGET|TARGET...`: accept on LISTEN (a port on this container's own
address on the network it started on: never 0.0.0.0, so a network joined later does not
reach it) and copy bytes both ways to the first TARGET (`host:port`,
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


def own_address(role):
    """This container's address on the network it started on.

    The forwarder is on two networks once it has been started again: Docker then writes one
    /etc/hosts line per network in an order that changes from start to start (Go map
    order), and a forwarder that took the agent network's line listened where the published
    port does not lead. Its ports network is the only one with a gateway (the agent network
    is internal), so its address there is the source of its default route. The port relay
    lives in the agent's namespace, on the agent network alone: /etc/hosts has one line."""
    if role == "forwarder":
        return default_route_address()
    name = socket.gethostname()
    with open("/etc/hosts") as hosts:
        for line in hosts:
            fields = line.split("#")[0].split()
            if len(fields) > 1 and name in fields[1:] and ":" not in fields[0]:
                if not fields[0].startswith("127."):
                    return fields[0]
    sys.exit("port relay: /etc/hosts gives no address for " + name)


def default_route_address():
    """The source address of the default route (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: any address off every local network
        except OSError as e:
            sys.exit(f"port relay: no default route to listen on ({e})")
        return probe.getsockname()[0]


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
    address = own_address(role)
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
