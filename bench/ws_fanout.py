"""WebSocket fan-out: deliveries a second from one bus topic to N subscribed clients.

The server runs in a process of its own: an `EventBus`, a `RelayActor`, the
`RelayOutlet` and the API's Tornado app (`/ws`, the real hub). The clients run in
`--client-procs` other processes: each opens its share of the N connections (a real
WebSocket handshake and real frames, with a minimal reader that counts frames, so the
figure is the server's, not a Python client's parsing), subscribes to `account:bench`,
and reports when it has every message. Then the server publishes `--messages`
`BalanceUpdated` events on the account's topic, in bursts, as an exchange actor does;
each reaches every client through the relay (one JSON text per message, written to all N).

deliveries/s = N x messages / (time from the first publish to the last client's last frame).

    .venv/bin/python bench/ws_fanout.py [--clients 100 500] [--messages 400] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SECRET = "bench-secret-of-at-least-32-bytes-0123456789"
ACCOUNT = "bench"
BURST = 50


# -- the server process ---------------------------------------------------------------------


def serve(conn: Any, queue_size: int) -> None:
    """The server: answers the port, then publishes on request until told to stop."""
    import threading

    import pykka
    import tornado.httpserver
    import tornado.netutil

    from actors.bus import EventBus
    from actors.directory import ActorDirectory
    from actors.relay import RelayActor
    from actors.topics import account_topic
    from api.app import make_app
    from api.auth.tokens import TokenIssuer
    from api.context import ApiContext
    from api.ws.client import WsLimits
    from api.ws.outlet import RelayOutlet
    from trading.events import BalanceUpdated

    bus = EventBus()
    outlet = RelayOutlet()
    relay = RelayActor.start(name="relay", bus=bus, directory=ActorDirectory(), outlet=outlet.push, account_ids=(ACCOUNT,))
    limits = WsLimits(max_connections=5000, max_connections_per_user=5000, queue_size=queue_size, write_timeout_s=60)
    context = ApiContext(version="bench", tokens=TokenIssuer(SECRET), ws_outlet=outlet, ws_limits=limits)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    conn.send(sockets[0].getsockname()[1])

    def publisher() -> None:
        topic = account_topic(ACCOUNT)
        while True:
            command = conn.recv()
            if command is None:
                break
            for index in range(command):
                bus.publish(topic, BalanceUpdated(account_id=ACCOUNT, asset="USDT", free=Decimal(index), locked=Decimal("0")))
                if index % BURST == BURST - 1:
                    time.sleep(0.001)  # bursts, as exchanges answer
        relay.stop()
        pykka.ActorRegistry.stop_all()
        os._exit(0)

    async def main() -> None:
        server = tornado.httpserver.HTTPServer(make_app(context))
        server.add_sockets(sockets)
        threading.Thread(target=publisher, daemon=True).start()
        await asyncio.Event().wait()

    asyncio.run(main())


# -- the client processes -------------------------------------------------------------------


async def _client(port: int, token: str, expect: int, ready: asyncio.Event) -> float:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    writer.write(_masked(json.dumps({"type": "subscribe", "channels": [f"account:{ACCOUNT}"]}).encode()))
    buffer = bytearray()
    subscribed = False
    count = 0
    while True:
        chunk = await reader.read(1 << 16)
        if not chunk:
            raise ConnectionError(f"closed after {count} of {expect}")
        buffer += chunk
        position = 0
        while len(buffer) - position >= 2:
            length = buffer[position + 1] & 0x7F
            header = 2
            if length == 126:
                if len(buffer) - position < 4:
                    break
                length = int.from_bytes(buffer[position + 2:position + 4], "big")
                header = 4
            elif length == 127:
                if len(buffer) - position < 10:
                    break
                length = int.from_bytes(buffer[position + 2:position + 10], "big")
                header = 10
            end = position + header + length
            if end > len(buffer):
                break
            if buffer[position] & 0x0F == 0x8:
                raise ConnectionError(f"closed by the server: {bytes(buffer[position + header:end])!r}")
            if subscribed:
                count += 1
            elif b'"subscribed"' in buffer[position + header:end]:
                subscribed = True
                ready.set()
            position = end
        del buffer[:position]
        if count >= expect:
            done = time.time()
            writer.close()
            return done


def _masked(payload: bytes) -> bytes:
    mask = os.urandom(4)
    header = bytes([0x81, 0x80 | len(payload)]) if len(payload) < 126 else bytes([0x81, 0xFE]) + len(payload).to_bytes(2, "big")
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def clients(conn: Any, port: int, tokens: list[str], expect: int) -> None:
    """One client process: `len(tokens)` connections; says "ready", then the last done time."""

    async def main() -> None:
        readies = [asyncio.Event() for _ in tokens]
        tasks = [asyncio.ensure_future(_client(port, token, expect, ready)) for token, ready in zip(tokens, readies)]
        await asyncio.wait_for(asyncio.gather(*(ready.wait() for ready in readies)), 60)
        conn.send("ready")
        done = await asyncio.wait_for(asyncio.gather(*tasks), 300)
        conn.send(max(done))

    asyncio.run(main())


# -- the orchestra -------------------------------------------------------------------------


def run_once(n_clients: int, messages: int, client_procs: int) -> float:
    from api.auth.tokens import TokenIssuer

    spawn = multiprocessing.get_context("spawn")
    server_end, server_conn = spawn.Pipe()
    server = spawn.Process(target=serve, args=(server_conn, messages + 100), daemon=True)
    server.start()
    port = server_end.recv()
    issuer = TokenIssuer(SECRET)
    tokens = [issuer.access_token(f"user-{i}", "admin").token for i in range(n_clients)]
    shares = [tokens[i::client_procs] for i in range(client_procs)]
    procs = []
    for share in shares:
        mine, theirs = spawn.Pipe()
        process = spawn.Process(target=clients, args=(theirs, port, share, messages), daemon=True)
        process.start()
        procs.append((process, mine))
    for _, pipe in procs:
        assert pipe.recv() == "ready"
    started = time.time()
    server_end.send(messages)
    finished = max(pipe.recv() for _, pipe in procs)
    server_end.send(None)
    for process, _ in procs:
        process.join(10)
    server.join(10)
    return n_clients * messages / (finished - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--messages", type=int, default=400, help="messages published per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--client-procs", type=int, default=2)
    args = parser.parse_args()
    print(f"WebSocket fan-out: {args.messages} messages to N clients on one channel, "
          f"{args.client_procs} client processes, median of {args.runs} runs (cpus: {os.cpu_count()})")
    for n in args.clients:
        rates = [run_once(n, args.messages, args.client_procs) for _ in range(args.runs)]
        print(f"  {n:>5} clients: {statistics.median(rates):>10,.0f} deliveries/s  (runs: "
              + ", ".join(f"{rate:,.0f}" for rate in rates) + ")", flush=True)


if __name__ == "__main__":
    main()
