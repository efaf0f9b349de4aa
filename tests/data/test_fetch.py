"""OSM online through osmnx, against a loopback Overpass server built from the sample file.

The fetched network and facilities must equal the file's for the same area: same counts,
same ids, same nearest answers. A server error and a timeout must give clear errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from livingcircle.cli import app
from livingcircle.data.embedded import FileStore
from livingcircle.data.fetch import (
    OverpassError,
    OverpassOptions,
    area_polygon,
    fetch_osm,
    fetch_region,
)
from livingcircle.data.osm_file import Extract
from livingcircle.data.osm_stream import EDGE_TEXT_COLUMNS
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.standards import Standard
from tests.contract.conftest import (  # noqa: F401  (fixtures)
    empty_postgis,
    postgis_server,
    postgis_url,
)
from tests.data.overpass_server import OsmData, OverpassServer

POINTS = [
    (24.9414, 60.1710),
    (24.9380, 60.1680),
    (24.9500, 60.1750),
    (24.9450, 60.1660),
    (24.9470, 60.1720),
]


@pytest.fixture(scope="module")
def osm_data(sample_path: Path) -> OsmData:
    return OsmData.read(sample_path)


@pytest.fixture(scope="module")
def whole_area(osm_data: OsmData) -> shapely.Polygon:
    xy = np.array([v[:2] for v in osm_data.nodes.values()])
    return shapely.box(*(xy.min(axis=0) - 0.001), *(xy.max(axis=0) + 0.001))


@pytest.fixture
def server(osm_data: OsmData, standard: Standard) -> Iterator[OverpassServer]:
    with OverpassServer(osm_data, standard) as running:
        yield running


@pytest.fixture(scope="module")
def fetched(osm_data: OsmData, standard: Standard, whole_area: shapely.Polygon) -> Extract:
    with OverpassServer(osm_data, standard) as running:
        extract = fetch_osm(
            whole_area, standard, OverpassOptions(running.url, timeout_s=30, rate_limit=False)
        )
        queries = list(running.queries)
    # osmnx asked with the one walkable definition
    assert sum(standard.walkable.overpass_filter() in q for q in queries) == 1
    return extract


def test_same_network_as_the_file(fetched: Extract, sample_extract: Extract) -> None:
    assert len(fetched.nodes) == len(sample_extract.nodes)
    assert len(fetched.edges) == len(sample_extract.edges)
    assert fetched.nodes["osmid"].tolist() == sample_extract.nodes["osmid"].tolist()
    assert np.allclose(fetched.edges["length_m"], sample_extract.edges["length_m"])
    # the same way and node tags on every edge (what walking profiles read)
    text = list(EDGE_TEXT_COLUMNS)
    pd.testing.assert_frame_equal(fetched.edges[text], sample_extract.edges[text])
    assert (fetched.edges["crossing"] != "").sum() > 100


def test_same_facilities_as_the_file(fetched: Extract, sample_extract: Extract) -> None:
    got = fetched.facilities.set_index("id")
    want = sample_extract.facilities.set_index("id")
    assert len(got) == len(want)
    assert sorted(got.index) == sorted(want.index)
    assert (got.loc[want.index, "category"] == want["category"]).all()
    assert (got.loc[want.index, "name"] == want["name"]).all()


def test_same_nearest_answers(
    fetched: Extract, sample_extract: Extract, standard: Standard
) -> None:
    regions = [
        Region("helsinki", StreetNetwork.from_frames(e.nodes, e.edges), e.facilities, standard)
        for e in (fetched, sample_extract)
    ]
    for lon, lat in POINTS:
        got, want = (r.nearest(lon, lat, k=2, routes=False) for r in regions)
        for category, hits in want.by_category.items():
            other = got.by_category[category]
            assert [h.id for h in other] == [h.id for h in hits], (lon, lat, category)
            assert [h.distance_m for h in other] == pytest.approx(
                [h.distance_m for h in hits], abs=0.01
            )


def test_server_error_is_clear(
    server: OverpassServer, standard: Standard, whole_area: shapely.Polygon
) -> None:
    server.mode = "error"
    with pytest.raises(OverpassError, match=r"answered with an error.*500"):
        fetch_osm(whole_area, standard, OverpassOptions(server.url, timeout_s=5, rate_limit=False))


def test_timeout_is_clear(
    server: OverpassServer, standard: Standard, whole_area: shapely.Polygon
) -> None:
    server.mode, server.delay_s = "timeout", 2.0
    with pytest.raises(OverpassError, match="no answer in time"):
        fetch_osm(
            whole_area, standard, OverpassOptions(server.url, timeout_s=0.5, rate_limit=False)
        )


def test_areas(tmp_path: Path, whole_area: shapely.Polygon) -> None:
    assert area_polygon((24.93, 60.16, 24.95, 60.18)).bounds == (24.93, 60.16, 24.95, 60.18)
    path = tmp_path / "area.geojson"
    import geopandas as gpd  # noqa: PLC0415

    gpd.GeoDataFrame(geometry=[whole_area], crs=4326).to_crs(3067).to_file(path)
    assert area_polygon(path).equals_exact(whole_area, 1e-6)


def test_place_names(server: OverpassServer, whole_area: shapely.Polygon) -> None:
    server.places["Helsinki centre, Finland"] = whole_area
    got = area_polygon("Helsinki centre, Finland", server.nominatim_url)
    assert got.equals_exact(whole_area, 1e-9)
    with pytest.raises(InvalidParameter, match="cannot find the place 'Atlantis'"):
        area_polygon("Atlantis", server.nominatim_url)


def test_cli_fetch_place(
    server: OverpassServer,
    whole_area: shapely.Polygon,
    tmp_path: Path,
    sample_extract: Extract,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server.places["Haishu District, Ningbo, China"] = whole_area  # the sample stands in
    monkeypatch.setenv("LC_OVERPASS_URL", server.url)
    monkeypatch.setenv("LC_OVERPASS_RATE_LIMIT", "false")
    monkeypatch.setenv("LC_NOMINATIM_URL", server.nominatim_url)
    result = CliRunner().invoke(
        app,
        [
            "fetch",
            "Haishu District, Ningbo, China",
            "--region",
            "haishu",
            "--data-dir",
            str(tmp_path),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    info = FileStore(tmp_path).regions()[0]
    assert info.source == "overpass:Haishu District, Ningbo, China"
    assert info.n_facilities == len(sample_extract.facilities)


def test_cli_fetch(
    server: OverpassServer,
    whole_area: shapely.Polygon,
    tmp_path: Path,
    sample_extract: Extract,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LC_OVERPASS_URL", server.url)
    monkeypatch.setenv("LC_OVERPASS_RATE_LIMIT", "false")
    bbox = ",".join(f"{v:.6f}" for v in whole_area.bounds)
    result = CliRunner().invoke(
        app, ["fetch", bbox, "--region", "helsinki-online", "--data-dir", str(tmp_path), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    info = FileStore(tmp_path).regions()[0]
    assert (info.name, info.n_nodes, info.n_facilities) == (
        "helsinki-online",
        len(sample_extract.nodes),
        len(sample_extract.facilities),
    )


@pytest.mark.postgis
def test_fetch_into_postgis(
    server: OverpassServer,
    whole_area: shapely.Polygon,
    standard: Standard,
    sample_extract: Extract,
    postgis_url: str,  # noqa: F811
) -> None:
    store = empty_postgis(postgis_url)
    info = fetch_region(
        store,
        "helsinki-online",
        whole_area,
        standard,
        OverpassOptions(server.url, timeout_s=30, rate_limit=False),
        "test box",
    )
    assert info.source == "overpass:test box"
    back = store.load_region("helsinki-online")
    assert (len(back.nodes), len(back.edges), len(back.facilities)) == (
        len(sample_extract.nodes),
        len(sample_extract.edges),
        len(sample_extract.facilities),
    )
