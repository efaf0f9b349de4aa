"""livingcircle: what a resident can reach on foot, and where the city fails them.

The Python API in a few lines (all of it importable from :mod:`livingcircle.public`)::

    import livingcircle as lc
    helsinki = lc.open("helsinki")             # after `livingcircle demo`, or lc.load(...)
    helsinki.nearest((60.1710, 24.9414), categories=["pharmacy"])   # a GeoDataFrame
    helsinki.explore((60.1710, 24.9414))                              # a Folium map

Its rooms: :mod:`livingcircle.public` (open, load, fetch, regions, categories,
analyse_province), :mod:`livingcircle.region` (a region's questions),
:mod:`livingcircle.answers` (the frames they answer with), :mod:`livingcircle.places`
(places by name) and :mod:`livingcircle.arguments` (argument checks, progress bars).
Dask runs: :mod:`livingcircle.cluster` (connecting, probing the workers' storage),
:mod:`livingcircle.batch_run` (catchments of many origins), :mod:`livingcircle.distributed`
(a province's gap analysis), :mod:`livingcircle.tile_tasks` (one tile, on a worker),
:mod:`livingcircle.province_outputs` (its summaries and PostGIS tables) and
:mod:`livingcircle.partitions` (a partitioned GeoParquet folder's ``_metadata``). The
command line is ``livingcircle.cli*``.

The public names load on first use, so ``import livingcircle.geo`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from livingcircle.public import (
        Analysis,
        Answer,
        PlaceNotFound,
        Region,
        analyse_province,
        categories,
        fetch,
        load,
        open,
        regions,
    )

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "Answer",
    "PlaceNotFound",
    "Region",
    "__version__",
    "analyse_province",
    "categories",
    "fetch",
    "load",
    "open",
    "regions",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("livingcircle.public"), name)
    raise AttributeError(f"module 'livingcircle' has no attribute {name!r}")
