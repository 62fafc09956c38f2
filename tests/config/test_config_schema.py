"""The schema's rules: number types, grid geometry, defaults, and checks across the file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from config.errors import ConfigError
from config.loader import load_config
from config.schema import DaemonConfig, GridConfig, LiveAccountConfig

SIMPLE = "lower_price = 1\nupper_price = 2\ngrid_count = 5\norder_amount = 1"
"""A valid `[bots.config]`."""

HEAD = """
[[accounts]]
id = "paper"
exchange = "paper"

[[feeds]]
id = "xrp"
source = "random_walk"
symbol = "XRP/USDT"
start_price = "1.1"
"""


def grid_file(tmp_path: Path, config: str, bot_extra: str = "", head: str = HEAD) -> Path:
    """A config file with one grid bot whose `[bots.config]` is `config`."""
    path = tmp_path / "traderd.toml"
    path.write_text(
        head
        + f"""
[[bots]]
id = "xrp-grid"
account = "paper"
symbol = "XRP/USDT"
strategy = "grid"
{bot_extra}
[bots.config]
{config}
""",
        encoding="utf-8",
    )
    return path


def load_grid(tmp_path: Path, config: str) -> GridConfig:
    return load_config(grid_file(tmp_path, config), environ={}).bots[0].config


def grid_error(tmp_path: Path, config: str, bot_extra: str = "", head: str = HEAD) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(grid_file(tmp_path, config, bot_extra, head), environ={})
    return caught.value


def test_decimals_from_numbers_strings_and_integers(tmp_path: Path) -> None:
    grid = load_grid(
        tmp_path,
        'lower_price = 0.1\nupper_price = "0.30"\ngrid_count = 4\norder_amount = 7\nstop_loss_price = "1e-2"',
    )
    decimals = (grid.lower_price, grid.upper_price, grid.order_amount, grid.stop_loss_price)

    assert grid.lower_price == Decimal("0.1") and str(grid.lower_price) == "0.1"
    assert str(grid.upper_price) == "0.30"
    assert grid.order_amount == Decimal(7)
    assert grid.stop_loss_price == Decimal("0.01")
    assert all(type(value) is Decimal for value in decimals)


def test_toml_floats_are_parsed_as_decimals_not_floats(tmp_path: Path) -> None:
    # A float would drop the trailing zero and the digits past its 17th.
    grid = load_grid(
        tmp_path, "lower_price = 1.050\nupper_price = 2\ngrid_count = 4\norder_amount = 0.1000000000000000000001"
    )

    assert str(grid.lower_price) == "1.050"
    assert grid.order_amount == Decimal("0.1000000000000000000001")


@pytest.mark.parametrize("text", ['"Infinity"', "inf", '"NaN"'])
def test_non_finite_decimals_are_errors(tmp_path: Path, text: str) -> None:
    error = grid_error(tmp_path, f"lower_price = {text}\nupper_price = 2\ngrid_count = 4\norder_amount = 1")

    assert error.key == "bots[0].config.lower_price"
    assert error.problem.startswith("expected a finite number")


def test_float_fields_take_decimals_but_not_booleans(tmp_path: Path) -> None:
    path = tmp_path / "traderd.toml"
    path.write_text("[supervisor]\nbackoff_initial_s = 0.25\nrestart_window_s = 90\n", encoding="utf-8")
    supervisor = load_config(path, environ={}).supervisor
    assert (supervisor.backoff_initial_s, supervisor.restart_window_s) == (0.25, 90.0)

    path.write_text("[supervisor]\nsweep_interval_s = true\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value).endswith("supervisor.sweep_interval_s: expected a number, got true")


def test_integer_fields_refuse_decimals(tmp_path: Path) -> None:
    path = tmp_path / "traderd.toml"
    path.write_text("[api]\nport = 8000.0\n", encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})

    assert caught.value.problem == "expected an integer, got 8000.0"


def test_spacing_defaults_to_geometric_with_a_percentage(tmp_path: Path) -> None:
    grid = load_grid(
        tmp_path, "lower_price = 1\nupper_price = 1.21\nprice_change_percent = 10\ntotal_investment = 100"
    )

    assert grid.spacing == "geometric"
    assert grid.intervals == 2  # 1.1 ** 2 == 1.21 exactly: the top level is upper_price itself


def test_spacing_defaults_to_arithmetic_with_a_count(tmp_path: Path) -> None:
    grid = load_grid(tmp_path, "lower_price = 1\nupper_price = 2\ngrid_count = 5\norder_amount = 1")

    assert (grid.spacing, grid.intervals) == ("arithmetic", 5)


def test_explicit_spacing_is_kept(tmp_path: Path) -> None:
    grid = load_grid(
        tmp_path,
        'lower_price = 1\nupper_price = 2\nprice_change_percent = 5\nspacing = "arithmetic"\norder_amount = 1',
    )

    assert grid.spacing == "arithmetic"


def test_intervals_from_a_percentage_follow_grid_md() -> None:
    # GRID.md: 50,000,000 to 70,000,000 at 2% gives 16 intervals (not seed 001's 24).
    grid = GridConfig(
        lower_price=Decimal(50_000_000),
        upper_price=Decimal(70_000_000),
        price_change_percent=Decimal(2),
        order_amount=Decimal(1),
    )

    assert grid.intervals == 16


def test_a_percentage_too_wide_for_the_range_is_an_error(tmp_path: Path) -> None:
    error = grid_error(
        tmp_path, "lower_price = 1\nupper_price = 1.05\nprice_change_percent = 10\norder_amount = 1"
    )

    assert error.key == "bots[0].config.price_change_percent"
    assert error.problem == "gives 0 intervals from lower_price to upper_price; a grid needs 2 to 500"


def test_take_profit_must_be_above_stop_loss(tmp_path: Path) -> None:
    error = grid_error(tmp_path, SIMPLE + "\nstop_loss_price = 1.5\ntake_profit_price = 1.2")

    assert error.key == "bots[0].config.stop_loss_price"
    assert error.problem == "must be below take_profit_price (1.2)"


def test_bot_defaults(tmp_path: Path) -> None:
    config = load_config(grid_file(tmp_path, SIMPLE), environ={})

    (bot,) = config.bots
    assert bot.name == "xrp-grid"
    assert bot.feed is None
    assert bot.auto_start is True
    assert (bot.on_stop.cancel_orders, bot.on_stop.sell_base) == (True, False)
    assert bot.config.stop_at_max is False and bot.config.sell_base_on_stop is False


def test_bot_name_and_on_stop_from_the_file(tmp_path: Path) -> None:
    config = load_config(
        grid_file(tmp_path, SIMPLE, 'name = "My grid"\nauto_start = false\n[bots.on_stop]\nsell_base = true\n'),
        environ={},
    )

    (bot,) = config.bots
    assert (bot.name, bot.auto_start) == ("My grid", False)
    assert (bot.on_stop.sell_base, bot.on_stop.cancel_orders) == (True, True)


def test_unknown_feed_is_an_error(tmp_path: Path) -> None:
    error = grid_error(tmp_path, SIMPLE, 'feed = "xrpp"\n')

    assert (error.key, error.problem) == ("bots[0].feed", "unknown feed 'xrpp' (did you mean 'xrp'?)")


def test_bot_on_a_live_account_cannot_use_a_simulated_feed(tmp_path: Path) -> None:
    live = 'exchange = "binance"\napi_key_env = "K"\napi_secret_env = "S"'
    path = grid_file(tmp_path, SIMPLE, 'feed = "xrp"\n', HEAD.replace('exchange = "paper"', live))

    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"K": "k", "S": "s"})

    assert caught.value.key == "bots[0].feed"
    assert "is simulated" in caught.value.problem


def test_logging_level_and_format_ignore_case(tmp_path: Path) -> None:
    path = tmp_path / "traderd.toml"
    path.write_text('[logging]\nlevel = "warning"\nformat = "JSON"\n', encoding="utf-8")

    logging = load_config(path, environ={}).logging

    assert (logging.level, logging.format) == ("WARNING", "json")


def test_models_are_frozen() -> None:
    config = DaemonConfig()

    with pytest.raises(ValidationError):
        config.api.port = 1  # type: ignore[misc]


def test_live_account_made_in_code_takes_secrets_directly() -> None:
    account = LiveAccountConfig(
        id="kraken", exchange="kraken", api_key=SecretStr("k"), api_secret=SecretStr("s")
    )

    assert account.api_secret is not None and account.api_secret.get_secret_value() == "s"
    assert account.sandbox is False and account.urls == {}


def test_pydantic_errors_hide_inputs() -> None:
    with pytest.raises(ValidationError) as caught:
        DaemonConfig.model_validate({"api": {"jwt_secret": "short-secret-value"}})

    assert "short-secret-value" not in str(caught.value)
