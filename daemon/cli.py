"""The `traderd` command line (filled in by the daemon foundation work)."""


def main(argv: list[str] | None = None) -> int:
    raise NotImplementedError
