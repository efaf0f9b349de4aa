"""Columns of values in COPY text form, and the COPY itself (bulk loads)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import shapely
from sqlalchemy import Connection

from livingcircle.data.pg_schema import SRID

_NULL = "\\N"


_ESCAPE_PAIRS = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


_ESCAPES = str.maketrans(dict(_ESCAPE_PAIRS))


_SPECIAL = r"[\\\t\n\r]"


_SRID_PREFIX = f"SRID={SRID};"  # PostGIS reads EWKT's prefix before hex WKB too


_CHUNK_ROWS = 20_000


def copy_rows(conn: Connection, table: str, columns: list[str], values: list[list[str]]) -> None:
    """COPY columns of values (already in COPY text form) into ``table`` on ``conn``."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    rows = list(zip(*values, strict=True))
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for start in range(0, len(rows), _CHUNK_ROWS):
            chunk = rows[start : start + _CHUNK_ROWS]
            copy.write("".join("\t".join(r) + "\n" for r in chunk))


def _texts(values: Iterable[Any]) -> list[str]:
    if isinstance(values, pd.Series):  # vectorised: escapes only where needed
        text = values if isinstance(values.dtype, pd.StringDtype) else values.astype("str")
        if bool(text.str.contains(_SPECIAL, regex=True).fillna(False).any()):
            for char, escaped in _ESCAPE_PAIRS:
                text = text.str.replace(char, escaped, regex=False)
        return list(text.fillna(_NULL).tolist())
    return [
        v.translate(_ESCAPES)
        if isinstance(v, str)
        else _NULL
        if v is None or bool(pd.isna(v))
        else str(v).translate(_ESCAPES)
        for v in values
    ]


def _ints(values: pd.Series) -> list[str]:
    return list(map(str, values.to_numpy(dtype=np.int64).tolist()))


def _floats(values: Any) -> list[str]:
    return list(map(repr, np.asarray(values, dtype=np.float64).tolist()))


def _geoms(geoms: Any) -> list[str]:
    hexes = shapely.to_wkb(np.asarray(geoms, dtype=object), hex=True).tolist()
    return [_NULL if h is None else _SRID_PREFIX + h for h in hexes]
