"""The Gatekeeper on both stores: valid keys under load are never refused, one scrypt per burst.

The soak found 64 clients sharing one valid department key answered 429: checks still under
way counted as failures. These run the real Gatekeeper, its hashing pool and real stores.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from livingcircle.api import auth
from livingcircle.api.settings import APISettings
from livingcircle.geo.errors import TooManyAuthFailures, WrongApiKey
from livingcircle.geo.keys import new_key
from livingcircle.geo.store import ApiKey, Store

CLIENTS = 32


def _keeper(**limits: float) -> auth.Gatekeeper:
    settings = APISettings(auth_fail_limit=2, auth_fail_key_limit=2, auth_queue=4, **limits)
    return auth.Gatekeeper(settings)


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the scrypt checks the hashing pool runs (the real check still runs)."""
    calls: list[str] = []
    real: Callable[[str, Store], ApiKey] = auth._check_in_store

    def check(token: str, store: Store) -> ApiKey:
        calls.append(token)
        return real(token, store)

    monkeypatch.setattr(auth, "_check_in_store", check)
    return calls


async def _burst(keeper: auth.Gatekeeper, token: str, store: Store) -> list[object]:
    checks = [keeper.check(token, "10.0.0.1", store) for _ in range(CLIENTS)]
    return await asyncio.gather(*checks, return_exceptions=True)


def test_one_valid_key_from_many_clients_pays_one_scrypt_and_no_429(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, record = new_key("health-bureau", "department")
    store.add_api_key(record)
    calls = _counting(monkeypatch)
    keeper = _keeper()
    try:
        answers = asyncio.run(_burst(keeper, token, store))
    finally:
        keeper.close()
    assert [a for a in answers if not isinstance(a, ApiKey)] == []
    assert len(calls) == 1  # the others waited for its answer


def test_a_cached_key_passes_an_address_over_its_limit(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, record = new_key("health-bureau", "department")
    store.add_api_key(record)
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    calls = _counting(monkeypatch)
    keeper = _keeper()

    async def run() -> tuple[list[object], list[object], list[object]]:
        first = await keeper.check(token, "10.0.0.1", store)  # verified: now in the cache
        wrongs = await _burst(keeper, wrong, store)  # one scrypt, 32 failures counted
        after = await _burst(keeper, wrong, store)
        cached = await _burst(keeper, token, store)
        return [first, *wrongs], after, cached

    try:
        wrongs, after, cached = asyncio.run(run())
    finally:
        keeper.close()
    assert all(isinstance(a, WrongApiKey) for a in wrongs[1:])
    assert all(isinstance(a, TooManyAuthFailures) for a in after)  # limited before hashing
    assert all(isinstance(a, ApiKey) for a in cached)  # the cache is never limited
    assert len(calls) == 2
