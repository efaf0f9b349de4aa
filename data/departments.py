"""Departments' facility lists merged into a region, in one atomic step.

The list and its mapping file (which column holds what, the coordinate system, the
categories) are read by :mod:`livingcircle.data.department_lists`, their rows checked by
:mod:`livingcircle.data.department_rows`, and merged here; the domain rules (matching a
record to a facility, and the provenance it leaves in ``tags``: ``lc:sources``,
``lc:conflicts``, ``lc:filled``) are :mod:`livingcircle.geo.provenance`'s.

An import replaces everything the list's source contributed before, then matches the list's
rows to the region's facilities, so re-importing the same list changes nothing and an edited
list changes only what it edits. Rows that cannot be imported are reported with a reason and
left out; the region is written in one atomic step (or not at all).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd

from livingcircle.data.department_lists import ListMapping, read_list
from livingcircle.data.department_rows import Checked, Rejected, check_rows
from livingcircle.geo.errors import ImportFileError  # noqa: F401  (still importable from here)
from livingcircle.geo.provenance import Matching, diff_facilities, merge_records, source_conflicts
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import RegionInfo, Store

# -- the merge --------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import did: counts, the rows left out (with reasons), and the changes made."""

    source: str
    region: str
    rows_read: int
    imported: int  # rows that became facilities of their own
    merged: int  # rows matched to a facility already in the region
    rejected: list[Rejected]
    added: list[str]
    changed: list[str]
    removed: list[str]
    conflicts: list[dict[str, Any]]  # this source's, each with the facility's ``id``
    written: bool

    def summary(self) -> dict[str, Any]:
        """The counts as a JSON-ready dict."""
        given = ("source", "region", "rows_read", "imported", "merged")
        counts = {k: len(v) for k, v in self._lists().items()}
        return {k: getattr(self, k) for k in given} | counts | {"written": self.written}

    def write_json(self, path: Path) -> None:
        """Write the whole report as JSON: the counts, every conflict and every rejected row."""
        lists = self._lists() | {
            "rejected": [
                {"row": r.row, "reason": r.reason, "values": r.values} for r in self.rejected
            ]
        }
        report = self.summary() | lists
        path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")

    def _lists(self) -> dict[str, list[Any]]:
        """What the summary counts, under its keys there."""
        return {
            "rejected": self.rejected,
            "conflicts": self.conflicts,
            "facilities_added": self.added,
            "facilities_changed": self.changed,
            "facilities_removed": self.removed,
        }

    def write_rejected(self, path: Path) -> None:
        """Write the rejected rows as CSV, to fix and submit again.

        UTF-8 with a BOM (Excel reads it); columns ``row``, ``reason``, then the row's own.
        """
        columns: list[str] = []
        for r in self.rejected:
            columns.extend(c for c in r.values if c not in columns)
        with open(path, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["row", "reason", *columns])
            for r in self.rejected:
                writer.writerow([r.row, r.reason, *(r.values.get(c, "") for c in columns)])


def import_list(
    store: Store,
    region: str,
    path: Path,
    mapping: ListMapping,
    standard: Standard,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportReport:
    """Merge a department's list into ``region`` and store the result in one atomic step.

    Good rows go in, bad rows are reported (:attr:`ImportReport.rejected`); when nothing
    changes (a re-import of the same list) the region is not written at all. Only the
    facilities are written, under the region's lock from read to write: an edit made
    through the API meanwhile waits for the import, and is kept. ``progress(stage, done,
    total)`` is told each stage, for a progress bar.
    """
    tell = progress or (lambda stage, done, total: None)
    tell(f"reading {path.name}", 0, 1)
    raw = read_list(path, mapping)  # a bad file fails here, before the store is touched
    tell(f"reading {path.name}", 1, 1)
    done: list[_Merge] = []

    def change(info: RegionInfo, facilities: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
        stage = f"matching {len(raw.attributes):,} rows with {len(facilities):,} facilities"
        tell(stage, 0, 1)
        checked = check_rows(raw, mapping, standard, info.bounds)
        merged, n_merged, _ = merge_entries(facilities, checked, mapping)
        done[:] = [_Merge(checked, merged, n_merged, *diff_facilities(facilities, merged))]
        tell(stage, 1, 1)
        tell(f"writing region {region}", 0, 1)
        return merged if done[0].added or done[0].changed or done[0].removed else None

    written = store.update_facilities(region, change, source=mapping.source) is not None
    tell(f"writing region {region}", 1, 1)
    m = done[0]
    return ImportReport(
        mapping.source,
        region,
        len(raw.attributes),
        len(m.checked.entries) - m.n_merged,
        m.n_merged,
        m.checked.rejected,
        m.added,
        m.changed,
        m.removed,
        source_conflicts(m.merged, mapping.source),
        written,
    )


class _Merge(NamedTuple):
    """What merging a list into a region's facilities gave."""

    checked: Checked
    merged: gpd.GeoDataFrame
    n_merged: int
    added: list[str]
    changed: list[str]
    removed: list[str]


def merge_entries(
    facilities: gpd.GeoDataFrame, checked: Checked, mapping: ListMapping
) -> tuple[gpd.GeoDataFrame, int, int]:
    """The region's facilities with the list's records (``checked``) merged in.

    See :func:`livingcircle.geo.provenance.merge_records`, with the mapping's thresholds.
    """
    matching = Matching(mapping.source, mapping.max_distance_m, mapping.min_similarity)
    return merge_records(facilities, checked.entries, matching)
