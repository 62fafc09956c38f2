"""`/api/v1/accounts`: exchange accounts and their credentials.

Credentials are sealed (AES-256-GCM, bound to the account id and field) here, before the
`AccountCreated`/`AccountChanged` event leaves for the journal, so neither the events
table nor the projection ever holds them in clear, and no response repeats them. Writes
are journaled events; a 201/200 comes after the journal's `Flush` confirmed the commit.

Every account gets its exchange actor at once (`api.account_control`): a paper account is
ready when created; an account on a ccxt exchange connects with its stored keys, and is
`connected` once its exchange answered (its bots can run from then on). `/test` and
`/validate` check keys with the exchange by a balance fetch (`ccxt_venue.key_check`, a
client of its own, run in the executor: it blocks).

ccxt takes over half a second to import and is imported on first use: everything that may
import it (the exchange ids, the capability check, the key check) runs in the executor, so
the first live account of a daemon does not freeze the IOLoop.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from actors.messages import AccountBalances, Flush, GetAccountBalances
from api.bridge import ActorUnavailable
from api.endpoint import endpoint
from api.errors import ApiError
from api.schemas.accounts import (
    AccountBalanceOut,
    AccountCreate,
    AccountListQuery,
    AccountOut,
    AccountPatch,
    AccountPositionsOut,
    AccountTestOut,
    AccountValidate,
    BalanceOut,
    HoldingOut,
    ValuationQuery,
    account_out,
)
from api.schemas.common import Page
from api.scope import ScopedHandler
from storage.accounts import AccountRecord, api_live_accounts, bots_of_account, get_account, list_accounts, name_taken
from storage.sealing import SealingError, encode_sealed
from trading.account_events import AccountChanged, AccountCreated, AccountDeleted, AccountValidated
from trading.messages import Event, new_id
from trading.venues.ccxt_venue import CcxtSettings
from trading.venues.ccxt_venue.catalog import exchange_ids

if TYPE_CHECKING:
    from trading.venues.ccxt_venue.key_check import KeyCheck

logger = logging.getLogger(__name__)

PAPER = "paper"
TAGS = ("accounts",)
CHECK_TIMEOUT_MS = 10_000
CONNECT_WAIT_S = 5.0
"""How long creating a live account waits for its exchange before answering `connected: false`."""


def key_hint(api_key: str) -> str:
    """`****` and the key's last four characters (only `****` for a key under 8)."""
    return "****" + (api_key[-4:] if len(api_key) >= 8 else "")


def _invalid(loc: list[str], message: str) -> ApiError:
    return ApiError(422, "VALIDATION_ERROR", message, {"errors": [{"loc": loc, "msg": message}]})


def live_exchange_problem(exchange: str) -> str | None:
    """Why an account cannot trade on `exchange` (unknown to ccxt, or lacking a call the
    venue needs), or None: the check a config-file account gets at boot
    (`wiring.account_markets`). Blocking: imports ccxt on first use."""
    if exchange not in exchange_ids():
        return f"unknown exchange {exchange!r}: use 'paper' or a ccxt exchange id"
    from trading.venues.ccxt_venue import unsupported_reason  # loads the venue and ccxt

    return unsupported_reason(exchange)


def check_keys_blocking(settings: CcxtSettings) -> KeyCheck:
    """The key check with its import (the venue, ccxt) in the same executor thread; 503
    when the exchange could not judge the keys."""
    from trading.venues.ccxt_venue.key_check import ExchangeUnreachable, check_keys

    try:
        return check_keys(settings)
    except ExchangeUnreachable as error:
        raise ApiError(503, "EXCHANGE_UNAVAILABLE", f"{settings.exchange} could not check the keys: {error}") from None


class AccountBase(ScopedHandler):
    """Loading a visible account, committing events, reaching its exchange actor."""

    async def visible_account(self, account_id: str) -> AccountRecord:
        """The account if the caller may see it: their own, or any for an admin. Another
        user's account is not found, not forbidden (its existence is not revealed)."""
        record = await self.in_executor(get_account, self._engine(), account_id)
        if record is None or (self.owner is not None and record.owner_id != self.owner):
            raise ApiError(404, "ACCOUNT_NOT_FOUND", f"no account {account_id}")
        return record

    async def writable_account(self, account_id: str) -> AccountRecord:
        record = await self.visible_account(account_id)
        if record.source == "config":
            raise ApiError(409, "CONFLICT", f"account {account_id} is defined in a config file: change it there")
        return record

    async def commit(self, event: Event) -> None:
        """Tell the journal `event` and wait until it is committed."""
        gateway = self.context.actors if self.context is not None else None
        if gateway is None or not gateway.tell(gateway.journal, event):
            raise ApiError(503, "ACTOR_UNAVAILABLE", "the journal is not running")
        try:
            await gateway.ask_or_fail(gateway.journal, lambda reply: Flush(reply=reply))
        except ApiError:
            raise
        except Exception:
            raise ApiError(
                503, "ACTOR_UNAVAILABLE",
                "the database did not take the change yet; the journal keeps it and retries",
            ) from None

    async def connect(self, account_id: str) -> None:
        """Connect a live account's exchange actor; a failure to start is logged, and the
        account shows `connected: false` (the next daemon start tries again)."""
        assert self.context is not None and self.context.accounts is not None
        try:
            await self.context.accounts.connect_live_account(account_id, CONNECT_WAIT_S)
        except Exception as error:
            logger.error("account %s: its exchange actor did not start: %s", account_id, error)

    def exchange_actor(self, account_id: str) -> str | None:
        assert self.context is not None
        control = self.context.accounts
        name = control.exchange_actor(account_id) if control is not None else None
        if name is None and self.context.actors is not None:
            name = self.context.actors.exchanges.get(account_id)
        return name

    async def exchange_balances(self, record: AccountRecord) -> AccountBalances:
        """The balances the account's exchange actor holds now (a live one's as of its last
        poll of the exchange)."""
        name = self.exchange_actor(record.id)
        gateway = self.context.actors if self.context is not None else None
        if name is None or gateway is None:
            raise ApiError(503, "EXCHANGE_UNAVAILABLE", f"the exchange of account {record.id} is not connected")
        try:
            return await gateway.ask(name, lambda reply: GetAccountBalances(reply=reply))
        except asyncio.TimeoutError:
            raise ApiError(504, "ACTOR_TIMEOUT", f"{name} did not answer within {gateway.timeout_s:g} s") from None
        except ActorUnavailable:
            raise ApiError(503, "EXCHANGE_UNAVAILABLE", f"the exchange of account {record.id} is not connected") from None
        except RuntimeError as error:  # not restored yet
            raise ApiError(503, "EXCHANGE_UNAVAILABLE", str(error)) from None

    async def check_live_exchange(self, exchange: str) -> None:
        """422 on `exchange` when an account cannot trade there (off the loop: ccxt)."""
        problem = await self.in_executor(live_exchange_problem, exchange)
        if problem is not None:
            raise _invalid(["body", "exchange"], problem)

    async def live_check(self, settings: CcxtSettings) -> KeyCheck:
        """Check keys with the exchange (a balance fetch, off the loop); 503 when it could
        not judge them. The keys never reach a response or a log line."""
        self.protect(settings.api_key, settings.secret, settings.password)
        return await self.in_executor(check_keys_blocking, settings)

    async def stored_check(self, record: AccountRecord) -> KeyCheck:
        """`live_check` with the account's own (unsealed) keys and URLs."""
        found = await self.in_executor(api_live_accounts, self._engine(), record.id)
        if not found:
            raise _invalid(["path", "account_id"], f"account {record.id} has no stored keys"
                           " (a config-file account's keys stay in the daemon's environment)")
        assert self.context is not None
        if self.context.sealer is None:
            raise ApiError(503, "ENCRYPTION_KEY_MISSING", "this daemon has no encryption key, so it cannot open"
                           " the account's keys")
        try:
            settings = found[0].ccxt_settings(self.context.sealer, timeout_ms=CHECK_TIMEOUT_MS)
        except SealingError:
            raise ApiError(503, "ENCRYPTION_KEY_MISSING", f"the keys of account {record.id} do not open"
                           " with this daemon's encryption key") from None
        return await self.live_check(settings)

    def out(self, record: AccountRecord) -> AccountOut:
        assert self.context is not None
        control = self.context.accounts
        if control is not None:
            return account_out(record, connected=control.connected(record.id))
        return account_out(record, connected=self.exchange_actor(record.id) is not None)

    def _engine(self) -> Any:
        if self.context is None or self.context.engine is None:
            raise RuntimeError(f"{type(self).__name__} needs a database")
        return self.context.engine

    def seal(self, account_id: str, clear: dict[str, str | None]) -> dict[str, str | None]:
        """`<field>_sealed` for each credential given; 503 without an encryption key."""
        assert self.context is not None
        if not any(clear.values()):
            return {}
        if self.context.sealer is None:
            raise ApiError(503, "ENCRYPTION_KEY_MISSING", "this daemon has no encryption key (TRADERD_ENCRYPTION_KEY),"
                           " so it cannot store exchange credentials")
        return {
            f"{name}_sealed": encode_sealed(self.context.sealer.seal(value, account_id, name))
            for name, value in clear.items() if value is not None
        }

    def protect(self, *values: str | None) -> None:
        control = self.context.accounts if self.context is not None else None
        if control is not None:
            control.protect([value for value in values if value])


class AccountsHandler(AccountBase):
    """`/accounts`: list and create."""

    @endpoint("List exchange accounts", query=AccountListQuery, response=Page[AccountOut], tags=TAGS)
    async def get(self) -> None:
        """The caller's accounts (an admin's: all, config-file accounts too), oldest first."""
        query = self.parse_query(AccountListQuery)
        records, total = await self.in_executor(
            lambda: list_accounts(self._engine(), self.owner, exchange=query.exchange, limit=query.limit, offset=query.offset)
        )
        self.write_model(Page[AccountOut](
            items=[self.out(record) for record in records], total=total, limit=query.limit, offset=query.offset,
        ))

    @endpoint(
        "Add an exchange account", body=AccountCreate, response=AccountOut, status=201,
        errors=("CONFLICT", "ENCRYPTION_KEY_MISSING", "EXCHANGE_UNAVAILABLE", "ACTOR_UNAVAILABLE", "ACTOR_TIMEOUT"),
        tags=TAGS,
    )
    async def post(self) -> None:
        """Credentials are sealed before they leave this handler. A paper account's
        exchange starts at once with its `initial_balances`; an account on a ccxt exchange
        connects with its keys (`connected: true` once the exchange answered: within a few
        seconds, or later; `POST /accounts/{id}/test` tells why it does not). An exchange
        ccxt lacks a call for that traderd needs (`createOrder`, `fetchOpenOrders`, ...) is a
        422 naming it, as it stops the boot for a config-file account."""
        body = self.parse_body(AccountCreate)
        assert self.context is not None
        clear = {name: getattr(body, name).get_secret_value() if getattr(body, name) else None
                 for name in ("api_key", "api_secret", "password")}
        if body.exchange == PAPER:
            for name, value in clear.items():
                if value is not None:
                    raise _invalid(["body", name], "paper accounts take no API keys")
        else:
            await self.check_live_exchange(body.exchange)
            for name in ("api_key", "api_secret"):
                if clear[name] is None:
                    raise _invalid(["body", name], f"an account on {body.exchange} needs {name}")
            if body.initial_balances is not None:
                raise _invalid(["body", "initial_balances"], "only paper accounts take initial_balances")
        if body.exchange == PAPER and body.urls:
            raise _invalid(["body", "urls"], "paper accounts take no exchange URLs")
        self.protect(*clear.values())
        owner = self.principal.user_id
        if await self.in_executor(name_taken, self._engine(), owner, body.name):
            raise ApiError(409, "CONFLICT", f"you have an account called {body.name!r} already")
        account_id = new_id()
        sealed = self.seal(account_id, clear)
        event = AccountCreated(
            account_id=account_id,
            owner_id=owner,
            name=body.name,
            exchange=body.exchange,
            is_testnet=body.is_testnet,
            api_key_hint=key_hint(clear["api_key"]) if clear["api_key"] else None,
            ip_whitelist=tuple(body.ip_whitelist),
            initial_balances=dict(body.initial_balances or {}) if body.exchange == PAPER else {},
            urls=dict(body.urls),
            correlation_id=self.request_id,
            **sealed,
        )
        await self.commit(event)
        logger.info("account %s (%s) created by user %s", account_id, body.exchange, owner)
        if body.exchange == PAPER and self.context.accounts is not None:
            try:
                await self.context.accounts.start_paper_account(account_id, event.initial_balances)
            except Exception as error:
                logger.error("account %s: its paper exchange did not start: %s", account_id, error)
                raise ApiError(503, "EXCHANGE_UNAVAILABLE", f"account {account_id} was created, but its paper exchange"
                               " did not start; it starts with the next daemon start", {"account_id": account_id}) from None
        elif self.context.accounts is not None:
            await self.connect(account_id)
        record = await self.visible_account(account_id)
        self.set_header("Location", f"/api/v1/accounts/{account_id}")
        self.write_model(self.out(record), 201)

class AccountValidateHandler(AccountBase):
    """`/accounts/validate`: check keys before saving them."""

    @endpoint("Check credentials before saving them", body=AccountValidate, response=AccountTestOut,
              errors=("EXCHANGE_UNAVAILABLE",), tags=TAGS)
    async def post(self) -> None:
        """Paper accounts need no keys and always pass. Live exchanges: the keys are
        checked with the exchange (a balance fetch, through `urls` if given); keys it
        refuses give `success: false` with its message; nothing is stored."""
        body = self.parse_body(AccountValidate)
        if body.exchange != PAPER:
            await self.check_live_exchange(body.exchange)
            clear = {name: getattr(body, name).get_secret_value() if getattr(body, name) else None
                     for name in ("api_key", "api_secret", "password")}
            for name in ("api_key", "api_secret"):
                if clear[name] is None:
                    raise _invalid(["body", name], f"an account on {body.exchange} needs {name}")
            check = await self.live_check(CcxtSettings(
                exchange=body.exchange, api_key=clear["api_key"] or "", secret=clear["api_secret"] or "",
                password=clear["password"], sandbox=body.is_testnet, urls=dict(body.urls), timeout_ms=CHECK_TIMEOUT_MS,
            ))
            self.write_model(_check_out(check))
            return
        if body.urls:
            raise _invalid(["body", "urls"], "paper accounts take no exchange URLs")
        for name in ("api_key", "api_secret", "password"):
            if getattr(body, name) is not None:
                raise _invalid(["body", name], "paper accounts take no API keys")
        self.write_model(AccountTestOut(
            success=True, exchange=PAPER, balance=dict(body.initial_balances or {}),
            message="paper accounts need no keys; the balance is what the account would start with",
        ))


class AccountHandler(AccountBase):
    """`/accounts/{id}`."""

    @endpoint("Get an exchange account", response=AccountOut, errors=("ACCOUNT_NOT_FOUND",), tags=TAGS)
    async def get(self, account_id: str) -> None:
        self.write_model(self.out(await self.visible_account(account_id)))

    @endpoint(
        "Change an exchange account", body=AccountPatch, response=AccountOut,
        errors=("ACCOUNT_NOT_FOUND", "CONFLICT", "ENCRYPTION_KEY_MISSING"), tags=TAGS,
    )
    async def patch(self, account_id: str) -> None:
        """Name, keys, testnet flag, IP allow-list. Config-file accounts are read-only (409)."""
        body = self.parse_body(AccountPatch)
        record = await self.writable_account(account_id)
        clear = {name: getattr(body, name).get_secret_value() if getattr(body, name) else None
                 for name in ("api_key", "api_secret", "password")}
        if record.exchange == PAPER:
            for name in ("api_key", "api_secret", "password"):
                if name in body.model_fields_set:
                    raise _invalid(["body", name], "paper accounts take no API keys")
        self.protect(*clear.values())
        if body.name is not None and body.name != record.name:
            if await self.in_executor(name_taken, self._engine(), record.owner_id, body.name, account_id):
                raise ApiError(409, "CONFLICT", f"an account called {body.name!r} exists already")
        reconnect = record.exchange != PAPER and (
            any(clear.values()) or "password" in body.model_fields_set
            or (body.is_testnet is not None and body.is_testnet != record.is_testnet)
        )
        if reconnect:
            active, _ = await self.in_executor(bots_of_account, self._engine(), account_id)
            if active:
                raise ApiError(409, "BOT_RUNNING", f"{active} bots run on account {account_id}: stop them before"
                               " changing its keys or network", {"active_bots": active})
        sealed = self.seal(account_id, clear)
        change = AccountChanged(
            account_id=account_id,
            name=body.name,
            is_testnet=body.is_testnet,
            api_key_hint=key_hint(clear["api_key"]) if clear["api_key"] else None,
            password_removed="password" in body.model_fields_set and body.password is None,
            ip_whitelist=tuple(body.ip_whitelist) if body.ip_whitelist is not None else None,
            correlation_id=self.request_id,
            **sealed,
        )
        await self.commit(change)
        assert self.context is not None
        if reconnect and self.context.accounts is not None:  # the new keys take over
            await self.context.accounts.stop_account(account_id)
            await self.connect(account_id)
        self.write_model(self.out(await self.visible_account(account_id)))

    @endpoint(
        "Delete an exchange account", status=204,
        errors=("ACCOUNT_NOT_FOUND", "BOT_RUNNING", "CONFLICT"), tags=TAGS,
    )
    async def delete(self, account_id: str) -> None:
        """Refused while a bot runs on it (409 BOT_RUNNING), and while stopped bots still
        belong to it (409 CONFLICT: delete them first). Its journal history stays."""
        record = await self.writable_account(account_id)
        active, total = await self.in_executor(bots_of_account, self._engine(), account_id)
        if active:
            raise ApiError(409, "BOT_RUNNING", f"{active} bots run on account {account_id}: stop them first",
                           {"active_bots": active})
        if total:
            raise ApiError(409, "CONFLICT", f"{total} bots belong to account {account_id}: delete them first",
                           {"bots": total})
        assert self.context is not None
        if self.context.accounts is not None:
            await self.context.accounts.stop_account(account_id)
        await self.commit(AccountDeleted(account_id=account_id, correlation_id=self.request_id))
        logger.info("account %s (%s) deleted", account_id, record.exchange)
        self.set_status(204)
        self.finish()


class AccountTestHandler(AccountBase):
    """`/accounts/{id}/test`."""

    @endpoint(
        "Check an account with its exchange", response=AccountTestOut,
        errors=("ACCOUNT_NOT_FOUND", "EXCHANGE_UNAVAILABLE", "ACTOR_TIMEOUT"), tags=TAGS,
    )
    async def post(self, account_id: str) -> None:
        """Paper accounts answer from their paper exchange; live ones with a balance fetch
        made with the stored keys (`success: false` with the exchange's message when it
        refuses them). Either sets `is_valid` and `last_validated_at`."""
        record = await self.visible_account(account_id)
        if record.exchange != PAPER:
            check = await self.stored_check(record)
            await self.commit(AccountValidated(account_id=account_id, is_valid=check.success,
                                               correlation_id=self.request_id))
            self.write_model(_check_out(check))
            return
        balances = await self.exchange_balances(record)
        await self.commit(AccountValidated(account_id=account_id, is_valid=True, correlation_id=self.request_id))
        self.write_model(AccountTestOut(
            success=True, exchange=record.exchange,
            balance={asset: free + locked for asset, (free, locked) in balances.balances.items()},
            message="the paper exchange answered",
        ))


class AccountBalanceHandler(AccountBase):
    """`/accounts/{id}/balance`."""

    @endpoint(
        "An account's balances", query=ValuationQuery, response=AccountBalanceOut,
        errors=("ACCOUNT_NOT_FOUND", "EXCHANGE_UNAVAILABLE", "ACTOR_TIMEOUT"), tags=TAGS,
    )
    async def get(self, account_id: str) -> None:
        """From the account's exchange actor: `free`, `used` (locked by open orders) and
        `total` per asset; `equity` values them in `?quote=` (USDT) at the last prices."""
        query = self.parse_query(ValuationQuery)
        record = await self.visible_account(account_id)
        snapshot = await self.exchange_balances(record)
        holdings = _holdings(snapshot, query.quote)
        free_quote = snapshot.balances.get(query.quote, (Decimal(0), Decimal(0)))[0]
        self.write_model(AccountBalanceOut(
            account_id=account_id,
            quote_currency=query.quote,
            equity=sum((h.value for h in holdings if h.value is not None), Decimal(0)),
            available_balance=free_quote,
            balances={h.asset: BalanceOut(free=h.free, used=h.used, total=h.total) for h in holdings},
            unpriced_assets=[h.asset for h in holdings if h.value is None],
        ))


class AccountPositionsHandler(AccountBase):
    """`/accounts/{id}/positions`."""

    @endpoint(
        "An account's holdings valued in a quote currency", query=ValuationQuery, response=AccountPositionsOut,
        errors=("ACCOUNT_NOT_FOUND", "EXCHANGE_UNAVAILABLE", "ACTOR_TIMEOUT"), tags=TAGS,
    )
    async def get(self, account_id: str) -> None:
        """Every asset held but the quote currency, at the last price the account's
        exchange saw for `ASSET/QUOTE` (null while it has seen none)."""
        query = self.parse_query(ValuationQuery)
        record = await self.visible_account(account_id)
        snapshot = await self.exchange_balances(record)
        positions = [h for h in _holdings(snapshot, query.quote) if h.asset != query.quote and h.total > 0]
        self.write_model(AccountPositionsOut(
            account_id=account_id,
            quote_currency=query.quote,
            total_value=sum((h.value for h in positions if h.value is not None), Decimal(0)),
            positions=positions,
        ))


def _holdings(snapshot: AccountBalances, quote: str) -> list[HoldingOut]:
    """Each asset of the snapshot with its value in `quote` (exact: a product of decimals)."""
    holdings = []
    for asset, (free, locked) in sorted(snapshot.balances.items()):
        total = free + locked
        if asset == quote:
            symbol, price = None, Decimal(1)
        else:
            symbol = f"{asset}/{quote}"
            price = snapshot.last_prices.get(symbol)
        holdings.append(HoldingOut(
            asset=asset, symbol=symbol, free=free, used=locked, total=total, price=price,
            value=None if price is None else total * price,
        ))
    return holdings


def _check_out(check: KeyCheck) -> AccountTestOut:
    return AccountTestOut(success=check.success, exchange=check.exchange, balance=check.balance, message=check.message)
