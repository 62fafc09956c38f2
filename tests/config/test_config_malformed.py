"""Every file in `malformed/` fails to load with one line naming the file, the key and the problem.

Each file starts with two comment lines: `# expect: <text the error must contain>` and
`# key: <the key path the error must name>` (empty when the file is not TOML at all). The
tests of `traderd check-config` read the same files and the same `# expect:` line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from config.errors import ConfigError
from config.loader import load_config

MALFORMED = sorted((Path(__file__).parent / "malformed").glob("*.toml"))


def expectation(path: Path) -> tuple[str, str]:
    """The `# expect:` text and the `# key:` path of a malformed file."""
    first, second = path.read_text(encoding="utf-8").splitlines()[:2]
    assert first.startswith("# expect: ") and second.startswith("# key:"), f"{path.name} lacks its header"
    return first.removeprefix("# expect: "), second.removeprefix("# key:").strip()


def test_there_are_enough_malformed_files() -> None:
    assert len(MALFORMED) >= 12


@pytest.mark.parametrize("path", MALFORMED, ids=lambda path: path.stem)
def test_malformed_file_fails_with_one_line(path: Path) -> None:
    expected, key = expectation(path)

    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})

    error = caught.value
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert path.name in message
    assert expected in message
    assert "Traceback" not in message
    assert "s3cr3t" not in message  # the value of literal_secret.toml's api_secret
    assert error.file == path
    assert error.key == key
    if key:
        assert f": {key}: " in message
    assert message.endswith(error.problem)
