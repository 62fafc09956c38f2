"""The loader: bots.d files, environment overrides, the state directory, secrets, and errors."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest

from config.errors import ConfigError
from config.loader import database_url, load_config, resolve_state_dir
from config.schema import DaemonConfig, LiveAccountConfig

ACCOUNT = """
[[accounts]]
id = "paper"
exchange = "paper"
"""

LIVE_ACCOUNT = """
[[accounts]]
id = "binance"
exchange = "binance"
"""


def bot(bot_id: str, lower_price: str = "1.0") -> str:
    """A `[[bots]]` table for a small valid grid bot on the paper account."""
    return f"""
[[bots]]
id = "{bot_id}"
account = "paper"
symbol = "XRP/USDT"
strategy = "grid"

[bots.config]
lower_price = {lower_price}
upper_price = 1.2
grid_count = 10
order_amount = 10
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={} if environ is None else environ)
    assert "\n" not in str(caught.value)
    return caught.value


# bots.d


def test_bots_d_files_are_merged_after_the_main_file_by_name(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", ACCOUNT + bot("main"))
    write(tmp_path / "bots.d" / "20-b.toml", bot("b1") + bot("b2"))
    write(tmp_path / "bots.d" / "10-a.toml", bot("a"))
    write(tmp_path / "bots.d" / "notes.txt", "not a bot file")

    config = load_config(main, environ={})

    assert [b.id for b in config.bots] == ["main", "a", "b1", "b2"]


def test_bots_d_alone_defines_the_bots(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", ACCOUNT)
    write(tmp_path / "bots.d" / "xrp.toml", bot("xrp", lower_price='"1.05"'))

    (only,) = load_config(main, environ={}).bots

    assert only.id == "xrp" and only.config.lower_price == Decimal("1.05")


def test_error_in_a_bots_d_file_names_that_file_and_its_own_index(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", ACCOUNT + bot("main"))
    bad = write(tmp_path / "bots.d" / "eth.toml", bot("ok") + bot("bad", lower_price='"abc"'))

    error = load_error(main)

    assert error.file == bad
    assert error.key == "bots[1].config.lower_price"
    assert str(error) == f"{bad}: bots[1].config.lower_price: invalid decimal 'abc'"


def test_unknown_account_in_a_bots_d_file_names_that_file(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", ACCOUNT)
    bad = write(tmp_path / "bots.d" / "x.toml", bot("x").replace('account = "paper"', 'account = "papr"'))

    error = load_error(main)

    assert (error.file, error.key) == (bad, "bots[0].account")
    assert "did you mean 'paper'?" in error.problem


def test_duplicate_bot_id_across_main_file_and_bots_d_names_both_files(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", ACCOUNT + bot("other") + bot("xrp"))
    extra = write(tmp_path / "bots.d" / "xrp.toml", bot("xrp"))

    error = load_error(main)

    assert str(error) == f"{extra}: bots[0].id: duplicate bot id 'xrp' (first defined at bots[1] in {main})"


def test_duplicate_bot_id_across_two_bots_d_files(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", ACCOUNT)
    first = write(tmp_path / "bots.d" / "a.toml", bot("xrp"))
    second = write(tmp_path / "bots.d" / "b.toml", bot("eth") + bot("xrp"))

    error = load_error(main)

    assert (error.file, error.key) == (second, "bots[1].id")
    assert error.problem == f"duplicate bot id 'xrp' (first defined at bots[0] in {first})"


def test_bots_d_file_may_hold_only_bots(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", ACCOUNT)
    bad = write(tmp_path / "bots.d" / "x.toml", "[api]\nport = 1\n" + bot("x"))

    error = load_error(main)

    assert (error.file, error.key) == (bad, "api")
    assert "holds only [[bots]] tables" in error.problem


def test_toml_syntax_error_in_a_bots_d_file_names_that_file(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", ACCOUNT)
    bad = write(tmp_path / "bots.d" / "x.toml", "[[bots]]\nid = \n")

    error = load_error(main)

    assert error.file == bad and error.key == ""
    assert error.problem.startswith("invalid TOML: ") and "line 2" in error.problem


# Environment overrides


def test_env_overrides_parse_toml_values(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", "[api]\nport = 8000\n[logging]\nlevel = 'INFO'\n")
    environ = {
        "TRADERD_API__PORT": "8001",
        "TRADERD_DATABASE__URL": "postgresql://traderd@db.example/traderd",
        "TRADERD_DATABASE__ECHO": "true",
        "TRADERD_LOGGING__LEVEL": "debug",
        "TRADERD_SUPERVISOR__BACKOFF_MAX_S": "12.5",
        "TRADERD_JOURNAL__BATCH_SIZE": "20",
    }

    config = load_config(main, environ=environ)

    assert config.api.port == 8001
    assert config.database.url == "postgresql://traderd@db.example/traderd"
    assert database_url(config) == "postgresql://traderd@db.example/traderd"
    assert config.database.echo is True
    assert config.logging.level == "DEBUG"
    assert config.supervisor.backoff_max_s == 12.5
    assert config.journal.batch_size == 20


def test_text_fields_take_the_override_as_text(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", "")
    digits = "1234567890" * 4

    config = load_config(main, environ={"TRADERD_API__JWT_SECRET": digits, "TRADERD_API__HOST": "::1"})

    assert config.api.jwt_secret is not None and config.api.jwt_secret.get_secret_value() == digits
    assert config.api.host == "::1"


def test_invalid_override_value_names_the_variable(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", "[api]\nport = 8000\n")

    error = load_error(main, {"TRADERD_API__PORT": "abc"})

    assert str(error) == f"{main}: TRADERD_API__PORT: expected an integer, got 'abc'"


def test_override_of_an_unknown_key_names_the_variable(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", "")

    error = load_error(main, {"TRADERD_API__PROT": "8001"})

    assert error.key == "TRADERD_API__PROT"
    assert error.problem == "unknown key 'prot' in [api] (did you mean 'port'?)"


def test_override_of_an_unknown_section_names_the_variable(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", "")

    error = load_error(main, {"TRADERD_LOGING__LEVEL": "debug"})

    assert error.key == "TRADERD_LOGING__LEVEL"
    assert "unknown section 'loging' (did you mean 'logging'?)" in error.problem


def test_lists_cannot_be_overridden(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", ACCOUNT)

    error = load_error(main, {"TRADERD_ACCOUNTS__ID": "x"})

    assert error.key == "TRADERD_ACCOUNTS__ID" and "unknown section 'accounts'" in error.problem


def test_other_traderd_variables_are_no_overrides(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", "")

    environ = {"TRADERD_TEST_DATABASE_URL": "sqlite://", "TRADERD_ENCRYPTION_KEY": "k"}

    config = load_config(main, environ=environ)

    assert config.database.url is None


def test_traderd_jwt_secret_sets_the_api_secret(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", "")
    secret = "x" * 32

    config = load_config(main, environ={"TRADERD_JWT_SECRET": secret})

    assert config.api.jwt_secret is not None
    assert config.api.jwt_secret.get_secret_value() == secret
    assert secret not in repr(config)


def test_short_traderd_jwt_secret_is_an_error_without_its_value(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", "")

    error = load_error(main, {"TRADERD_JWT_SECRET": "hunter2"})

    assert str(error) == f"{main}: TRADERD_JWT_SECRET: must be at least 32 bytes long"


def test_secret_type_error_does_not_quote_the_value(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", "[api]\njwt_secret = 987654321\n")

    error = load_error(main)

    assert (error.key, error.problem) == ("api.jwt_secret", "expected a string")


# The state directory


def test_state_dir_in_the_file_is_relative_to_the_file(tmp_path: Path) -> None:
    main = write(tmp_path / "etc" / "traderd.toml", 'state_dir = "../state"\n')

    config = load_config(main, environ={"TRADERD_STATE_DIR": "/elsewhere"})

    assert config.state_dir == (tmp_path / "state").resolve()
    assert database_url(config) == f"sqlite:///{(tmp_path / 'state').resolve()}/traderd.sqlite3"


def test_traderd_state_dir_when_the_file_has_none(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", "")

    config = load_config(main, environ={"TRADERD_STATE_DIR": str(tmp_path / "s"), "STATE_DIRECTORY": "/x"})

    assert config.state_dir == (tmp_path / "s").resolve()


def test_systemd_state_directory_first_path(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", "")

    config = load_config(main, environ={"STATE_DIRECTORY": f"{tmp_path}/a:{tmp_path}/b"})

    assert config.state_dir == (tmp_path / "a").resolve()


def test_default_state_dir_is_var_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    main = write(tmp_path / "etc" / "traderd.toml", "")
    monkeypatch.chdir(tmp_path)

    config = load_config(main, environ={"TRADERD_STATE_DIR": ""})

    assert config.state_dir == tmp_path.resolve() / "var"


def test_resolve_state_dir_of_a_model_made_in_code(tmp_path: Path) -> None:
    config = DaemonConfig()

    assert config.state_dir is None
    assert resolve_state_dir(config, {"TRADERD_STATE_DIR": str(tmp_path)}) == tmp_path.resolve()
    url = database_url(config, {"STATE_DIRECTORY": str(tmp_path)})
    assert url == f"sqlite:///{tmp_path.resolve()}/traderd.sqlite3"


# Secrets of live accounts


def test_secrets_from_env_and_from_a_file(tmp_path: Path) -> None:
    write(tmp_path / "secrets" / "binance", "file-secret\n")
    main = write(
        tmp_path / "traderd.toml",
        LIVE_ACCOUNT
        + 'api_key_env = "BINANCE_KEY"\n'
        + 'api_secret_file = "secrets/binance"\n'
        + 'password_env = "BINANCE_PASSWORD"\n',
    )

    config = load_config(main, environ={"BINANCE_KEY": "env-key", "BINANCE_PASSWORD": "pw"})

    (account,) = config.accounts
    assert isinstance(account, LiveAccountConfig)
    assert account.api_key is not None and account.api_key.get_secret_value() == "env-key"
    assert account.api_secret is not None and account.api_secret.get_secret_value() == "file-secret"
    assert account.password is not None and account.password.get_secret_value() == "pw"
    assert account.api_secret_file == tmp_path / "secrets" / "binance"
    assert "env-key" not in repr(config) and "file-secret" not in repr(config)


def test_missing_secret_variable_names_key_and_variable(tmp_path: Path) -> None:
    main = write(
        tmp_path / "traderd.toml", LIVE_ACCOUNT + 'api_key_env = "BINANCE_KEY"\napi_secret_env = "BINANCE_SECRET"\n'
    )

    error = load_error(main, {"BINANCE_KEY": "the-key-value"})

    assert str(error) == f"{main}: accounts[0].api_secret_env: environment variable BINANCE_SECRET is not set"
    assert "the-key-value" not in str(error)


def test_empty_secret_variable_is_an_error(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", LIVE_ACCOUNT + 'api_key_env = "K"\napi_secret_env = "S"\n')

    error = load_error(main, {"K": "", "S": "s"})

    assert (error.key, error.problem) == ("accounts[0].api_key_env", "environment variable K is empty")


def test_missing_secret_file_is_an_error(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", LIVE_ACCOUNT + 'api_key_env = "K"\napi_secret_file = "nope"\n')

    error = load_error(main, {"K": "k"})

    assert error.key == "accounts[0].api_secret_file"
    assert error.problem == f"cannot read {tmp_path / 'nope'}: No such file or directory"


def test_secret_from_both_env_and_file_is_an_error(tmp_path: Path) -> None:
    main = write(
        tmp_path / "traderd.toml",
        LIVE_ACCOUNT + 'api_key_env = "K"\napi_key_file = "k"\napi_secret_env = "S"\n',
    )

    error = load_error(main, {"K": "k", "S": "s"})

    assert error.key == "accounts[0].api_key_file"
    assert error.problem == "give api_key_env or api_key_file, not both"


def test_live_account_needs_a_secret(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", LIVE_ACCOUNT + 'api_key_env = "K"\n')

    error = load_error(main, {"K": "k"})

    assert error.key == "accounts[0].api_secret_env"
    assert error.problem.startswith("required key missing")


def test_unknown_account_key_suggests_the_env_form(tmp_path: Path) -> None:
    main = write(tmp_path / "traderd.toml", LIVE_ACCOUNT + 'api_key_evn = "K"\n')

    error = load_error(main)

    assert error.problem == "unknown key 'api_key_evn' (did you mean 'api_key_env'?)"


# Files


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    error = load_error(tmp_path / "absent.toml")

    assert str(error) == f"{tmp_path / 'absent.toml'}: cannot read the file: No such file or directory"


def test_environ_defaults_to_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main = write(tmp_path / "traderd.toml", "")
    monkeypatch.setenv("TRADERD_API__PORT", "8123")

    assert os.environ["TRADERD_API__PORT"] == "8123"
    assert load_config(main).api.port == 8123
