"""The import rules of DESIGN.md's rooms, checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Modules an API handler may import from actors/: messages and replies, never an actor.
API_MAY_IMPORT_FROM_ACTORS = {"actors.messages", "actors.reply", "actors.context"}


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name a file imports (`from a.b import c` gives a.b and a.b.c)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def sources(room: str) -> list[Path]:
    return sorted((ROOT / room).rglob("*.py"))


def top_level(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("path", sources("trading"), ids=lambda p: str(p.relative_to(ROOT)))
def test_trading_imports_no_threads_no_io_frameworks(path):
    forbidden = {"pykka", "tornado", "sqlalchemy", "alembic", "pydantic", "actors", "api", "storage", "daemon", "config"}
    relative = path.relative_to(ROOT).as_posix()
    if not relative.startswith("trading/venues/ccxt_venue/"):
        forbidden.add("ccxt")
    found = {name for name in imported_modules(path) if top_level(name) in forbidden}
    assert not found, f"{relative} imports {sorted(found)}"


@pytest.mark.parametrize("path", sources("api"), ids=lambda p: str(p.relative_to(ROOT)))
def test_api_never_imports_an_actor_to_call_it(path):
    from_actors = {
        name for name in imported_modules(path)
        if top_level(name) == "actors" and not any(
            name == allowed or name.startswith(allowed + ".") for allowed in API_MAY_IMPORT_FROM_ACTORS
        ) and name != "actors"
    }
    assert not from_actors, f"{path.relative_to(ROOT)} imports {sorted(from_actors)}"
    assert "pykka" not in {top_level(name) for name in imported_modules(path)}


@pytest.mark.parametrize("room,forbidden", [
    ("config", {"pykka", "tornado", "sqlalchemy", "ccxt", "actors", "api", "storage", "daemon"}),
    ("storage", {"pykka", "tornado", "ccxt", "actors", "api", "daemon"}),
    ("actors", {"tornado", "api", "daemon", "ccxt"}),
    ("api", {"ccxt"}),
    ("daemon", {"ccxt"}),
])
def test_other_rooms_keep_to_their_imports(room, forbidden):
    offenders = {
        str(path.relative_to(ROOT)): sorted(name for name in imported_modules(path) if top_level(name) in forbidden)
        for path in sources(room)
    }
    assert not {path: names for path, names in offenders.items() if names}


def test_the_rule_checker_sees_imports():
    """The checks above would pass vacuously if the parser found nothing."""
    found = imported_modules(ROOT / "actors" / "supervisor.py")
    assert {"pykka", "actors.bus", "actors.bus.EventBus"} <= found
