"""An auth flood during public reads, over the real server (issue #15's reliability suite).

64 connections send wrong secrets of a real key id while a reader asks /v1/nearest: the
reads keep answering 200, the flood only ever gets 403, 429 (the per-key limit, hit) or 503
(the hashing queue full), never another 5xx, and no answer or log line holds a secret.
The flood is a number of requests, not a number of seconds, and nothing here is timed, so
a busy machine makes it slower, never red; bench/bench_auth.py measures the reads' latency.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from livingcircle.data.embedded import FileStore
from livingcircle.geo.keys import new_key
from tests.api.conftest import LAT, LON
from tests.api.test_server import start_server, wait_ready

pytestmark = pytest.mark.slow
FLOOD = 64
#: Wrong secrets each flood connection sends: 320 in all, far over the key's limit.
TRIES = 5
KEY_LIMIT = 8
TARGET = "/v1/regions/helsinki/facilities/osm:node/25502063"


@dataclass
class Seen:
    """What the reader and the flood were answered."""

    reads: list[int] = field(default_factory=list)
    answers: Counter[int] = field(default_factory=Counter)
    texts: set[str] = field(default_factory=set)  # bodies and headers, each once


async def _reads(base: str, flood: asyncio.Event, seen: Seen) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        while True:  # at least one read, asked while the flood runs
            got = await http.get("/v1/nearest", params={"lat": LAT, "lon": LON, "k": 1})
            seen.reads.append(got.status_code)
            if flood.is_set():
                return
            await asyncio.sleep(0.05)


async def _flood(base: str, wrong: str, seen: Seen) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        for _ in range(TRIES):
            got = await http.delete(TARGET, headers={"X-API-Key": wrong})
            seen.answers[got.status_code] += 1
            seen.texts.add(got.text)
            seen.texts.add(str(sorted(got.headers.items())))


async def _run(base: str, wrong: str) -> Seen:
    seen, done = Seen(), asyncio.Event()

    async def flood() -> None:
        await asyncio.gather(*(_flood(base, wrong, seen) for _ in range(FLOOD)))
        done.set()

    await asyncio.gather(_reads(base, done, seen), flood())
    return seen


def test_reads_keep_answering_during_an_auth_flood_that_hits_the_limit(
    tmp_path: Path, sample_store_dir: Path
) -> None:
    shutil.copytree(sample_store_dir, tmp_path, dirs_exist_ok=True)
    token, record = new_key("health-bureau", "department")
    FileStore(tmp_path).add_api_key(record)
    wrong = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LC_AUTH_FAIL_KEY_LIMIT", str(KEY_LIMIT))
        patch.setenv("LC_AUTH_FAIL_LIMIT", "100000")  # the key's limit is the one hit
        process, port = start_server(tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, base, within_s=600)  # a busy machine starts it slowly
        seen = asyncio.run(_run(base, wrong))
    finally:
        process.terminate()
        log = process.communicate(timeout=30)[0]
    assert seen.reads and set(seen.reads) == {200}
    assert sum(seen.answers.values()) == FLOOD * TRIES
    assert set(seen.answers) <= {403, 429, 503}, seen.answers
    assert seen.answers[403] >= 1 and seen.answers[429] >= 1, seen.answers  # the limit is hit
    assert seen.answers[403] < FLOOD * TRIES / 2, seen.answers  # and, once hit, holds
    assert any(f"for key id {token[3:15]}" in text for text in seen.texts)
    for secret in (token[16:], wrong[16:]):  # lc_ID_SECRET: no secret in an answer or the log
        assert not any(secret in text for text in seen.texts)
        assert secret not in log
