"""Requests per second and p99 latency of an authenticated API read, next to a bare
Tornado JSON handler, in the same run with the same client.

The API side is the real daemon (`traderd run` on the paper config: actors, database,
bearer check, rate limiter, metrics) in a subprocess; the bare side is a subprocess with
one Tornado handler that answers the same bytes. The client is `wrk` (Debian package
`wrk`), its own process, so it never shares a server's interpreter lock; without wrk a
Python client runs in a process of its own (slower: the figures are then a floor).
Each side runs `--runs` times, alternating; the medians are printed, with the ratio.

    .venv/bin/python bench/api.py [--route /api/v1/bots/{id}] [--runs 5] [--seconds 5]
                                  [--connections 16]

`{id}` is the first bot of `GET /api/v1/bots`. Target: API >= 0.6 x bare req/s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "examples" / "paper.toml"
PASSWORD = "bench password 0123"


@dataclass(frozen=True)
class Run:
    requests_per_s: float
    p99_ms: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--route", default="/api/v1/bots/{id}", help="authenticated GET route ({id}: the first bot)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--body-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, Path(args.body_file).read_bytes())
        return

    with tempfile.TemporaryDirectory(prefix="traderd-bench-api-") as workdir:
        api_port, bare_port = free_port(), free_port()
        daemon = start_daemon(Path(workdir), api_port)
        bare = None
        try:
            token = log_in(api_port)
            path = resolve_route(api_port, args.route, token)
            headers = {"Authorization": f"Bearer {token}"}
            body = fetch(api_port, path, headers)
            body_file = Path(workdir) / "body.json"
            body_file.write_bytes(body)
            bare = subprocess.Popen(
                [sys.executable, __file__, "--serve-bare", str(bare_port), "--body-file", str(body_file)],
                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            )
            wait_for(lambda: fetch(bare_port, "/bare", {}) == body, "the bare server")
            client = "wrk" if shutil.which("wrk") else "python"
            print(f"route {args.route} -> GET {path} ({len(body)} bytes); client {client}, "
                  f"{args.connections} connections, {args.seconds} s x {args.runs} runs per side")
            api_runs, bare_runs = [], []
            for run in range(args.runs):
                api_runs.append(measure(client, api_port, path, headers, args))
                bare_runs.append(measure(client, bare_port, "/bare", {}, args))
                print(f"  run {run + 1}: api {api_runs[-1].requests_per_s:8.0f} req/s p99 {api_runs[-1].p99_ms:6.2f} ms"
                      f" | bare {bare_runs[-1].requests_per_s:8.0f} req/s p99 {bare_runs[-1].p99_ms:6.2f} ms")
            report(api_runs, bare_runs)
        finally:
            if bare is not None:
                bare.terminate()
                bare.wait(5)
            daemon.terminate()
            daemon.wait(15)


def report(api_runs: list[Run], bare_runs: list[Run]) -> None:
    api_rps = statistics.median(r.requests_per_s for r in api_runs)
    bare_rps = statistics.median(r.requests_per_s for r in bare_runs)
    api_p99 = statistics.median(r.p99_ms for r in api_runs)
    bare_p99 = statistics.median(r.p99_ms for r in bare_runs)
    print(f"median  api {api_rps:8.0f} req/s p99 {api_p99:6.2f} ms"
          f" | bare {bare_rps:8.0f} req/s p99 {bare_p99:6.2f} ms")
    ratio = api_rps / bare_rps if bare_rps else 0.0
    print(f"api / bare = {ratio:.2f} (target >= 0.6: {'met' if ratio >= 0.6 else 'NOT met'})")


# -- the two servers ---------------------------------------------------------------------


def start_daemon(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRADERD_")}
    env.update(
        TRADERD_STATE_DIR=str(workdir / "state"),
        TRADERD_API__PORT=str(port),
        TRADERD_LOGGING__LEVEL="WARNING",
        # Limits stay on (their cost is part of the figure) but far above the load.
        TRADERD_API__RATE_LIMIT_PER_MINUTE="1000000000",
    )
    password_file = workdir / "password"
    password_file.write_text(PASSWORD + "\n")
    subprocess.run(
        [sys.executable, "-m", "daemon", "user", "add", "bench", "--role", "admin",
         "--config", str(CONFIG), "--password-file", str(password_file)],
        env=env, cwd=ROOT, check=True, capture_output=True, timeout=60,
    )
    log = open(workdir / "traderd.log", "wb")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "daemon", "run", "--config", str(CONFIG)],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
    )
    wait_for(lambda: fetch(port, "/health/ready", {}) is not None, "the daemon to be ready", timeout=60)
    return daemon


def serve_bare(port: int, body: bytes) -> None:
    """One Tornado handler that answers `body` as JSON, with the same server settings."""
    import asyncio

    import tornado.httpserver
    import tornado.web

    class Bare(tornado.web.RequestHandler):
        def get(self) -> None:
            self.set_header("Content-Type", "application/json; charset=UTF-8")
            self.finish(body)

    async def run() -> None:
        server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/bare", Bare)]))
        server.listen(port, "127.0.0.1")
        await asyncio.Event().wait()

    asyncio.run(run())


def log_in(port: int) -> str:
    reply = json.loads(post(port, "/api/v1/auth/login", {"username": "bench", "password": PASSWORD}))
    return reply["access_token"]


def resolve_route(port: int, route: str, token: str) -> str:
    if "{id}" not in route:
        return route
    bots = json.loads(fetch(port, "/api/v1/bots", {"Authorization": f"Bearer {token}"}) or b"{}")
    items = bots.get("items") or []
    if not items:
        raise SystemExit(f"{route}: GET /api/v1/bots lists no bot to measure")
    return route.replace("{id}", items[0]["id"])


# -- the client ------------------------------------------------------------------------


def measure(client: str, port: int, path: str, headers: dict[str, str], args: argparse.Namespace) -> Run:
    if client == "wrk":
        return measure_wrk(port, path, headers, args)
    return measure_python(port, path, headers, args)


def measure_wrk(port: int, path: str, headers: dict[str, str], args: argparse.Namespace) -> Run:
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run(command + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                            check=True, timeout=args.seconds + 30).stdout
    if re.search(r"Non-2xx or 3xx responses", output):
        raise SystemExit(f"wrk saw errors on {path}:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output).groups()
    return Run(rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit])


def measure_python(port: int, path: str, headers: dict[str, str], args: argparse.Namespace) -> Run:
    """Keep-alive connections in threads, in a process of its own; prints its figures."""
    code = _PYTHON_CLIENT.format(port=port, path=path, headers=headers, connections=args.connections, seconds=args.seconds)
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            timeout=args.seconds + 30).stdout
    rps, p99 = map(float, output.split())
    return Run(rps, p99)


_PYTHON_CLIENT = """
import http.client, threading, time
latencies, stop = [], time.monotonic() + {seconds}
def worker():
    connection = http.client.HTTPConnection("127.0.0.1", {port})
    mine = []
    while time.monotonic() < stop:
        started = time.perf_counter()
        connection.request("GET", {path!r}, headers={headers!r})
        reply = connection.getresponse(); reply.read()
        assert reply.status == 200, reply.status
        mine.append(time.perf_counter() - started)
    latencies.extend(mine)
threads = [threading.Thread(target=worker) for _ in range({connections})]
[t.start() for t in threads]; [t.join() for t in threads]
latencies.sort()
print(len(latencies) / {seconds}, 1000 * latencies[int(0.99 * (len(latencies) - 1))])
"""


# -- plumbing --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(port: int, path: str, headers: dict[str, str]) -> bytes | None:
    try:
        with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers), timeout=5) as reply:
            return reply.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def post(port: int, path: str, body: dict) -> bytes:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return reply.read()


def wait_for(ready, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    raise SystemExit(f"gave up waiting for {what}")


if __name__ == "__main__":
    main()
