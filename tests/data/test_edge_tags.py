"""Edges keep the way tags walking profiles read, and the kerb and crossing tags of nodes."""

from __future__ import annotations

from pathlib import Path

import pytest

from livingcircle.data.osm_file import read_osm_file
from livingcircle.data.osm_stream import EDGE_TEXT_COLUMNS, read_walking_network
from livingcircle.geo.config import RULE_TAGS
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.profiles import profile_network
from livingcircle.geo.standards import Standard
from tests.data.test_osm_file import osm_xml

# A street 1-2-3 and two crossings of it: 10-11-12-2 (two kerb nodes on its line, a
# crossing node at its end) and 3-14-13 (its own crossing tag, a kerb node without a value).
NODES = {
    1: (60.0000, 25.000),
    2: (60.0000, 25.001),
    3: (60.0000, 25.002),
    10: (60.0010, 25.001),
    11: (60.0007, 25.001),
    12: (60.0003, 25.001),
    13: (60.0010, 25.002),
    14: (60.0005, 25.002),
}
WAYS = [
    (200, [1, 2, 3], {"highway": "residential", "surface": "asphalt", "name": "Kåre väg 🚶"}),
    (201, [10, 11, 12, 2], {"highway": "footway", "footway": "crossing"}),
    (
        202,
        [3, 14, 13],
        {"highway": "footway", "footway": "crossing", "crossing": "traffic_signals"},
    ),
]
NODE_TAGS = {
    2: {"highway": "crossing", "crossing": "uncontrolled"},
    3: {"highway": "crossing", "crossing": "marked"},
    11: {"barrier": "kerb", "kerb": "raised"},
    12: {"barrier": "kerb", "kerb": "lowered"},
    14: {"barrier": "kerb"},
}


@pytest.fixture
def crossings(tmp_path: Path) -> Path:
    path = tmp_path / "crossings.osm"
    path.write_text(osm_xml(NODES, WAYS, NODE_TAGS), encoding="utf-8")
    return path


@pytest.mark.parametrize("reader", ["file", "stream"])
def test_edges_carry_way_and_node_tags(crossings: Path, standard: Standard, reader: str) -> None:
    if reader == "file":
        edges = read_osm_file(crossings, standard).edges
    else:
        edges = read_walking_network(crossings, standard, min_component_nodes=1)[1]
    assert set(RULE_TAGS) <= set(edges.columns)
    assert [c for c in edges.columns if c in EDGE_TEXT_COLUMNS] == list(EDGE_TEXT_COLUMNS)
    got = {
        int(w): (s, c, k, n)
        for w, s, c, k, n in zip(
            edges["way_id"],
            edges["surface"],
            edges["crossing"],
            edges["kerb"],
            edges["name"],
            strict=True,
        )
        if w != 200
    }
    # a kerb on the line: the first along the way; a crossing node at the end
    assert got[201] == ("", "uncontrolled", "raised", "")
    # the way's own crossing tag wins; a kerb node without kerb=* gives nothing
    assert got[202] == ("", "traffic_signals", "", "")
    street = edges.loc[edges["way_id"] == 200]
    assert street["surface"].tolist() == ["asphalt", "asphalt"]
    assert street["name"].tolist() == ["Kåre väg 🚶"] * 2
    # 1-2 ends at the crossing node 2; 2-3 meets 2 first, then 3
    assert street["crossing"].tolist() == ["uncontrolled", "uncontrolled"]
    assert not edges[list(EDGE_TEXT_COLUMNS)].isna().any().any()


def test_step_free_leaves_out_the_raised_kerb(crossings: Path, standard: Standard) -> None:
    ex = read_osm_file(crossings, standard)
    net = StreetNetwork.from_frames(ex.nodes, ex.edges)
    _, kept = profile_network(net, standard.profiles["step-free"])
    left_out = set(ex.edges["way_id"]) - set(ex.edges["way_id"].to_numpy()[kept])
    assert left_out == {201}
