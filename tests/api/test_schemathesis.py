"""Property-based checks of the whole served API with schemathesis, against the real
daemon (paper config, real actors and database) and an admin's token: no answer is a
5xx, and every answer fits the OpenAPI document (status, content type, headers, body),
for valid requests and for requests that break the schema (which must get a documented
4xx).

Slow (a daemon and some thousand requests): `.venv/bin/python -m pytest -m slow
tests/api/test_schemathesis.py`. `TRADERD_SCHEMATHESIS_EXAMPLES` sets the examples per
operation (default 25).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
import sys
import urllib.request
from pathlib import Path

import pytest
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.daemon_process import DaemonProcess

PASSWORD = "correct horse battery"
EXAMPLES = int(os.environ.get("TRADERD_SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Not HTTP operations a fuzzer can call: the WebSocket upgrade has its own tests.
SKIPPED_PATHS = ("/ws", "/api/v1/ws")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    workdir = tmp_path_factory.mktemp("schemathesis")
    # The limits have their own tests; here they would only turn generated cases into 429s.
    process = DaemonProcess(workdir, env={
        "TRADERD_API__RATE_LIMIT_PER_MINUTE": "0",
        "TRADERD_API__AUTH_RATE_LIMIT_PER_MINUTE": "0",
        "TRADERD_API__BOT_CREATE_RATE_LIMIT_PER_HOUR": "0",
    })
    password_file = workdir / "password"
    password_file.write_text(PASSWORD + "\n")
    subprocess.run(
        [sys.executable, "-m", "daemon", "user", "add", "root", "--role", "admin",
         "--config", str(process.config), "--password-file", str(password_file)],
        env=process.env, cwd=workdir, check=True, capture_output=True, timeout=60,
    )
    process.start()
    process.wait_healthy(timeout=20)
    yield process
    process.kill()
    _report_errors(process.log_path)


@pytest.fixture(scope="module")
def admin_headers(daemon: DaemonProcess) -> dict[str, str]:
    body = json.dumps({"username": "root", "password": PASSWORD}).encode()
    request = urllib.request.Request(daemon.url("/api/v1/auth/login"), body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return {"Authorization": f"Bearer {json.loads(reply.read())['access_token']}"}


@pytest.mark.slow
def test_no_5xx_and_every_answer_fits_the_document(daemon, admin_headers):
    schema = schemathesis.openapi.from_url(daemon.url("/api/v1/openapi.json"))
    failures: dict[str, str] = {}
    tested = 0
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED_PATHS:
            continue
        tested += 1

        @given(case=st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck),
                  phases=[Phase.explicit, Phase.generate])  # no shrinking: the report names a failing case already
        def check(case) -> None:
            response = case.call_and_validate(base_url=daemon.url(""), headers=admin_headers, checks=CHECKS, timeout=15)
            statuses[response.status_code] += 1

        try:
            check()
        except (Exception, BaseExceptionGroup) as error:  # every operation runs; failures are reported together
            failures[f"{operation.method.upper()} {operation.path}"] = str(error)[:3000]
    print(f"schemathesis: {tested} operations, up to {EXAMPLES} examples each; statuses {sorted(statuses.items())}")
    assert tested >= 10, "the document lists the auth, health and metrics operations at least"
    assert not failures, "\n\n".join(f"== {name}\n{text}" for name, text in failures.items())


def _report_errors(log_path: Path) -> None:
    """Print the daemon's ERROR lines (tracebacks of 500s), for whoever reads the run."""
    if log_path.exists():
        for line in log_path.read_text(errors="replace").splitlines():
            if '"level": "ERROR"' in line or '"levelname": "ERROR"' in line:
                print(line[:2000])
