"""The streamed reader builds the same walking network as the Way-by-Way builder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from livingcircle.data.osm_file import _Collector, read_osm_file
from livingcircle.data.osm_stream import (
    NODE_TAGS,
    WayColumns,
    read_walking_network,
    write_network_pbf,
)
from livingcircle.data.synthetic import grid_city
from livingcircle.geo.errors import EmptyExtract, InvalidParameter, OSMFileError
from livingcircle.geo.network import build_network
from livingcircle.geo.standards import Standard
from tests.data.test_osm_file import NODES, WAYS, osm_xml


def assert_same_network(
    a: tuple[pd.DataFrame, gpd.GeoDataFrame],
    b: tuple[pd.DataFrame, gpd.GeoDataFrame],
    b_has_node_tags: bool = True,
) -> None:
    """Same nodes, same edges in the same order, lengths to 1e-6 m, identical lines.

    Where ``b`` was built without node tags, ``a``'s node-tag columns equal ``b``'s where
    the way has the tag itself.
    """
    pd.testing.assert_frame_equal(a[0], b[0])
    plain = ["geometry", "length_m"]
    if not b_has_node_tags:
        for _, _, tag in NODE_TAGS:
            own = b[1][tag] != ""
            assert (a[1][tag][own] == b[1][tag][own]).all()
        plain += [tag for _, _, tag in NODE_TAGS]
    pd.testing.assert_frame_equal(a[1].drop(columns=plain), b[1].drop(columns=plain))
    np.testing.assert_allclose(a[1]["length_m"], b[1]["length_m"], rtol=0, atol=1e-6)
    assert shapely.equals_exact(a[1].geometry.values, b[1].geometry.values, 0).all()
    assert a[1].crs == b[1].crs


def legacy(path: Path, standard: Standard) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """The network as it was built before streaming: Way records through build_network.

    Each edge's way tags are joined by way id (node tags are not: compare with
    ``b_has_node_tags=False``).
    """
    columns, _ = _Collector(standard, None).read(path, "flex_mem")
    return with_way_text(build_network(columns.ways()), columns)


def with_way_text(
    network: tuple[pd.DataFrame, gpd.GeoDataFrame], columns: WayColumns
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    nodes, edges = network
    way_id, text = columns.way_text()
    row = pd.Index(way_id).get_indexer(edges["way_id"])
    assert (row >= 0).all()
    joined = edges.assign(**{k: v[row] for k, v in text.items()})
    order = [c for c in joined.columns if c != "geometry"] + ["geometry"]
    return nodes, joined[order]


def test_sample_network_equals_the_way_by_way_build(sample_path: Path, standard: Standard) -> None:
    streamed = read_walking_network(sample_path, standard)
    assert_same_network(streamed, legacy(sample_path, standard), b_has_node_tags=False)
    full = read_osm_file(sample_path, standard)
    assert_same_network(streamed, (full.nodes, full.edges))
    assert len(full.nodes) > 2_000 and len(full.facilities) > 500


def test_in_memory_index_gives_the_same_network(sample_path: Path, standard: Standard) -> None:
    on_disk = read_walking_network(sample_path, standard)
    assert_same_network(read_walking_network(sample_path, standard, locations="flex_mem"), on_disk)


def test_clipped_ways_reversed_ways_and_loops(tmp_path: Path, standard: Standard) -> None:
    ways = [
        *WAYS,
        (110, [3, 999, 6, 998, 2], {"highway": "footway"}),  # 999, 998 missing: clipped
        (111, [7, 8], {"highway": "footway", "oneway:foot": "-1"}),
        (112, [5, 8, 7, 5], {"highway": "path"}),  # a loop back to its start
        (113, [997, 996], {"highway": "footway"}),  # no located node at all
    ]
    path = tmp_path / "odd.osm"
    path.write_text(osm_xml(ways=ways), encoding="utf-8")
    streamed = read_walking_network(path, standard, min_component_nodes=1)
    columns = _Collector(standard, None).read(path, "flex_mem")[0]
    assert_same_network(
        streamed, with_way_text(build_network(columns.ways(), min_component_nodes=1), columns)
    )
    edges = streamed[1]
    assert 110 not in set(edges["way_id"])  # no run of two located nodes is left
    back = edges.loc[edges["way_id"] == 111].iloc[0]
    osmid = streamed[0]["osmid"].to_numpy()
    assert (osmid[back["u"]], osmid[back["v"]]) == (8, 7)  # against the way, as the tag says


def test_generated_city_round_trips_through_pbf(tmp_path: Path, standard: Standard) -> None:
    nodes, edges, _ = grid_city(3_000, seed=3)
    path = write_network_pbf(nodes, edges, tmp_path / "grid.osm.pbf")
    got_nodes, got_edges = read_walking_network(path, standard)
    assert_same_network((got_nodes, got_edges), legacy(path, standard), b_has_node_tags=False)
    assert len(got_nodes) == len(nodes) and len(got_edges) == len(edges)
    np.testing.assert_allclose(got_nodes["lon"], nodes["lon"], atol=1e-7)  # osmium's 1e-7 grid


def test_a_tile_holds_the_ways_touching_its_box(sample_path: Path, standard: Standard) -> None:
    _nodes, edges = read_walking_network(sample_path, standard)
    west, south, east, north = edges.total_bounds
    box = (west, south, (west + east) / 2, (south + north) / 2)
    tile_nodes, tile_edges = read_walking_network(sample_path, standard, bbox=box)
    assert 0 < len(tile_edges) < len(edges)
    assert set(tile_edges["way_id"]) <= set(edges["way_id"])
    inside = tile_nodes["lon"].between(box[0], box[2]) & tile_nodes["lat"].between(box[1], box[3])
    assert inside.mean() > 0.5  # mostly inside, with whole ways reaching out past the border
    far = (east + 1.0, south, east + 2.0, north)
    with pytest.raises(EmptyExtract):
        read_walking_network(sample_path, standard, bbox=far)


def test_bad_box_index_and_file_are_refused(tmp_path: Path, standard: Standard) -> None:
    ladder = tmp_path / "ladder.osm"
    ladder.write_text(osm_xml(NODES), encoding="utf-8")
    with pytest.raises(InvalidParameter, match="west < east"):
        read_walking_network(ladder, standard, bbox=(25.1, 60.0, 25.0, 60.1))
    with pytest.raises(InvalidParameter, match="allowed: sparse_file_array"):
        read_walking_network(ladder, standard, locations="ram")
    cut = tmp_path / "cut.osm"
    cut.write_text(osm_xml()[:500], encoding="utf-8")
    with pytest.raises(OSMFileError, match="complete"):
        read_walking_network(cut, standard)


@pytest.mark.slow
def test_ingest_bench_runs() -> None:
    bench = Path(__file__).resolve().parents[2] / "bench" / "bench_ingest.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--datasets", "sample", "--readers", "stream", "full"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("sample")]
    assert [r[2] for r in rows] == ["stream", "full"] and {r[3] for r in rows} == {"3,225"}
