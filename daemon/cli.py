"""The `traderd` command line.

    traderd run --config FILE           run the daemon
    traderd check-config FILE           validate a config file (exit 0, or 2 with the error)
    traderd db upgrade --config FILE    bring the database to the newest schema
    traderd user add NAME --role ROLE   create a user (password from a prompt or a file)

Exit codes: 0 success, 1 runtime failure, 2 bad input (config, arguments).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from pathlib import Path

from daemon import __version__

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    return args.handler(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="traderd", description="A trading daemon.")
    parser.add_argument("--version", action="version", version=f"traderd {__version__}")
    commands = parser.add_subparsers(metavar="COMMAND")

    run = commands.add_parser("run", help="run the daemon")
    _add_config_option(run)
    run.set_defaults(handler=_run)

    check = commands.add_parser("check-config", help="validate a config file")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=_check_config)

    db = commands.add_parser("db", help="database maintenance").add_subparsers(metavar="ACTION")
    upgrade = db.add_parser("upgrade", help="apply the migrations up to the newest schema")
    _add_config_option(upgrade)
    upgrade.set_defaults(handler=_db_upgrade)

    user = commands.add_parser("user", help="manage users").add_subparsers(metavar="ACTION")
    add = user.add_parser("add", help="create a user")
    add.add_argument("username")
    add.add_argument("--role", choices=("admin", "trader", "viewer"), default="trader")
    add.add_argument("--email")
    add.add_argument("--full-name")
    add.add_argument(
        "--password-file", type=Path,
        help="read the password from this file (first line); otherwise prompt for it",
    )
    _add_config_option(add)
    add.set_defaults(handler=_user_add)
    return parser


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    default = os.environ.get("TRADERD_CONFIG")
    parser.add_argument(
        "--config", type=Path, default=Path(default) if default else None, required=default is None,
        help="the daemon's TOML file (default: $TRADERD_CONFIG)",
    )


def _load(path: Path):  # -> DaemonConfig, or None after printing the error
    from config.loader import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as error:
        print(f"traderd: {error}", file=sys.stderr)
        return None


def _run(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return EXIT_BAD_INPUT
    from daemon.logs import setup_logging
    from daemon.redact import SECRETS, config_secrets
    from daemon.service import run_daemon

    SECRETS.add(config_secrets(config))  # masked in every log line from here on
    setup_logging(config.logging.level, config.logging.format)
    return run_daemon(config, args.config)


def _check_config(args: argparse.Namespace) -> int:
    config = _load(args.file)
    if config is None:
        return EXIT_BAD_INPUT
    print(
        f"{args.file}: ok ({len(config.accounts)} accounts, {len(config.feeds)} feeds, "
        f"{len(config.bots)} bots)"
    )
    return EXIT_OK


def _db_upgrade(args: argparse.Namespace) -> int:
    config = _load(args.config)
    if config is None:
        return EXIT_BAD_INPUT
    engine = _migrated_engine(config)
    if engine is None:
        return EXIT_FAILURE
    from storage.migrate import current_revision

    print(f"database is at revision {current_revision(engine)}")
    engine.dispose()
    return EXIT_OK


def _user_add(args: argparse.Namespace) -> int:
    from api.auth.passwords import WeakPassword, check_strength, hash_password
    from storage.users import UserExists, create_user

    config = _load(args.config)
    if config is None:
        return EXIT_BAD_INPUT
    try:
        password = _read_password(args.password_file)
        check_strength(password)
    except (OSError, ValueError, WeakPassword) as error:
        print(f"traderd: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    engine = _migrated_engine(config)
    if engine is None:
        return EXIT_FAILURE
    try:
        user_id = create_user(
            engine,
            username=args.username,
            password_hash=hash_password(password),
            role=args.role,
            email=args.email,
            full_name=args.full_name,
        )
    except UserExists as error:
        print(f"traderd: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        engine.dispose()
    print(f"created {args.role} {args.username!r} ({user_id})")
    return EXIT_OK


def _read_password(path: Path | None) -> str:
    if path is not None:
        lines = path.read_text(encoding="utf-8").splitlines()
        if not lines or not lines[0]:
            raise ValueError(f"{path}: the first line must hold the password")
        return lines[0]
    if not sys.stdin.isatty():
        raise ValueError("no terminal to prompt for a password: use --password-file")
    password = getpass.getpass("Password: ")
    if password != getpass.getpass("Repeat password: "):
        raise ValueError("the passwords do not match")
    return password


def _migrated_engine(config):  # -> Engine | None
    from config.loader import database_url
    from storage.database import make_engine
    from storage.migrate import upgrade

    logging.basicConfig(level=logging.WARNING, format="traderd: %(message)s")
    engine = make_engine(database_url(config))
    try:
        upgrade(engine)
    except Exception as error:  # an unreachable database is an answer, not a crash
        print(f"traderd: cannot migrate {engine.url.render_as_string(hide_password=True)}: {error}", file=sys.stderr)
        engine.dispose()
        return None
    return engine
