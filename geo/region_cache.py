"""What a region build may keep between processes: the CSR arrays and the placed facilities.

Snapping the facilities and sorting the arcs are most of a large region's build. A store may
keep their result as one blob (:func:`encode`, an ``.npz``) beside the region's data and hand it
back at the next start (:func:`build`). The blob carries a fingerprint of everything it was
built from (the network's arrays, the facilities' ids, categories and geometries, the format);
a blob whose fingerprint, format or arrays do not fit is ignored with a log line and the
region is built from its data, so a stale or corrupt cache is never trusted.
:func:`placed_from_store` is what a server start calls: it reads the blob a store keeps,
builds with it, and keeps the new one when the old did not fit.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import io
import logging
import zipfile
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from livingcircle.geo import config
from livingcircle.geo.errors import LivingCircleError, StoreError
from livingcircle.geo.facility_index import Placed, facility_rows, place_facilities
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.positions import Snap
from livingcircle.geo.store import RegionData, Store

log = logging.getLogger(__name__)

#: Bumped whenever what is cached, or how it is computed, changes.
FORMAT = 1
_CSR = ("indptr", "indices", "weights", "arc_edge")
_SNAP = ("edge", "offset_m", "access_m", "xy")
#: Larger blobs are not kept (a 1M-node city's is about 100 MB; PostgreSQL's bytea ends at 1 GB).
MAX_BLOB_BYTES = 512 * 2**20


@functools.cache
def _code_version() -> str:
    """The installed package's version ("" when running from a tree that is not installed)."""
    try:
        return importlib.metadata.version("livingcircle")
    except importlib.metadata.PackageNotFoundError:
        return ""


def fingerprint(
    nodes: pd.DataFrame,
    edges: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    category_ids: Sequence[str],
) -> str:
    """A digest of everything the cached arrays depend on (hex, 32 characters)."""
    h = hashlib.blake2b(digest_size=16)
    # the code's version and the snapping rules too: an upgrade that snaps otherwise must not
    # reuse another version's access legs
    h.update(
        f"format {FORMAT}; code {_code_version()}; facility snap {config.MAX_FACILITY_SNAP_M}; "
        f"min arc {config.MIN_ARC_M}; categories {','.join(category_ids)}".encode()
    )
    for col in ("lon", "lat"):
        h.update(np.ascontiguousarray(nodes[col].to_numpy(np.float64)).tobytes())
    for col, dtype in (("u", np.int32), ("v", np.int32), ("length_m", np.float64)):
        h.update(np.ascontiguousarray(edges[col].to_numpy(dtype)).tobytes())
    h.update(edges["oneway"].to_numpy(bool).tobytes())
    h.update(shapely.get_coordinates(edges.geometry.to_numpy()).tobytes())
    table = facility_rows(facilities, category_ids)
    h.update("\0".join(table["id"].astype(str)).encode())
    h.update("\0".join(table["category"].astype(str)).encode())
    h.update(b"".join(shapely.to_wkb(table.geometry.to_numpy())))
    return h.hexdigest()


def encode(net: StreetNetwork, placed: Placed, key: str) -> bytes:
    """The blob a store keeps: ``key``, the CSR arrays and the placed facilities' positions."""
    arrays: dict[str, Any] = {"key": np.array(key), "format": np.array(FORMAT)}
    arrays |= {f"csr_{n}": a for n, a in zip(_CSR, net.csr, strict=True)}
    arrays |= {f"snap_{n}": getattr(placed.snap, n) for n in _SNAP}
    arrays["anchor"] = placed.anchor
    out = io.BytesIO()
    np.savez(out, allow_pickle=False, **arrays)
    return out.getvalue()


def decode(
    blob: bytes, key: str, net: StreetNetwork, table: gpd.GeoDataFrame
) -> tuple[tuple[Any, ...], Placed] | None:
    """The CSR arrays and placed facilities in ``blob``, or None (logged) if they do not fit."""
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as got:
            arrays = {name: got[name] for name in got.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        log.warning("region cache unreadable (%s); building the region from its data", err)
        return None
    why = _misfit(arrays, key, net, len(table))
    if why:
        log.warning("region cache ignored: %s; building the region from its data", why)
        return None
    csr = tuple(arrays[f"csr_{n}"] for n in _CSR)
    snap = Snap(*(arrays[f"snap_{n}"] for n in _SNAP))
    return csr, Placed(table, snap, arrays["anchor"])


def _misfit(arrays: dict[str, Any], key: str, net: StreetNetwork, n_fac: int) -> str | None:
    """Why the arrays cannot be used for this network and these facilities (None: they can)."""
    names = {"key", "format", "anchor", *(f"csr_{n}" for n in _CSR), *(f"snap_{n}" for n in _SNAP)}
    if set(arrays) != names:
        return f"it holds {sorted(arrays)}, not {sorted(names)}"
    if int(arrays["format"]) != FORMAT or str(arrays["key"]) != key:
        return "it was built from other data (or by another version)"
    if not _csr_fits(net, *(arrays[f"csr_{n}"] for n in _CSR)):
        return "its CSR arrays do not fit the network"
    edge, off, acc, xy = (arrays[f"snap_{n}"] for n in _SNAP)
    shapes = [len(edge), len(off), len(acc), len(xy), len(arrays["anchor"])]
    if shapes != [n_fac] * 5 or edge.dtype != np.int32 or (len(edge) and edge.max() >= net.n_edges):
        return "its facility positions do not fit the facilities"
    return None


def _csr_fits(net: StreetNetwork, ptr: Any, idx: Any, w: Any, arc: Any) -> bool:
    """Whether CSR arrays have the network's types and sizes and point inside it."""
    n_arcs = len(idx)
    types = (ptr.dtype, idx.dtype, w.dtype, arc.dtype)
    if types != (np.int64, np.int32, np.float64, np.int32) or len(ptr) != net.n_nodes + 1:
        return False
    if not (len(w) == len(arc) == n_arcs and ptr[0] == 0 and ptr[-1] == n_arcs):
        return False
    return not n_arcs or (
        idx.min() >= 0 and idx.max() < net.n_nodes and 0 <= arc.min() and arc.max() < net.n_edges
    )


def build(
    net: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    category_ids: Sequence[str],
    key: str,
    blob: bytes | None,
) -> tuple[Placed, bytes | None]:
    """Placed facilities for ``net`` (its CSR primed from ``blob`` when that fits).

    Returns them and the blob to store: None when ``blob`` was used, a new one when it was
    missing or did not fit.
    """
    table = facility_rows(facilities, category_ids)
    cached = decode(blob, key, net, table) if blob is not None else None
    if cached is not None:
        csr, placed = cached
        net.__dict__["csr"] = csr  # the cached_property's slot, before anything reads it
        return placed, None
    placed = place_facilities(net, facilities, category_ids)
    return placed, encode(net, placed, key)


def placed_from_store(
    store: Store, data: RegionData, net: StreetNetwork, category_ids: Sequence[str]
) -> Placed:
    """Placed facilities of a region read from ``store``, built with the cache it keeps.

    ``net`` is the region's network from ``data`` (its CSR primed from the cache when that
    fits). A cache that is missing, stale or corrupt is rebuilt and kept again; failing to
    read or keep it is logged and the build goes on from the data, so a query never fails
    for it. A region removed meanwhile raises ``RegionNotFound``.
    """
    name = data.info.name
    key = fingerprint(data.nodes, data.edges, data.facilities, category_ids)
    try:
        blob = store.region_cache(name, key)
    except StoreError as err:  # not RegionNotFound: a region removed meanwhile is gone
        log.warning("region cache of %s unreadable (%s); building from its data", name, err)
        blob = None
    placed, new = build(net, data.facilities, category_ids, key, blob)
    if new is not None:
        _keep(store, name, key, new)
    return placed


def _keep(store: Store, name: str, key: str, blob: bytes) -> None:
    """Keep a new blob in the store; a failure is logged, never raised."""
    if len(blob) > MAX_BLOB_BYTES:
        log.info("region cache of %s not kept: %d bytes is over the limit", name, len(blob))
        return
    try:
        store.save_region_cache(name, key, blob)
    except (LivingCircleError, OSError) as err:
        log.warning("region cache of %s not kept (%s); the next start builds it again", name, err)
