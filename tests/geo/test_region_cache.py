"""A region built from its cache answers as one built from its data; a bad cache is ignored."""

from __future__ import annotations

import io
import logging

import numpy as np
import pytest

from livingcircle.data.osm_file import Extract
from livingcircle.geo import region_cache
from livingcircle.geo.engine import Region
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.standards import Standard


def _key(extract: Extract, standard: Standard) -> str:
    return region_cache.fingerprint(
        extract.nodes, extract.edges, extract.facilities, standard.category_ids
    )


def test_a_cached_build_answers_as_a_fresh_one(sample_extract: Extract, standard: Standard) -> None:
    ex, ids = sample_extract, standard.category_ids
    key = _key(ex, standard)
    fresh_net = StreetNetwork.from_frames(ex.nodes, ex.edges)
    placed, blob = region_cache.build(fresh_net, ex.facilities, ids, key, None)
    assert blob is not None
    fresh = Region("helsinki", fresh_net, ex.facilities, standard, placed=placed)
    net = StreetNetwork.from_frames(ex.nodes, ex.edges)
    again, none = region_cache.build(net, ex.facilities, ids, key, blob)
    assert none is None and "csr" in net.__dict__  # primed from the blob, not rebuilt
    cached = Region("helsinki", net, ex.facilities, standard, placed=again)
    for a, b in zip(cached.net.csr, fresh.net.csr, strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(cached.facilities.snap.edge, fresh.facilities.snap.edge)
    lon, lat = ex.nodes["lon"].iloc[100], ex.nodes["lat"].iloc[100]
    want = fresh.nearest(lon, lat, k=2).to_geojson()
    assert cached.nearest(lon, lat, k=2).to_geojson() == want


def _changed(blob: bytes, **arrays: np.ndarray) -> bytes:
    with np.load(io.BytesIO(blob)) as got:
        out = {n: got[n] for n in got.files} | arrays
    buf = io.BytesIO()
    np.savez(buf, **out)
    return buf.getvalue()


def test_a_stale_or_corrupt_cache_is_ignored_and_logged(
    sample_extract: Extract, standard: Standard, caplog: pytest.LogCaptureFixture
) -> None:
    ex, ids = sample_extract, standard.category_ids
    key = _key(ex, standard)
    net = StreetNetwork.from_frames(ex.nodes, ex.edges)
    _, blob = region_cache.build(net, ex.facilities, ids, key, None)
    assert blob is not None
    edge = np.load(io.BytesIO(blob))["snap_edge"]
    bad = {
        "stale": _changed(blob, key=np.array("0" * 32)),
        "corrupt": blob[: len(blob) // 2],
        "edges out of range": _changed(blob, snap_edge=edge + net.n_edges),
        "arcs short": _changed(blob, csr_indices=np.zeros(3, np.int32)),
    }
    fewer = ex.facilities.iloc[1:]  # one facility removed: another fingerprint
    assert region_cache.fingerprint(ex.nodes, ex.edges, fewer, ids) != key
    for what, b in bad.items():
        fresh = StreetNetwork.from_frames(ex.nodes, ex.edges)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="livingcircle.geo.region_cache"):
            placed, new = region_cache.build(fresh, ex.facilities, ids, key, b)
        assert new is not None, what  # rebuilt, and a new blob to store
        assert "csr" in fresh.__dict__ and len(fresh.csr[1]) > 3, what
        assert "region cache" in caplog.text, what
        assert np.array_equal(placed.snap.edge, edge), what
