"""A partitioned GeoParquet folder's ``_metadata``: every part's row groups in one file.

Both Dask runs (:mod:`livingcircle.batch_run` and :mod:`livingcircle.distributed`) write one
``part.*.parquet`` file per task; one ``_metadata`` file beside them lets DuckDB, QGIS and
``dask_geopandas.read_parquet`` open the folder as one table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def merge_metadata(fs: Any, parts: Sequence[str]) -> str | None:
    """Write ``_metadata`` over ``parts`` (paths in one folder of ``fs``); its path, or None.

    pyarrow refuses a part whose schema differs from the first one's. No parts, no file.
    """
    merged: pq.FileMetaData | None = None
    for part in parts:
        with fs.open(part, "rb") as f:
            meta = pq.ParquetFile(f).metadata
        meta.set_file_path(part.rsplit("/", 1)[-1])
        if merged is None:
            merged = meta
        else:
            merged.append_row_groups(meta)
    if merged is None:
        return None
    target = f"{parts[0].rsplit('/', 1)[0]}/_metadata"
    buf = pa.BufferOutputStream()
    merged.write_metadata_file(buf)
    with fs.open(target, "wb") as f:
        f.write(buf.getvalue().to_pybytes())
    return target
