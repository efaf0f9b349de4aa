"""Node elevations from a digital elevation model (a GeoTIFF), for the profiles' slope rules.

``livingcircle load ... --dem FILE.tif`` samples the DEM at every street node (rasterio;
bilinear between cell centres). A DEM in another CRS than WGS 84 is sampled by projecting
the nodes into its CRS; one without a CRS is refused. Nodes outside the DEM or on its
nodata cells get NaN, and the share that got a value is reported; a DEM that covers none
of the region is refused with its bounds. Slopes then come from the end nodes' elevations
(:func:`livingcircle.geo.profiles.node_slopes`), unless an ``incline`` tag says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.errors
from pyproj import CRS, Transformer

from livingcircle.geo.errors import DEMError
from livingcircle.geo.network import FloatArray


@dataclass(frozen=True)
class Elevations:
    """Elevations sampled at points: metres (NaN where the DEM has none), and its CRS."""

    metres: FloatArray
    crs: str

    @property
    def coverage(self) -> float:
        """Share of the points that got an elevation (0 to 1)."""
        return float(np.isfinite(self.metres).mean()) if len(self.metres) else 0.0

    def describe(self) -> str:
        """One line for the user: how much of the region the DEM covers."""
        return (
            f"DEM ({self.crs}) gives {self.coverage:.1%} of {len(self.metres):,} street nodes "
            "an elevation; slopes elsewhere come from incline tags only"
            if self.coverage < 1
            else f"DEM ({self.crs}) gives every street node an elevation"
        )


def sample_dem(path: Path | str, lon: FloatArray, lat: FloatArray, band: int = 1) -> Elevations:
    """Elevations of WGS 84 points from a GeoTIFF DEM (bilinear, metres).

    Raises
    ------
    DEMError
        The file cannot be read, has no CRS, or covers none of the points.
    """
    try:
        with rasterio.open(path) as dem:
            if dem.crs is None:
                raise DEMError(
                    f"DEM {path} has no coordinate reference system; allowed: a GeoTIFF with "
                    "one (EPSG:4326 or any projected CRS pyproj knows)"
                )
            crs = CRS.from_user_input(dem.crs.to_wkt())
            name = str(dem.crs.to_string())  # "EPSG:3067" where GDAL knows the code
            x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
            heights = _sample(dem, np.asarray(x, dtype=float), np.asarray(y, dtype=float), band)
            bounds = tuple(dem.bounds)
    except rasterio.errors.RasterioError as exc:
        raise DEMError(f"cannot read DEM {path}: {exc}; allowed: a GeoTIFF") from exc
    if len(heights) and not np.isfinite(heights).any():
        raise DEMError(
            f"DEM {path} ({name}, bounds {_bounds(bounds)}) covers none of the region's "
            f"{len(heights):,} street nodes; pass a DEM of the region"
        )
    return Elevations(heights, name)


def _sample(dem: rasterio.DatasetReader, x: FloatArray, y: FloatArray, band: int) -> FloatArray:
    """The band bilinearly interpolated at each (x, y) of the DEM's CRS; NaN off it or nodata.

    Bilinear, not the nearest cell: on a short street the nearest cells' steps would read as
    slopes many times the ground's (0.6 m over 5 m where the grade is 6 %).
    """
    inv = ~dem.transform  # pixel (col, row) from (x, y), applied by hand: one array op each
    col = inv.a * x + inv.b * y + inv.c - 0.5  # from cell centres
    row = inv.d * x + inv.e * y + inv.f - 0.5
    c0 = np.clip(np.floor(col).astype(np.int64), 0, max(dem.width - 2, 0))
    r0 = np.clip(np.floor(row).astype(np.int64), 0, max(dem.height - 2, 0))
    fc, fr = np.clip(col - c0, 0.0, 1.0), np.clip(row - r0, 0.0, 1.0)
    inside = (col >= -0.5) & (col <= dem.width - 0.5) & (row >= -0.5) & (row <= dem.height - 0.5)
    out = np.full(len(x), np.nan)
    if not inside.any():
        return out
    grid = np.ma.filled(dem.read(band, masked=True).astype(np.float64), np.nan)
    c1 = np.minimum(c0 + 1, dem.width - 1)
    r1 = np.minimum(r0 + 1, dem.height - 1)
    top = grid[r0, c0] * (1 - fc) + grid[r0, c1] * fc
    bottom = grid[r1, c0] * (1 - fc) + grid[r1, c1] * fc
    out[inside] = (top * (1 - fr) + bottom * fr)[inside]
    return out


def _bounds(bounds: tuple[float, ...]) -> str:
    return ", ".join(f"{b:.4f}" for b in bounds)
