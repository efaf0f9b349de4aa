"""What the bench scripts share: the datasets they measure, plain-text report tables, the
stderr log and the child process a script runs for each dataset.

Importing it puts the repository on ``sys.path``, so that a script can use the helpers it
shares with the tests (``tests.cli_process``, ``tests.scenario_inputs``, ``tests.maps.browser``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))


def log(msg: str) -> None:
    """A progress line on stderr (stdout is the report, or a child's results)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


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


def add_worker_options(parser: argparse.ArgumentParser) -> None:
    """``--seed``, ``--json`` and the hidden ``--worker``: a script that runs each dataset apart.

    The parent starts the script again with ``--worker`` (:func:`worker_command`) for each one.
    """
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)


def worker_command(
    script: str, worker: str, args: argparse.Namespace, passed: Sequence[str]
) -> list[str]:
    """The command that runs ``script`` again as ``--worker worker``, in a fresh interpreter.

    Each dataset's memory and times are its own. The options named in ``passed`` follow, as
    ``args`` has them (``osmnx_points`` is given as ``--osmnx-points``).
    """
    cmd = [sys.executable, str(Path(script).resolve()), "--worker", worker]
    for name in passed:
        cmd += ["--" + name.replace("_", "-"), str(getattr(args, name))]
    return cmd
