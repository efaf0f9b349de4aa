"""What the ``livingcircle`` commands print: the consoles, progress bars and tables of numbers.

Answers go to stdout (:data:`out`), everything else (progress, notes, "written to") to stderr
(:data:`err`), so that ``--json`` output can be piped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

if TYPE_CHECKING:
    from pathlib import Path

    import folium
    import pandas as pd

__all__ = [
    "cells",
    "err",
    "mps",
    "out",
    "print_frame",
    "progress",
    "remove",
    "save_map",
    "steps",
]

err = Console(stderr=True)
out = Console()


class _Bars:
    """Rich progress bars keyed by stage, updated as the work tells."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.tasks: dict[str, TaskID] = {}

    def _task(self, key: str, description: str, total: int | None, **fields: Any) -> TaskID:
        if key not in self.tasks:
            self.tasks[key] = self.bar.add_task(description, total=total, **fields)
        return self.tasks[key]

    def count(self, stage: str, count: int, unit: str) -> None:
        """One line per stage, each with its own count."""
        self.bar.update(self._task(stage, stage, None, unit=unit), completed=count)

    def step(self, stage: str, done: int, total: int) -> None:
        """One bar per stage ("nearest facility: clinic" is a step of "nearest facility")."""
        task = self._task(stage.partition(":")[0], stage, max(total, 1))
        self.bar.update(task, description=stage, completed=done, total=max(total, 1))


@contextmanager
def _bars(enabled: bool, *middle: ProgressColumn) -> Iterator[_Bars | None]:
    if not enabled:
        yield None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), *middle, TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        yield _Bars(bar)


@contextmanager
def progress(enabled: bool) -> Iterator[Callable[[str, int, str], None] | None]:
    """Progress as ``(stage, count, unit)``: one line per stage on stderr, or None if quiet."""
    with _bars(enabled, TextColumn("[dim]{task.completed:,} {task.fields[unit]}")) as bars:
        yield None if bars is None else bars.count


@contextmanager
def steps(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """Progress as ``(stage, done, total)``: one bar per stage on stderr, or None if quiet."""
    with _bars(enabled, BarColumn(bar_width=20), MofNCompleteColumn()) as bars:
        yield None if bars is None else bars.step


def mps(speed_m_s: float) -> str:
    """A walking speed as people read it: '1.0 m/s', '1.25 m/s'."""
    text = f"{speed_m_s:.2f}"
    return f"{text[:-1] if text.endswith('0') else text} m/s"


def print_frame(title: str, frame: pd.DataFrame) -> None:
    """A table of ``frame``: text columns whole on the left, numbers on the right."""
    table = Table(title=title)
    for col in frame.columns:  # category ids stay whole; number headers wrap instead
        text = frame[col].dtype.kind not in "iuf"
        table.add_column(
            str(col), justify="left" if text else "right", no_wrap=text, overflow="fold"
        )
    for row in zip(*[cells(frame[col]) for col in frame.columns], strict=True):
        table.add_row(*row)
    out.print(table)


def cells(column: pd.Series[Any]) -> list[str]:
    """A column's cells: numbers with thousands separators, a dash for no value.

    One decimal unless every value is whole; NaN means no facility of the kind within reach.
    """
    if column.dtype.kind not in "iuf":
        return [str(v) for v in column]
    import numpy as np  # noqa: PLC0415  (not at import: --help stays quick)

    values = column.to_numpy(dtype=np.float64)
    known = values[~np.isnan(values)]
    digits = 0 if np.all(known == np.round(known)) else 1
    return ["–" if math.isnan(v) else f"{v:,.{digits}f}" for v in values.tolist()]


def save_map(fmap: folium.Map, path: Path, what: str = "map") -> None:
    """Write a Folium map as one HTML file, and say so."""
    fmap.save(str(path))
    err.print(f"{what} written to {path}", highlight=False)


def remove(what: str, name: str, delete: Callable[[str], None]) -> None:
    """Remove ``name`` with ``delete`` (a store's method), and say so: 'kiosk k1 removed'."""
    delete(name)
    err.print(f"{what} {name} removed", highlight=False)
