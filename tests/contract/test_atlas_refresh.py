"""Engines rebuilt off the caller's thread, on each store: while one region's rebuild is held
up in the store, queries on it (the old engine) and on another region answer at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import pytest
import shapely

from livingcircle.geo.atlas import Atlas
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import FacilityRecord, RegionData, Store

LAT, LON = 60.1710, 24.9414
T = TypeVar("T")
#: Long enough for a query on the sample under load; far shorter than "never".
ANSWER_S = 60.0


class HeldStore:
    """A real store whose ``load_region`` of one region waits until released."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.held: str | None = None
        self.release = threading.Event()
        self.reading = threading.Event()

    def load_region(self, name: str) -> RegionData:
        if name == self.held:
            self.reading.set()
            assert self.release.wait(ANSWER_S), "the held load was never released"
        return self.store.load_region(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def clinic() -> FacilityRecord:
    """A clinic at the query point: the nearest once the engine knows it."""
    return FacilityRecord(
        id="health-bureau:near",
        source="health-bureau",
        source_id="near",
        category="clinic",
        geometry=shapely.Point(LON, LAT),
        name="Terveysasema",
    )


def in_time(call: Callable[[], T]) -> T:
    """``call()`` in a thread of its own, failing if it takes longer than ``ANSWER_S``."""
    out: list[T] = []
    worker = threading.Thread(target=lambda: out.append(call()), daemon=True)
    worker.start()
    worker.join(ANSWER_S)
    assert out, "the query waited for another region's rebuild"
    return out[0]


@pytest.fixture
def held(store: Store, sample_data: RegionData) -> HeldStore:
    """Each store with the sample as 'helsinki' and as 'copy'."""
    store.save_region(sample_data)
    store.save_region(replace(sample_data, info=replace(sample_data.info, name="copy")))
    return HeldStore(store)


def nearest_clinic(atlas: Atlas, region: str) -> str:
    return atlas.nearest(LON, LAT, ["clinic"], region=region).by_category["clinic"][0].id


def test_queries_answer_while_a_region_rebuilds(held: HeldStore, standard: Standard) -> None:
    atlas = Atlas(held, standard)  # type: ignore[arg-type]  # a Store by delegation
    first = nearest_clinic(atlas, "helsinki")
    held.store.save_facility("helsinki", clinic(), "health-bureau", create=True)  # type: ignore[attr-defined]
    held.held = "helsinki"
    rebuilt = atlas.refresh("helsinki")
    assert held.reading.wait(ANSWER_S) and not rebuilt.done()
    # the same region: the old engine answers; another region, never built: it builds alone
    assert in_time(lambda: nearest_clinic(atlas, "helsinki")) == first
    assert in_time(lambda: nearest_clinic(atlas, "copy")) == first
    assert atlas.in_memory() == ["copy", "helsinki"]
    held.release.set()
    rebuilt.result(ANSWER_S)
    assert nearest_clinic(atlas, "helsinki") == "health-bureau:near"
    assert nearest_clinic(atlas, "copy") == first
    atlas.close()


def test_one_invalidation_path(held: HeldStore, standard: Standard) -> None:
    """A write's refresh brings the engine to the store's load time: polling adds nothing."""
    atlas = Atlas(held, standard)  # type: ignore[arg-type]
    atlas.infos()
    atlas.region("helsinki")
    store: Any = held.store
    assert atlas.refresh_changed(store.regions()) == []
    store.save_facility("helsinki", clinic(), "health-bureau", create=True)
    assert atlas.refresh_changed(store.regions()) == ["helsinki"]  # another worker's write
    atlas.refresh("helsinki").result(ANSWER_S)
    assert atlas.refresh_changed(store.regions()) == []
    store.delete_facility("helsinki", "health-bureau:near", "health-bureau")
    atlas.refresh("helsinki").result(ANSWER_S)  # this worker's write
    assert atlas.refresh_changed(store.regions()) == []
    store.delete_region("copy")
    assert atlas.refresh_changed(store.regions()) == []  # never built: nothing to drop
    store.delete_region("helsinki")
    assert atlas.refresh_changed(store.regions()) == ["helsinki"]
    atlas.refresh("helsinki").result(ANSWER_S)
    assert atlas.in_memory() == []
    atlas.close()


def test_located_reads_and_builds_nothing(held: HeldStore, standard: Standard) -> None:
    """``located`` answers from built engines and remembered regions only (the API's event
    loop calls it); whatever needs a read or a build is left to ``locate``."""
    atlas = Atlas(held, standard)  # type: ignore[arg-type]
    held.held, held.release = "helsinki", threading.Event()  # a read would hang the test
    assert atlas.located(LON, LAT, "helsinki") is None and atlas.located(LON, LAT) is None
    assert atlas.infos() and atlas.located(LON, LAT) is None  # remembered, not built
    assert atlas.in_memory() == [] and not held.reading.is_set()
    held.release.set()
    engine = atlas.locate(LON, LAT, "copy")
    assert atlas.located(LON, LAT, "copy") is engine
    assert atlas.located(LON, LAT) is None  # helsinki, not built, holds the point too
    atlas.region("helsinki")
    assert atlas.located(LON, LAT) is None  # two regions hold it: locate says which
    assert atlas.located(0.0, 0.0) is None  # outside both: locate names the nearest
    atlas.refresh("copy").result(ANSWER_S)
    assert atlas.located(LON, LAT, "copy") is not None  # a named region needs no list
    atlas.close()
