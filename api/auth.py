"""Checking API keys without letting the checks slow the service or leak which ids exist.

One :class:`Gatekeeper` per app (made on first use, kept on ``app.state``):

- scrypt runs in its own small thread pool (``LC_AUTH_THREADS``, default 1 per worker) at a
  lower CPU priority (``LC_AUTH_NICE``, default 10, Linux), never on the event loop nor in
  the pool that answers reads; at most ``LC_AUTH_QUEUE`` checks run or wait at once, and a
  further one gets 503 with ``Retry-After: 1``;
- failed checks are counted per client address and per key id over a sliding window
  (``LC_AUTH_FAIL_LIMIT``, ``LC_AUTH_FAIL_KEY_LIMIT``, ``LC_AUTH_FAIL_WINDOW_S``); past the
  limit a check gets 429 with ``Retry-After`` before any hashing. Only checks that failed
  count: a burst of checks still under way is bounded by ``LC_AUTH_QUEUE`` instead, so many
  clients sharing one valid key are never refused for it. Each worker counts for itself (with
  2 workers an address gets up to twice the limit);
- concurrent first checks of one token share one scrypt (single flight): the others wait for
  its answer without taking a place in the queue;
- those 429s and 503s are answered after ``LC_AUTH_TARPIT_S`` (1 s; at most the Retry-After):
  a flooding client that waits for its answers then sends one request per connection per
  second instead of thousands, and waiting costs the server no CPU, so reads keep it;
- a token verified in the last ``LC_AUTH_CACHE_S`` seconds (60) skips scrypt, the failure
  limits and the queue. The key's record
  is read from the store on every request all the same, so a revoked or expired key is refused
  at once on every server, not only on the one that revoked it;
- a key's last use is written at most once a minute per key and worker.

The client address is the connection's peer: behind a reverse proxy, run uvicorn with
``--forwarded-allow-ips`` so that it is the client's, not the proxy's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool

from livingcircle.api.settings import APISettings
from livingcircle.geo.errors import (
    AuthBusy,
    LivingCircleError,
    TooManyAuthFailures,
    WrongApiKey,
)
from livingcircle.geo.keys import check_secret, check_usable, key_id_of, token_digest
from livingcircle.geo.store import ApiKey, Store

log = logging.getLogger("livingcircle.api")

#: Seconds between two writes of one key's last use.
TOUCH_EVERY_S = 60.0
#: Most addresses or key ids a failure window tracks (the oldest are forgotten first).
MAX_TRACKED = 10_000


@dataclass
class FailureWindow:
    """Failed attempts per name (an address, a key id) in the last ``window_s`` seconds."""

    limit: int
    window_s: float
    _seen: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def retry_after(self, name: str, now: float) -> int | None:
        """Seconds until ``name`` may try again, or None if it is under the limit."""
        times = self._prune(name, now)
        if len(times) < self.limit:
            return None
        return max(1, int(times[len(times) - self.limit] + self.window_s - now + 0.999))

    def add(self, name: str, now: float) -> None:
        """Count a failed attempt of ``name``."""
        self._prune(name, now).append(now)
        self._seen.move_to_end(name)
        while len(self._seen) > MAX_TRACKED:
            self._seen.popitem(last=False)

    def _prune(self, name: str, now: float) -> deque[float]:
        times = self._seen.setdefault(name, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times


@dataclass
class Gatekeeper:
    """Checks tokens for one app: bounded, rate-limited, cached (see the module's notes)."""

    settings: APISettings
    by_address: FailureWindow = field(init=False)
    by_key: FailureWindow = field(init=False)
    _pool: ThreadPoolExecutor = field(init=False)
    _verified: dict[bytes, tuple[str, str, float]] = field(default_factory=dict)
    _touched: dict[str, float] = field(default_factory=dict)
    _flights: dict[bytes, asyncio.Future[ApiKey]] = field(default_factory=dict)
    _busy: int = 0

    def __post_init__(self) -> None:
        s = self.settings
        self.by_address = FailureWindow(s.auth_fail_limit, s.auth_fail_window_s)
        self.by_key = FailureWindow(s.auth_fail_key_limit, s.auth_fail_window_s)
        self._pool = ThreadPoolExecutor(
            s.auth_threads,
            thread_name_prefix="lc-auth",
            initializer=_lower_priority,
            initargs=(s.auth_nice,),
        )

    async def check(self, token: str | None, address: str, store: Store) -> ApiKey:
        """The usable key ``token`` proves, or the error that says why not.

        Raises
        ------
        MissingApiKey, WrongApiKey, RevokedApiKey, ExpiredApiKey
            As :func:`livingcircle.geo.keys.verify_key`.
        TooManyAuthFailures
            Too many failures from ``address`` or for the token's key id (429).
        AuthBusy
            Too many checks at once (503).
        """
        if not token:
            return check_secret(token, lambda _: None)  # MissingApiKey: costs nothing
        key_id = key_id_of(token)
        if key_id is None:  # not even the shape of a key: cheap, but counted
            await self._refuse_if_limited(address, None)
            self.by_address.add(address, time.monotonic())
            return check_secret(token, lambda _: None)
        key = await self._cached(token, store) or await self._verify(token, key_id, address, store)
        check_usable(key)
        await self._touch(key, store)
        return key

    def close(self) -> None:
        """Stop the hashing threads (after the running checks)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _cached(self, token: str, store: Store) -> ApiKey | None:
        hit = self._verified.get(token_digest(token))
        if hit is None or hit[2] < time.monotonic():
            return None
        key_id, digest, _ = hit
        keys = await run_in_threadpool(store.api_keys)
        key = next((k for k in keys if k.key_id == key_id), None)
        return key if key is not None and key.digest == digest else None

    async def _verify(self, token: str, key_id: str, address: str, store: Store) -> ApiKey:
        """Hash ``token``, or wait for the check of the same token already under way."""
        await self._refuse_if_limited(address, key_id)
        digest = token_digest(token)
        flight = self._flights.get(digest)
        if flight is None:
            if self._busy >= self.settings.auth_queue:
                await asyncio.sleep(self.settings.auth_tarpit_s)  # no CPU: a flood slows itself
                raise AuthBusy(
                    "the server is checking too many API keys at once; retry in a second",
                    retry_after=1,
                )
            self._busy += 1
            flight = asyncio.ensure_future(self._hash(token, store))
            self._flights[digest] = flight
            flight.add_done_callback(lambda done: self._landed(digest, done))
        try:
            return await asyncio.shield(flight)  # a caller that leaves does not stop the others
        except WrongApiKey:
            now = time.monotonic()  # only a failed check counts
            self.by_address.add(address, now)
            self.by_key.add(key_id, now)
            raise

    async def _hash(self, token: str, store: Store) -> ApiKey:
        """Run scrypt in the hashing pool and remember the key it proves."""
        loop = asyncio.get_running_loop()
        key = await loop.run_in_executor(self._pool, _check_in_store, token, store)
        self._remember(token, key)
        return key

    def _landed(self, digest: bytes, flight: asyncio.Future[ApiKey]) -> None:
        """A check finished: free its place in the queue and let the next one hash afresh."""
        self._busy -= 1
        self._flights.pop(digest, None)
        if not flight.cancelled():
            flight.exception()  # retrieved, even when every caller has gone

    async def _refuse_if_limited(self, address: str, key_id: str | None) -> None:
        now = time.monotonic()
        wait = self.by_address.retry_after(address, now)
        what = f"from {address}"
        if wait is None and key_id is not None:
            wait, what = self.by_key.retry_after(key_id, now), f"for key id {key_id}"
        if wait is not None:
            await asyncio.sleep(min(wait, self.settings.auth_tarpit_s))
            raise TooManyAuthFailures(
                f"too many failed API key checks {what} in the last "
                f"{self.settings.auth_fail_window_s:g} s; retry after {wait} s with a valid key "
                "(keys look like 'lc_<12 hex digits>_<43 characters>')",
                retry_after=wait,
            )

    def _remember(self, token: str, key: ApiKey) -> None:
        if self.settings.auth_cache_s <= 0:
            return
        now = time.monotonic()
        if len(self._verified) > MAX_TRACKED:
            self._verified = {d: v for d, v in self._verified.items() if v[2] >= now}
        self._verified[token_digest(token)] = (
            key.key_id,
            key.digest,
            now + self.settings.auth_cache_s,
        )

    async def _touch(self, key: ApiKey, store: Store) -> None:
        now = time.monotonic()
        if now - self._touched.get(key.key_id, -TOUCH_EVERY_S) < TOUCH_EVERY_S:
            return
        self._touched[key.key_id] = now
        try:
            await run_in_threadpool(store.touch_api_key, key.key_id, datetime.now(UTC))
        except LivingCircleError as exc:  # the answer matters more than the last-use time
            log.warning("cannot record the use of key %s: %s", key.key_id, exc)


def _lower_priority(nice: int) -> None:
    """Give this hashing thread a higher nice value, so reads get the CPU first (Linux)."""
    with contextlib.suppress(AttributeError, OSError):  # no per-thread priority here
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


def _check_in_store(token: str, store: Store) -> ApiKey:
    """Read the keys and hash the secret (in the gatekeeper's pool)."""
    keys = {k.key_id: k for k in store.api_keys()}
    return check_secret(token, keys.get)
