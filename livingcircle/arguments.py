"""The Python API's arguments: checked once, with messages that say what is allowed.

Also the progress bars (``tqdm.auto``) the long calls show, and the standards file a call
names or the settings choose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

import geopandas as gpd
import numpy as np
import shapely
from tqdm.auto import tqdm

from livingcircle.geo.standards import Standard, load_standard
from livingcircle.settings import EngineSettings

#: A place a question starts from: ``(lat, lon)``, a Point (lon, lat), a name, or many origins.
Where: TypeAlias = tuple[float, float] | shapely.Point | str | gpd.GeoDataFrame | gpd.GeoSeries


def standard_from(path: str | Path | None) -> Standard:
    """The standards file ``path``, else the one the settings name (the bundled GB 50180)."""
    chosen = Path(path) if path is not None else EngineSettings().standards_file
    return load_standard(chosen)


class Bar:
    """Progress bars (``tqdm.auto``: widgets in Jupyter, text in a terminal), one per stage."""

    def __init__(self, enabled: bool, what: str) -> None:
        self.enabled, self.what = enabled, what
        self.bars: dict[str, Any] = {}

    def __enter__(self) -> Callable[[str, int, str], None]:
        return self

    def __call__(self, stage: str, count: int, unit: str) -> None:
        """``count`` ``unit`` done in ``stage`` (a new stage closes the earlier bars)."""
        if not self.enabled:
            return
        if stage not in self.bars:
            for bar in self.bars.values():
                bar.close()
            self.bars[stage] = tqdm(desc=stage, unit=f" {unit}", total=None, leave=False)
        bar = self.bars[stage]
        bar.update(max(count - bar.n, 0))

    def __exit__(self, *exc: object) -> None:
        for bar in self.bars.values():
            bar.close()


def check_origins(origins: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoSeries:
    """The origins as Points in EPSG:4326; refused without a CRS or when not Points."""
    geoms = origins.geometry if isinstance(origins, gpd.GeoDataFrame) else origins
    if geoms.crs is None:
        raise ValueError("the origins have no CRS; set one (gdf.set_crs('EPSG:4326'))")
    geoms = geoms.to_crs("EPSG:4326")
    kinds = set(geoms.geom_type.dropna())
    if not kinds <= {"Point"}:
        raise ValueError(
            f"origins must be Points, not {', '.join(sorted(kinds - {'Point'}))}; "
            "use .centroid or .representative_point() first"
        )
    return geoms


def origins_of(origins: object) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """The origins frame or series; anything else is refused."""
    if isinstance(origins, gpd.GeoDataFrame | gpd.GeoSeries):
        return origins
    raise TypeError(f"origins must be a GeoDataFrame or GeoSeries, not {type(origins).__name__}")


def check_names(what: str, values: Iterable[str] | None) -> list[str]:
    """Ids as a list (one str is one id); [] for None."""
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    values = list(values)
    if not all(isinstance(v, str) for v in values):
        raise TypeError(f"{what} must be a list of ids (str), not {values!r}")
    return values


def check_profile(profile: str) -> str:
    """A walking profile name, refused when not a str."""
    if not isinstance(profile, str):
        raise TypeError(f"profile must be a profile name (str), not {type(profile).__name__}")
    return profile


def check_int(what: str, value: object, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{what} must be a whole number from {low} to {high}, not {value!r}")
    if not low <= int(value) <= high:
        raise ValueError(f"{what}={value} is out of range; allowed: {low} to {high}")
    return int(value)


def check_minutes(minutes: Sequence[int]) -> list[int]:
    """Ring limits as whole minutes (one number is one ring)."""
    if isinstance(minutes, int | np.integer):
        minutes = [int(minutes)]
    if isinstance(minutes, str) or not all(
        isinstance(m, int | np.integer) and not isinstance(m, bool) for m in minutes
    ):
        raise TypeError(f"minutes must be whole numbers, e.g. [5, 10, 15], not {minutes!r}")
    return [int(m) for m in minutes]


def check_frame(what: str, value: object) -> gpd.GeoDataFrame | None:
    """A GeoDataFrame or None; anything else is refused."""
    if value is None or isinstance(value, gpd.GeoDataFrame):
        return value
    raise TypeError(f"{what} must be a GeoDataFrame or a file path, not {type(value).__name__}")
