"""The gap analysis written to PostGIS: gaps_* tables a planner opens in QGIS."""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from livingcircle.data.gap_outputs import PG_TABLES, write_postgis
from livingcircle.data.postgis import PostgisStore
from livingcircle.geo.demand import demand_frame, place_demand
from livingcircle.geo.planning import plan
from livingcircle.geo.standards import Standard
from tests.handmade import lonlat, region

pytestmark = pytest.mark.postgis


def test_each_region_replaces_only_its_rows(
    make_database: Callable[..., str], standard: Standard
) -> None:
    reg = region({"A": (0, 0), "B": (1000, 0)}, [("A", "B")], {"c1": ("clinic", 100, 0)}, standard)
    ll = np.array([lonlat(x, 0) for x in (0, 500, 900)])
    frame = demand_frame(
        gpd.points_from_xy(ll[:, 0], ll[:, 1]),
        np.array([1.0, 2.0, 3.0]),
        np.array(["a", "b", "c"], dtype=object),
    )
    result = plan(reg, place_demand(reg.net, frame), ["clinic"], n_sites=2)
    store = PostgisStore(make_database())
    for name in ("east", "west", "east"):  # writing east again replaces east's rows only
        assert write_postgis(result, store.engine, name) == list(PG_TABLES.values())
    with store.engine.connect() as conn:
        points = gpd.read_postgis(
            text("SELECT * FROM gaps_points ORDER BY region, id"), conn, geom_col="geometry"
        )
        coverage = pd.read_sql(text("SELECT * FROM gaps_coverage"), conn)
        scores = pd.read_sql(text("SELECT * FROM gaps_access_scores"), conn)
        equity = pd.read_sql(text("SELECT * FROM gaps_equity"), conn)
        srid = conn.execute(text("SELECT Find_SRID('public', 'gaps_areas', 'geometry')")).scalar()
    assert points["region"].tolist() == ["east"] * 3 + ["west"] * 3
    assert points.crs.to_epsg() == 4326 and srid == 4326
    assert points["clinic_ok"].tolist() == [True, False, False] * 2
    assert len(coverage) == 2 * len(result.coverage)
    assert len(scores) == 2 * len(result.access_scores) == 2 * 3
    assert len(equity) == 2 * len(result.equity)


def test_a_result_without_sites(make_database: Callable[..., str], standard: Standard) -> None:
    reg = region({"A": (0, 0), "B": (400, 0)}, [("A", "B")], {"c1": ("clinic", 100, 0)}, standard)
    ll = np.array([lonlat(50, 0)])
    frame = demand_frame(
        gpd.points_from_xy(ll[:, 0], ll[:, 1]), np.array([1.0]), np.array(["a"], dtype=object)
    )
    result = plan(reg, place_demand(reg.net, frame), ["clinic"], n_sites=0)
    assert len(result.sites) == 0
    store = PostgisStore(make_database())
    write_postgis(result, store.engine, "tiny")
    write_postgis(result, store.engine, "tiny")
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM gaps_points")).scalar() == 1
