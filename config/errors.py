"""The one exception the config package raises, and the "did you mean" hint it often carries."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path


class ConfigError(Exception):
    """A config file, or an environment variable for it, that the daemon cannot use.

    `str(error)` is one line, `<file>: <key>: <problem>`, fit to print as it is and then exit;
    it never holds a traceback or a secret value. `key` is the dotted path of the key at fault
    (`bots[1].config.lower_price`), the name of the environment variable for an override, or
    empty when the file as a whole is at fault (it cannot be read or is not TOML).
    """

    def __init__(self, file: str | os.PathLike[str], key: str, problem: str) -> None:
        super().__init__(file, key, problem)
        self.file = Path(file)
        self.key = key
        self.problem = " ".join(problem.splitlines())

    def __str__(self) -> str:
        if self.key:
            return f"{self.file}: {self.key}: {self.problem}"
        return f"{self.file}: {self.problem}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'port'?)` for the choice nearest `word`, or "" when none is near."""
    matches = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {matches[0]!r}?)" if matches else ""
