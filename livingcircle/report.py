"""The planner's report of the gap analysis; rendered in :mod:`livingcircle.maps.report`."""

from __future__ import annotations

from livingcircle.maps.report import SECTIONS, map_svg, summary_tables, write_report

__all__ = ["SECTIONS", "map_svg", "summary_tables", "write_report"]
