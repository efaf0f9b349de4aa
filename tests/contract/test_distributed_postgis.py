"""A province run loaded into PostGIS by COPY: the same homes and summaries as the files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from livingcircle.cluster import connect
from livingcircle.data.postgis import PostgisStore
from livingcircle.data.synthetic import grid_city
from livingcircle.distributed import ProvinceJob, analyse_province, place_province_homes
from livingcircle.geo.engine import Region
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.standards import Standard
from livingcircle.province_outputs import load_postgis

pytestmark = [pytest.mark.postgis, pytest.mark.slow]


def test_a_province_run_loads_by_copy_one_region_at_a_time(
    make_database: Callable[..., str], standard: Standard, tmp_path: Path
) -> None:
    regions = []
    for seed, n in ((1, 2_000), (2, 1_500)):
        nodes, edges, fac = grid_city(n, seed=seed, center=(121.55 + seed, 29.87))
        regions.append(Region(f"r{seed}", StreetNetwork.from_frames(nodes, edges), fac, standard))
    placed = place_province_homes(regions)
    out = str(tmp_path / "out")
    job = ProvinceJob(out, ["clinic", "kindergarten"], max_points=1_500)
    with connect(workers=1, progress=False) as client:
        result = analyse_province(client, placed, job)
    store = PostgisStore(make_database())
    for _ in range(2):  # loading again replaces, never doubles
        assert load_postgis(store.engine, out) == [
            "province_points", "province_coverage", "province_tiers"
        ]  # fmt: skip
    with store.engine.connect() as conn:
        points = gpd.read_postgis(
            text("SELECT * FROM province_points ORDER BY region, id"), conn, geom_col="geometry"
        )
        coverage = pd.read_sql(text("SELECT * FROM province_coverage"), conn)
    files = gpd.read_parquet(f"{out}/points").sort_values(["region", "id"]).reset_index(drop=True)
    assert len(points) == len(files) == 3_500
    assert points["id"].tolist() == files["id"].tolist()
    np.testing.assert_allclose(points["clinic_min"], files["clinic_min"], equal_nan=True)
    # REAL keeps the float32 distance exactly (psycopg hands it back as its shortest text)
    np.testing.assert_array_equal(
        points["clinic_knn1_m"].to_numpy(np.float32), files["clinic_knn1_m"].to_numpy()
    )
    assert points.geometry.geom_equals_exact(files.geometry, 1e-9).all()
    assert len(coverage) == len(result.coverage)
    assert set(coverage["region"]) == {"r1", "r2", "(city)"}
