"""The accounts handlers import ccxt (over half a second) off the IOLoop.

ccxt is imported once per process, and the test process has it already, so each case
runs in a fresh interpreter: a real API on loopback and a real SQLite database, with a
`sys.meta_path` finder that notes, for each heavy module, whether the thread importing it
was running an event loop (the IOLoop) or not (an executor thread).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r'''
import asyncio, json, sys, urllib.error, urllib.request

HEAVY = ("ccxt", "trading.venues.ccxt_venue.venue", "trading.venues.ccxt_venue.key_check")
imported_on_loop = {}


class ImportWitness:
    """Notes where each heavy module is first imported; finds nothing itself."""

    def find_spec(self, name, path=None, target=None):
        if name in HEAVY and name not in imported_on_loop:
            try:
                asyncio.get_running_loop()
                imported_on_loop[name] = True
            except RuntimeError:
                imported_on_loop[name] = False
        return None


sys.meta_path.insert(0, ImportWitness())

from storage.database import make_engine, sqlite_url
from storage.migrate import upgrade
from tests.api.auth_helpers import access_token, add_user, serve

assert not [name for name in HEAVY if name in sys.modules], "ccxt was loaded before the request"
engine = make_engine(sqlite_url(sys.argv[1]))
upgrade(engine)
add_user(engine, "ada", "trader")
server = serve(engine)
try:
    token = access_token(server, "ada")
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{sys.argv[2]}", sys.argv[3].encode(),
        {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            status = reply.status
    except urllib.error.HTTPError as error:
        status = error.code
finally:
    server.close()
print(json.dumps({"status": status, "imported_on_loop": imported_on_loop}))
'''

CLOSED_PORT = "http://127.0.0.1:9"  # the key check fails at once; nothing leaves the machine


def live_body(exchange: str) -> dict[str, object]:
    return {"name": "live", "exchange": exchange, "api_key": "key-0123456789", "api_secret": "secret-0123456789",
            "urls": {"all": CLOSED_PORT}}


@pytest.mark.parametrize(("path", "body", "status", "modules"), [
    pytest.param("/api/v1/accounts", live_body("coinspot"), 422,
                 {"ccxt", "trading.venues.ccxt_venue.venue"}, id="create-lacking"),
    pytest.param("/api/v1/accounts/validate", live_body("binance"), 503,
                 {"ccxt", "trading.venues.ccxt_venue.venue", "trading.venues.ccxt_venue.key_check"},
                 id="validate-key-check"),
])
def test_the_first_live_account_request_imports_ccxt_off_the_ioloop(tmp_path, path, body, status, modules):
    state = tmp_path / "state"
    state.mkdir()
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(state), path, json.dumps(body)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    answer = json.loads(run.stdout.strip().splitlines()[-1])

    assert answer["status"] == status, answer
    assert set(answer["imported_on_loop"]) >= modules, answer  # the request did import them
    assert [name for name, on_loop in answer["imported_on_loop"].items() if on_loop] == [], answer
