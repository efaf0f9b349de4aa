"""A planner's own files: homes as CSV or GeoPackage, community boundaries, parcels."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from livingcircle.data.user_files import read_boundaries, read_homes, read_parcels
from livingcircle.geo.errors import InvalidParameter
from tests.handmade import lonlat


def test_csv_homes_with_population_and_community(tmp_path: Path) -> None:
    path = tmp_path / "homes.csv"
    (lon1, lat1), (lon2, lat2) = lonlat(0, 0), lonlat(100, 0)
    path.write_text(
        f"Longitude,Latitude,Pop,community\n{lon1},{lat1},30,东\n{lon2},{lat2},10,\n",
        encoding="utf-8",
    )
    homes = read_homes(path)
    assert homes["population"].tolist() == [30, 10]
    assert homes["community"].tolist() == ["东", ""]
    assert homes.crs.to_epsg() == 4326 and homes.geometry.x[0] == pytest.approx(lon1)
    assert read_homes(path, total=80)["population"].tolist() == [60, 20]


def test_csv_homes_keep_their_age_groups(tmp_path: Path) -> None:
    path = tmp_path / "homes.csv"
    (lon1, lat1), (lon2, lat2) = lonlat(0, 0), lonlat(100, 0)
    path.write_text(
        f"lon,lat,population,elderly,children_share\n{lon1},{lat1},30,6,0.5\n"
        f"{lon2},{lat2},10,1,0\n",
        encoding="utf-8",
    )
    homes = read_homes(path, total=80)
    assert homes["elderly"].tolist() == [12, 2]  # scaled as the population was
    assert homes["children_share"].tolist() == [0.5, 0]


def test_csv_without_coordinates_or_with_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "homes.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InvalidParameter, match="longitude and latitude"):
        read_homes(path)
    path.write_text("lon,lat\n121.5,29.8\n,29.8\n")
    with pytest.raises(InvalidParameter, match="row 3"):
        read_homes(path)
    with pytest.raises(InvalidParameter, match="does not exist"):
        read_homes(tmp_path / "nope.csv")


def test_geopackage_footprints_are_spread(tmp_path: Path) -> None:
    polys = [
        shapely.box(*lonlat(0, 0), *lonlat(10, 10)),
        shapely.box(*lonlat(50, 0), *lonlat(70, 10)),
    ]
    path = tmp_path / "blocks.gpkg"
    gpd.GeoDataFrame({"levels": [2, 1]}, geometry=polys, crs="EPSG:4326").to_file(path)
    homes = read_homes(path, total=100)
    assert (homes.geometry.geom_type == "Point").all()
    assert homes["population"].tolist() == pytest.approx([50, 50], rel=1e-2)


def test_boundaries_and_parcels(tmp_path: Path) -> None:
    path = tmp_path / "communities.geojson"
    gpd.GeoDataFrame(
        {"社区": ["东", "西"]},
        geometry=[
            shapely.box(*lonlat(0, 0), *lonlat(10, 10)),
            shapely.box(*lonlat(20, 0), *lonlat(30, 10)),
        ],
        crs="EPSG:4326",
    ).to_file(path)
    assert read_boundaries(path)["name"].tolist() == ["东", "西"]
    parcels = read_parcels(path)
    assert len(parcels) == 2
    points = tmp_path / "points.geojson"
    gpd.GeoDataFrame({"x": [1]}, geometry=[shapely.Point(lonlat(0, 0))], crs="EPSG:4326").to_file(
        points
    )
    with pytest.raises(InvalidParameter):
        read_boundaries(points)
