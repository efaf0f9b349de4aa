"""DEM sampling at load: a GeoTIFF the tests write, reprojected, partial, or refused.

The DEM is a plane rising 6 m per 100 m eastwards, written in ETRS-TM35FIN (EPSG:3067,
Finland's own projection), so the nodes are reprojected into it; the sample's slopes then
feed the profiles' rules.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer

from livingcircle.data.embedded import FileStore
from livingcircle.data.load import load_osm
from livingcircle.data.osm_file import Extract
from livingcircle.geo.elevation import sample_dem
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import DEMError
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.profiles import node_slopes, profile_network
from livingcircle.geo.standards import Standard
from tests.test_cli import run

Box = tuple[float, float, float, float]
GRADE = 0.06  # rise per metre eastwards
CELL = 10.0  # metres


def write_dem(
    path: Path,
    lonlat_box: tuple[float, float, float, float],
    crs: str | None = "EPSG:3067",
    east_share: float = 1.0,
) -> Path:
    """A plane DEM over the west ``east_share`` of a lon/lat box, in ``crs`` metres."""
    west, south, east, north = lonlat_box
    to = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True)
    xs, ys = to.transform([west, east, west, east], [south, south, north, north])
    x0, x1, y0, y1 = min(xs) - 50, max(xs) + 50, min(ys) - 50, max(ys) + 50
    x1 = x0 + (x1 - x0) * east_share
    width, height = int((x1 - x0) // CELL), int((y1 - y0) // CELL)
    centres = x0 + CELL * (np.arange(width) + 0.5)
    heights = np.tile(10 + GRADE * (centres - x0), (height, 1)).astype(np.float32)
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": 1,
        "dtype": "float32",
        "transform": Affine(CELL, 0, x0, 0, -CELL, y1),
        "nodata": -9999.0,
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(heights, 1)
    return path


@pytest.fixture(scope="module")
def box(sample_extract: Extract) -> Box:
    n = sample_extract.nodes
    return (n["lon"].min(), n["lat"].min(), n["lon"].max(), n["lat"].max())


def test_a_projected_dem_is_sampled_at_every_node(
    tmp_path: Path,
    sample_extract: Extract,
    box: Box,
) -> None:
    dem = write_dem(tmp_path / "dem.tif", box)
    n = sample_extract.nodes
    got = sample_dem(dem, n["lon"].to_numpy(), n["lat"].to_numpy())
    assert got.coverage == 1.0 and got.crs == "EPSG:3067"
    assert "every street node" in got.describe()
    x, _ = Transformer.from_crs("EPSG:4326", "EPSG:3067", always_xy=True).transform(
        n["lon"].to_numpy(), n["lat"].to_numpy()
    )
    # the plane's height at each node (bilinear is exact on a plane, float32 aside)
    assert np.abs(np.diff(got.metres) - GRADE * np.diff(x)).max() < 1e-3


def test_a_partial_dem_says_how_much_it_covers(
    tmp_path: Path,
    sample_extract: Extract,
    box: Box,
) -> None:
    dem = write_dem(tmp_path / "half.tif", box, east_share=0.5)
    n = sample_extract.nodes
    got = sample_dem(dem, n["lon"].to_numpy(), n["lat"].to_numpy())
    assert 0.2 < got.coverage < 0.8
    assert f"{got.coverage:.1%} of {len(n):,} street nodes" in got.describe()


def test_dems_without_a_crs_or_elsewhere_are_refused(
    tmp_path: Path,
    sample_extract: Extract,
    box: Box,
) -> None:
    n = sample_extract.nodes
    lon, lat = n["lon"].to_numpy(), n["lat"].to_numpy()
    with pytest.raises(DEMError, match="no coordinate reference system"):
        sample_dem(write_dem(tmp_path / "nocrs.tif", box, crs=None), lon, lat)
    far = write_dem(tmp_path / "far.tif", (box[0] + 1, box[1], box[2] + 1, box[3]))
    with pytest.raises(DEMError, match=r"EPSG:3067, bounds .* covers none of the region"):
        sample_dem(far, lon, lat)
    (tmp_path / "bad.tif").write_text("not a tiff")
    with pytest.raises(DEMError, match="cannot read DEM"):
        sample_dem(tmp_path / "bad.tif", lon, lat)


def test_load_with_a_dem_feeds_the_slope_rules(
    tmp_path: Path,
    sample_path: Path,
    standard: Standard,
    box: Box,
) -> None:
    store = FileStore(tmp_path / "store")
    told: list[str] = []
    dem = write_dem(tmp_path / "dem.tif", box)
    load_osm(store, sample_path, "hilly", standard, dem=dem, told=told.append)
    assert any("gives every street node an elevation" in t for t in told)
    data = store.load_region("hilly")
    net = StreetNetwork.from_frames(data.nodes, data.edges)
    assert net.node_ele is not None and np.isfinite(net.node_ele).all()
    slopes = np.abs(node_slopes(net, net.node_ele))
    assert np.median(slopes) > 0.01 and slopes.max() <= GRADE + 1e-3  # no cell steps
    flat = StreetNetwork.from_frames(data.nodes.drop(columns="ele"), data.edges)
    for name in ("elderly", "step-free"):
        hilly, kept = profile_network(net, standard.profiles[name])
        level, kept_level = profile_network(flat, standard.profiles[name])
        assert len(kept) <= len(kept_level)  # steep streets drop out of step-free
        shared = np.isin(kept_level, kept)
        assert (hilly.edge_length >= level.edge_length[shared] - 1e-9).all()
        assert (hilly.edge_length > level.edge_length[shared] + 1e-6).mean() > 0.5
    region = Region("hilly", net, data.facilities, standard)
    lon, lat = 24.9414, 60.1710
    on_hill = region.nearest(lon, lat, ["pharmacy"], profile="elderly").by_category["pharmacy"]
    level_region = Region("flat", flat, data.facilities, standard)
    on_level = level_region.nearest(lon, lat, ["pharmacy"], profile="elderly")
    assert on_hill[0].time_s > on_level.by_category["pharmacy"][0].time_s


def test_the_load_command_takes_a_dem_and_says_how_much_it_covers(
    tmp_path: Path, sample_path: Path, box: Box
) -> None:
    dem = write_dem(tmp_path / "half.tif", box, east_share=0.5)
    done = run(tmp_path / "data", "load", str(sample_path), "--region", "h", "--dem", str(dem))
    assert done.returncode == 0, done.stderr
    assert "of 3,225 street nodes an elevation" in done.stderr
    refused = run(tmp_path / "data", "load", str(sample_path), "--region", "h", "--dem", "x.tif")
    assert refused.returncode != 0 and "cannot read DEM x.tif" in refused.stderr
