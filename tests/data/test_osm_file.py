"""Reading OSM files: formats, the walkable filter, facilities, and bad files."""

from __future__ import annotations

import bz2
import json
from pathlib import Path

import geopandas as gpd
import pytest

from livingcircle.data.embedded import FileStore
from livingcircle.data.load import load_osm
from livingcircle.data.osm_file import read_osm_file
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import EmptyExtract, OSMFileError, StoreError
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.standards import Standard

# A 3 x 1 ladder of footways 0.001 degrees apart (~55 m east-west, ~111 m north-south),
# a cycleway and a private road that must be left out, and facilities as node and area.
NODES = {
    1: (60.0000, 25.000),
    2: (60.0000, 25.001),
    3: (60.0000, 25.002),
    4: (60.0010, 25.000),
    5: (60.0010, 25.001),
    6: (60.0010, 25.002),
    7: (60.0020, 25.000),
    8: (60.0020, 25.001),
    # school grounds, a square north-east of node 6
    20: (60.0012, 25.0022),
    21: (60.0012, 25.0030),
    22: (60.0018, 25.0030),
    23: (60.0018, 25.0022),
}
WAYS = [
    (100, [1, 2, 3], {"highway": "footway"}),
    (101, [4, 5, 6], {"highway": "residential", "name": "Test Street"}),
    (102, [1, 4], {"highway": "footway"}),
    (103, [2, 5], {"highway": "footway", "oneway:foot": "yes"}),
    (104, [3, 6], {"highway": "steps"}),
    (105, [4, 7], {"highway": "cycleway"}),  # osmnx's walk filter leaves cycleways out
    (106, [5, 8], {"highway": "service", "access": "private"}),
    (107, [20, 21, 22, 23, 20], {"amenity": "school", "name": "Ladder School"}),
]
POIS = {
    2: {"amenity": "pharmacy", "name": "Apteekki", "opening_hours": "Mo-Fr 08:00-20:00"},
    5: {"amenity": "clinic", "name": "Clinic", "name:zh": "诊所"},
    8: {"shop": "bakery"},  # no category
}


def osm_xml(
    nodes: dict[int, tuple[float, float]] = NODES,
    ways: list = WAYS,  # type: ignore[type-arg]
    pois: dict[int, dict[str, str]] = POIS,
) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for nid, (lat, lon) in nodes.items():
        tags = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in pois.get(nid, {}).items())
        out.append(f'<node id="{nid}" version="1" lat="{lat}" lon="{lon}">{tags}</node>')
    for wid, refs, tags in ways:
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        out.append(f'<way id="{wid}" version="1">{nds}{tg}</way>')
    out.append("</osm>")
    return "\n".join(out)


@pytest.fixture
def ladder(tmp_path: Path) -> Path:
    path = tmp_path / "ladder.osm"
    path.write_text(osm_xml(), encoding="utf-8")
    return path


def test_xml_network_follows_the_walkable_filter(ladder: Path, standard: Standard) -> None:
    ex = read_osm_file(ladder, standard)
    ways = set(ex.edges["way_id"])
    assert ways == {100, 101, 102, 103, 104}  # no cycleway, no private service road
    assert len(ex.edges) == 7  # 100 and 101 split at their middle junction
    assert set(ex.nodes["osmid"]) == {1, 2, 3, 4, 5, 6}
    assert ex.edges.loc[ex.edges["way_id"] == 103, "oneway"].tolist() == [True]
    assert ex.edges.loc[ex.edges["way_id"] == 101, "name"].unique().tolist() == ["Test Street"]
    north_south = ex.edges.loc[ex.edges["way_id"] == 102, "length_m"].iloc[0]
    assert north_south == pytest.approx(111.4, abs=0.5)  # 0.001 degrees of latitude at 60 N


def test_facilities_get_categories_names_and_polygons(ladder: Path, standard: Standard) -> None:
    fac = read_osm_file(ladder, standard).facilities.set_index("id")
    assert set(fac.index) == {"osm:node/2", "osm:node/5", "osm:way/107"}
    assert fac.loc["osm:node/2", "category"] == "pharmacy"
    assert fac.loc["osm:node/2", "opening_hours"] == "Mo-Fr 08:00-20:00"
    assert fac.loc["osm:node/5", "name_zh"] == "诊所"
    assert fac.loc["osm:way/107", "geometry"].geom_type == "Polygon"
    assert json.loads(fac.loc["osm:way/107", "tags"])["name"] == "Ladder School"


def test_polygon_facility_counts_from_its_street_side(ladder: Path, standard: Standard) -> None:
    ex = read_osm_file(ladder, standard)
    reg = Region("t", StreetNetwork.from_frames(ex.nodes, ex.edges), ex.facilities, standard)
    hit = reg.nearest(25.002, 60.0010, ["school"], routes=False).by_category["school"][0]
    # the grounds' nearest corner is ~24 m from node 6; a centroid would be ~70 m away
    assert hit.distance_m == pytest.approx(24.5, abs=2.0)
    assert (hit.lon, hit.lat) == pytest.approx((25.0022, 60.0012), abs=1e-6)


def test_bz2_xml_reads_the_same(ladder: Path, tmp_path: Path, standard: Standard) -> None:
    packed = tmp_path / "ladder.osm.bz2"
    packed.write_bytes(bz2.compress(ladder.read_bytes()))
    a, b = read_osm_file(ladder, standard), read_osm_file(packed, standard)
    assert a.edges.drop(columns="geometry").equals(b.edges.drop(columns="geometry"))
    assert list(a.facilities["id"]) == list(b.facilities["id"])


def test_sample_pbf_has_a_real_network(sample_extract) -> None:  # type: ignore[no-untyped-def]
    assert len(sample_extract.nodes) > 2_000
    assert len(sample_extract.facilities) > 500
    assert sample_extract.edges["length_m"].gt(0).all()
    assert {"restaurant", "bus_stop", "pharmacy"} <= set(sample_extract.facilities["category"])


def test_missing_file(tmp_path: Path, standard: Standard) -> None:
    with pytest.raises(OSMFileError, match="does not exist"):
        read_osm_file(tmp_path / "nowhere.osm.pbf", standard)


def test_wrong_kind_of_file(tmp_path: Path, standard: Standard) -> None:
    path = tmp_path / "city.csv"
    path.write_text("a,b\n")
    with pytest.raises(OSMFileError, match="allowed endings"):
        read_osm_file(path, standard)


def test_truncated_pbf(tmp_path: Path, sample_path: Path, standard: Standard) -> None:
    path = tmp_path / "cut.osm.pbf"
    path.write_bytes(sample_path.read_bytes()[:50_000])
    with pytest.raises(OSMFileError, match="cannot read OSM file"):
        read_osm_file(path, standard)


def test_extract_without_streets(tmp_path: Path, standard: Standard) -> None:
    path = tmp_path / "pois.osm"
    path.write_text(osm_xml(ways=[]), encoding="utf-8")
    with pytest.raises(EmptyExtract, match="no walkable street"):
        read_osm_file(path, standard)


def test_failed_load_keeps_the_loaded_region(
    tmp_path: Path, ladder: Path, standard: Standard
) -> None:
    store = FileStore(tmp_path / "store")
    first = load_osm(store, ladder, "ladder", standard)
    broken = tmp_path / "broken.osm"
    broken.write_text(osm_xml()[:-200], encoding="utf-8")  # cut mid-file
    with pytest.raises(OSMFileError):
        load_osm(store, broken, "ladder", standard)
    (info,) = store.regions()
    assert info == first
    assert len(store.load_region("ladder").edges) == 7


def test_write_failure_leaves_no_partial_version(
    tmp_path: Path, ladder: Path, standard: Standard, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path / "store")
    first = load_osm(store, ladder, "ladder", standard)

    def disk_full(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gpd.GeoDataFrame, "to_parquet", disk_full)
    with pytest.raises(StoreError, match="No space left"):
        load_osm(store, ladder, "ladder", standard)
    assert store.regions() == [first]
    versions = list((tmp_path / "store" / "regions" / "ladder").glob("v-*"))
    assert len(versions) == 1
