"""Plain-text tables for the benchmark reports (shared by the bench scripts)."""

from __future__ import annotations

from typing import Any

import numpy as np


def fmt(value: Any, digits: int = 1) -> str:
    """A number for a table cell: thousands separated, ``-`` for missing or NaN."""
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "-" if np.isnan(value) else f"{value:,.{digits}f}"
    return str(value)


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Aligned columns: the first left-aligned, the rest right-aligned."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])
