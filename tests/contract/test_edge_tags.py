"""Both stores keep the edges' way tags and the nodes' elevations, and profiles read them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from alembic import command
from alembic.config import Config
from geopandas.testing import assert_geodataframe_equal

from livingcircle.data.load import load_osm, save_extract
from livingcircle.data.osm_file import Extract
from livingcircle.data.osm_stream import EDGE_TEXT_COLUMNS
from livingcircle.data.pg.engine import engine_for, parse_url
from livingcircle.data.pg.migrate import MIGRATIONS
from livingcircle.data.pg_schema import EDGE_TAG_COLUMNS, SCHEMA_REVISION
from livingcircle.data.postgis import PostgisStore, upgrade
from livingcircle.geo.config import RULE_TAGS
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidText
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.profiles import profile_network
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import RegionData, Store
from tests.geo.test_profiles import mismatches
from tests.geo.test_reference_dijkstra import query_points

REGION = "helsinki"
#: Tag values that are allowed but odd: COPY escapes, quotes, scripts, joiners, emoji.
ODD = ["a\tb", "line\r\nbreak", "back\\slash", "\"'", "石板路", "ن\u200cا", "🦽", " ", "\\N"]


def _odd_region(data: RegionData) -> RegionData:
    edges = data.edges.copy()
    n = len(edges)
    for i, tag in enumerate(EDGE_TAG_COLUMNS):
        values = edges[tag].to_numpy(object).copy()
        values[i :: len(ODD) + 3][: len(ODD)] = ODD
        edges[tag] = pd.array(values, dtype="str")
    heights = np.linspace(0.0, 85.5, len(data.nodes))
    heights[::7] = np.nan  # where a DEM had no height
    nodes = data.nodes.assign(ele=heights)
    assert n == data.info.n_edges
    return RegionData(data.info, nodes, edges, data.facilities)


def test_the_sample_has_every_tag_column(sample_data: RegionData) -> None:
    assert list(EDGE_TAG_COLUMNS) == [k for k in RULE_TAGS if k != "highway"]
    columns = [c for c in sample_data.edges.columns if c in EDGE_TEXT_COLUMNS]
    assert columns == list(EDGE_TEXT_COLUMNS)


def test_tags_and_elevations_round_trip(store: Store, sample_data: RegionData) -> None:
    data = _odd_region(sample_data)
    store.save_region(data)
    back = store.load_region(REGION)
    pd.testing.assert_frame_equal(back.nodes, data.nodes)
    assert_geodataframe_equal(back.edges, data.edges)
    net = StreetNetwork.from_frames(back.nodes, back.edges)
    assert net.node_ele is not None and np.isnan(net.node_ele).sum() == len(back.nodes[::7])
    assert set(ODD) <= set(net.edge_tags["surface"].tolist())


def test_a_region_without_tags_or_heights_comes_back_without(
    store: Store, sample_data: RegionData
) -> None:
    edges = sample_data.edges.drop(columns=list(EDGE_TAG_COLUMNS))
    data = RegionData(sample_data.info, sample_data.nodes, edges, sample_data.facilities)
    store.save_region(data)
    back = store.load_region(REGION)
    assert "ele" not in back.nodes.columns
    assert_geodataframe_equal(back.edges, edges)


@pytest.mark.parametrize("bad", ["gravel\x00", "\x07", "\ud800"])
def test_a_tag_the_database_cannot_hold_is_refused_on_both_stores(
    store: Store, sample_data: RegionData, bad: str
) -> None:
    edges = sample_data.edges.copy()
    values = edges["surface"].to_numpy(object).copy()
    values[3] = bad
    edges["surface"] = pd.Series(values, index=edges.index, dtype=object)  # arrow cannot hold it
    with pytest.raises(InvalidText, match="surface"):
        store.save_region(replace(sample_data, edges=edges))
    assert store.regions() == []


def test_a_load_cleans_a_nul_in_a_tag(store: Store, sample_extract: Extract) -> None:
    """OSM text is not refused but cleaned, on both stores alike (COPY never sees the NUL)."""
    edges = sample_extract.edges.copy()
    values = edges["surface"].to_numpy(object).copy()
    values[3] = "grav\x00el"
    edges["surface"] = values
    save_extract(store, REGION, replace(sample_extract, edges=edges), "osm-file:test")
    assert store.load_region(REGION).edges["surface"].iloc[3] == "gravel"


def test_the_loaded_sample_walks_step_free_as_networkx_does(
    store: Store, sample_path: Path, standard: Standard
) -> None:
    """After a load, steps and surfaces are on the edges; step-free leaves the steps out."""
    load_osm(store, sample_path, REGION, standard)
    data = store.load_region(REGION)
    region = Region(
        REGION, StreetNetwork.from_frames(data.nodes, data.edges), data.facilities, standard
    )
    tags = region.net.edge_tags
    steps = tags["highway"] == "steps"
    assert steps.sum() > 50 and (tags["surface"] != "").sum() > 1_000
    assert (tags["surface"][steps] != "").any()  # steps with a surface tag
    _, kept = profile_network(region.net, standard.profiles["step-free"])
    assert not steps[kept].any() and len(kept) < region.net.n_edges - steps.sum() + 1
    assert mismatches(region, "step-free", query_points(region, 8)) == 0


@pytest.mark.postgis
def test_a_region_saved_before_0007_loads_as_it_was_saved(
    make_database: Callable[..., str], sample_data: RegionData
) -> None:
    """Rows written before the tag columns come back without them (NULL), not as ""."""
    url = make_database()
    PostgisStore(url).save_region(sample_data)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine_for(parse_url(url)).begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0006")  # drops the columns 0007 added, and what came after
    assert upgrade(url) == SCHEMA_REVISION
    back = PostgisStore(url).load_region(REGION)
    assert "ele" not in back.nodes.columns
    assert_geodataframe_equal(back.edges, sample_data.edges.drop(columns=list(EDGE_TAG_COLUMNS)))
