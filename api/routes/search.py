"""Where am I: find facilities, streets and kiosks by name (Chinese, pinyin, English, typos).

Each region's search index is built on first use, off the event loop, and kept on
``app.state`` under the region's load time and its kiosks: a region reloaded or edited (a new
``loaded_at``) is indexed again. Nothing here logs the query or the coordinates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from livingcircle.api.deps import AtlasDep, answering
from livingcircle.api.errors import problems
from livingcircle.api.geojson import GeoJSONResponse
from livingcircle.api.models_queries import SearchCollection
from livingcircle.api.params import lat_param, lon_param, region_param, text_param
from livingcircle.geo import search as names
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.errors import (
    AmbiguousRegion,
    InvalidParameter,
    PointOutsideRegion,
    RegionNotFound,
)
from livingcircle.geo.search import check_query
from livingcircle.geo.search_index import SearchIndex, index_region
from livingcircle.geo.store import RegionInfo

#: Indexes up to this many entries are searched on the event loop (about 1 to 4 ms for the
#: sample's 730); larger ones in the thread pool.
ON_LOOP_ENTRIES = 5_000

router = APIRouter(prefix="/v1", tags=["queries"], responses=problems(404, 422, 503))

SearchText = Annotated[
    str,
    text_param(
        Query,
        names.MAX_QUERY_CHARS,
        "A name or part of one: Chinese characters or pinyin (full, or initials such as "
        "'sqws'), English or the local language; typos are tolerated. 1 to 100 characters, no "
        "control characters.",
        "Kauppatori",
    ),
]
SearchLat = Annotated[
    float | None,
    lat_param(
        "Where the user is (latitude, WGS 84): ranks equal matches nearest first, adds "
        "distance_m, and picks the region."
    ),
]
SearchLon = Annotated[float | None, lon_param("Where the user is (longitude, WGS 84).")]
SearchLimit = Annotated[int, Query(ge=1, le=names.MAX_RESULTS, description="Most answers.")]
SearchRegion = Annotated[
    str | None,
    region_param(
        Query,
        "Region to search; default: the region containing lat/lon, else every loaded region.",
    ),
]


@dataclass(frozen=True)
class SearchQuery:
    """The search asked for: the text, the user's point (lon, lat) if given, where and how many."""

    q: str
    lonlat: tuple[float, float] | None
    region: str | None
    limit: int


async def get_search_query(
    q: SearchText,
    lat: SearchLat = None,
    lon: SearchLon = None,
    region: SearchRegion = None,
    limit: SearchLimit = 10,
) -> SearchQuery:
    """The search asked for, its text and point checked."""
    check_query(q)
    return SearchQuery(q, _lonlat(lon, lat), region, limit)


SearchQueryDep = Annotated[SearchQuery, Depends(get_search_query)]


@router.get("/search", response_model=SearchCollection, response_class=GeoJSONResponse)
async def search(request: Request, atlas: AtlasDep, query: SearchQueryDep) -> GeoJSONResponse:
    """Facilities, streets and kiosks by name, best match first, then nearest first.

    Nothing found is not an error: the answer has no features, and its properties hold the
    closest names (``suggestions``) and a ``message`` to show. Distances are straight-line.
    """
    infos = await run_in_threadpool(atlas.infos)
    here = await _here(atlas, query.lonlat) if query.region is None else None
    chosen = _regions(infos, query.region, here)
    indexes = [await _index(request, atlas, info) for info in chosen]
    if sum(len(i) for i in indexes) <= ON_LOOP_ENTRIES:
        result = names.search(indexes, query.q, query.lonlat, query.limit)
    else:  # a city's worth of names: keep the event loop free for the others
        result = await run_in_threadpool(names.search, indexes, query.q, query.lonlat, query.limit)
    return GeoJSONResponse(result.to_geojson())


def _lonlat(lon: float | None, lat: float | None) -> tuple[float, float] | None:
    if (lon is None) != (lat is None):
        raise InvalidParameter(
            "give both lat and lon, or neither; allowed: lat -90 to 90 with lon -180 to 180"
        )
    return None if lon is None or lat is None else (lon, lat)


async def _here(atlas: Atlas, lonlat: tuple[float, float] | None) -> str | None:
    """The one region holding the point, if any (read and built off the event loop)."""
    if lonlat is None:
        return None
    try:
        return (await answering(atlas, *lonlat, None)).name
    except (PointOutsideRegion, AmbiguousRegion, RegionNotFound):
        return None  # search them all, nearest first


def _regions(infos: Sequence[RegionInfo], region: str | None, here: str | None) -> list[RegionInfo]:
    """The named region, else the one holding the point, else every loaded region."""
    by_name = {i.name: i for i in infos}
    if region is not None:
        if region not in by_name:
            raise RegionNotFound(region, list(by_name))
        return [by_name[region]]
    if not infos:
        raise RegionNotFound("(any)", [])
    return [by_name[here]] if here in by_name else list(infos)


class SearchIndexes:
    """Built indexes by region, each kept with the load time and kiosks it was built from."""

    def __init__(self) -> None:
        self._built: dict[str, tuple[Any, SearchIndex]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, info: RegionInfo, kiosks: tuple[Any, ...], atlas: Atlas) -> SearchIndex:
        """The index of ``info``'s region as loaded then, built (in a thread) when missing."""
        key = (info.loaded_at, kiosks)
        async with self._locks.setdefault(info.name, asyncio.Lock()):
            kept = self._built.get(info.name)
            if kept is None or kept[0] != key:
                index = await run_in_threadpool(_build, atlas, info.name, kiosks)
                self._built[info.name] = kept = (key, index)
            return kept[1]

    def built_at(self, region: str) -> datetime | None:
        """The load time of the region the kept index was built from, if any."""
        kept = self._built.get(region)
        return None if kept is None else kept[0][0]


def _build(atlas: Atlas, region: str, kiosks: tuple[Any, ...]) -> SearchIndex:
    return index_region(atlas.store.load_region(region), atlas.standard, kiosks)


async def _index(request: Request, atlas: Atlas, info: RegionInfo) -> SearchIndex:
    state = request.app.state
    cache: SearchIndexes | None = getattr(state, "search_indexes", None)
    if cache is None:
        cache = state.search_indexes = SearchIndexes()
    kiosks = tuple(k for k in getattr(state, "kiosks", {}).values() if k.region == info.name)
    return await cache.get(info, kiosks, atlas)
