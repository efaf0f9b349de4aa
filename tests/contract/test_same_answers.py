"""Both stores loaded with the Helsinki sample give identical answers, query by query."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal

from livingcircle.data.embedded import FileStore
from livingcircle.data.postgis import PostgisStore
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.errors import LivingCircleError
from livingcircle.geo.results import CatchmentResult, NearestResult
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import FacilityQuery, RegionData

pytestmark = pytest.mark.postgis
Pair = tuple[FileStore, PostgisStore]
REGION = "helsinki"


def points(n: int = 20, seed: int = 7) -> list[tuple[float, float]]:
    """``n`` points (lon, lat) spread over central Helsinki, the sample point first."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(24.936, 24.952, n - 1)
    lat = rng.uniform(60.165, 60.178, n - 1)
    return [(24.9414, 60.1710), *zip(lon.tolist(), lat.tolist(), strict=True)]


def test_load_region_gives_identical_frames(pair: Pair, sample_data: RegionData) -> None:
    a, b = (s.load_region(REGION) for s in pair)
    assert a.info == b.info == sample_data.info
    pd.testing.assert_frame_equal(a.nodes, b.nodes)
    assert_geodataframe_equal(a.edges, b.edges)
    assert_geodataframe_equal(a.facilities, b.facilities)
    assert a.facilities["id"].is_monotonic_increasing


def test_regions_listing_is_identical(pair: Pair) -> None:
    a, b = (s.regions() for s in pair)
    assert a == b
    assert [i.name for i in a] == [REGION]


@pytest.mark.parametrize(
    "bbox",
    [
        None,
        (24.940, 60.168, 24.946, 60.173),
        (24.9351878, 60.1641581, 24.953411, 60.1791074),
        (0.0, 0.0, 1.0, 1.0),
    ],
)
@pytest.mark.parametrize("categories", [None, ["restaurant"], ["pharmacy", "clinic", "park"]])
def test_facilities_pages_are_identical(
    pair: Pair, bbox: tuple[float, float, float, float] | None, categories: list[str] | None
) -> None:
    file_store, postgis_store = pair
    seen = 0
    for offset in range(0, 900, 150):
        query = FacilityQuery(bbox, categories, limit=150, offset=offset)
        a, b = file_store.facilities(REGION, query), postgis_store.facilities(REGION, query)
        assert_geodataframe_equal(a, b)
        seen += len(a)
    whole = file_store.facilities(REGION, FacilityQuery(bbox, categories, limit=10_000))
    assert seen == len(whole)
    assert whole["id"].is_monotonic_increasing


def _nearest_key(result: NearestResult) -> dict[str, list[tuple[str, float, float]]]:
    return {
        c: [(h.id, h.time_s, h.distance_m) for h in hits] for c, hits in result.by_category.items()
    }


def _catchment_key(result: CatchmentResult) -> tuple[object, ...]:
    hits = [(h.id, h.time_s, h.ring_minutes) for h in result.facilities]
    tiers = [(r.id, r.present, r.nearest_id) for t in result.tiers for r in t.requirements]
    rings = [(r.minutes, r.street_m) for r in result.rings]
    return hits, tiers, rings


def _assert_close(a: object, b: object) -> None:
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert isinstance(b, dict)
        assert a.keys() == b.keys()
        for key in a:
            _assert_close(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert isinstance(b, list | tuple)
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_close(x, y)
    elif isinstance(a, float):
        assert np.allclose(a, b, rtol=0, atol=1e-9)
    else:
        assert a == b


def test_engine_answers_are_identical(pair: Pair, standard: Standard) -> None:
    """The engine on either store: same facilities, same walking times, same gaps."""
    file_atlas, postgis_atlas = (Atlas(s, standard) for s in pair)
    answered = 0
    for lon, lat in points():
        outcomes = []
        for atlas in (file_atlas, postgis_atlas):
            try:
                near = atlas.nearest(lon, lat, k=3, region=REGION)
                catch = atlas.catchment(lon, lat, region=REGION)
                outcomes.append((_nearest_key(near), _catchment_key(catch)))
            except LivingCircleError as exc:
                outcomes.append((type(exc).__name__, str(exc)))
        _assert_close(outcomes[0], outcomes[1])
        answered += isinstance(outcomes[0][0], dict)
    assert answered >= 15
