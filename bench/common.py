"""What the bench scripts share: the datasets they measure and plain-text report tables."""

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
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def load_dataset(spec: str, seed: int) -> tuple[str, Any, Any, Any]:
    """``sample`` (the Helsinki extract) or ``gridN`` (a generated city of about N nodes).

    Returns the dataset's name and its nodes, edges and facilities frames.
    """
    from livingcircle.geo.standards import load_standard  # noqa: PLC0415  (children import what they use)

    if spec == "sample":
        from livingcircle.data.osm_file import read_osm_file  # noqa: PLC0415
        from livingcircle.data.sample import sample_file  # noqa: PLC0415

        ex = read_osm_file(sample_file(), load_standard())
        return "helsinki", ex.nodes, ex.edges, ex.facilities
    from livingcircle.data.synthetic import grid_city  # noqa: PLC0415

    n = int(spec.removeprefix("grid"))
    nodes, edges, facilities = grid_city(n, seed=seed)
    return f"grid-{n}", nodes, edges, facilities
