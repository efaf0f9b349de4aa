"""The planner's report of the gap analysis: HTML, PDF (printed by Chromium) or Markdown.

Bilingual, 中文 first: category and requirement labels instead of ids, numbers as people write
them (38,000 residents; 12.5 min; 45%), the standard's requirements the region has no
facility for said in words, a ranked list of where to build (residents gained and tiers
completed per site, and the siting method when sites carry one), and maps drawn as SVG with
their legends (streets, homes coloured by minutes and sized by residents, gap areas labelled
with their residents, numbered sites). Every format has the same sections
(:data:`~livingcircle.maps.report_text.SECTIONS`). The interactive planner map is
``livingcircle map planner``.

The rooms: what it says (``report_text``), its tables (``report_tables``), its maps
(``report_svg``), and the formats (``report_html``, which the PDF prints, and ``report_md``).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from livingcircle.geo.engine import Region
from livingcircle.geo.planning import PlannerTables
from livingcircle.maps.report_html import page
from livingcircle.maps.report_md import markdown
from livingcircle.maps.report_tables import summary_tables
from livingcircle.maps.report_text import map_name, report_data

#: what outside code uses: the report written to a file, and its tables (``livingcircle gaps``)
__all__ = ["summary_tables", "write_report"]


def write_report(
    result: PlannerTables,
    region: Region,
    path: Path,
    source: str = "",
    communities: gpd.GeoDataFrame | None = None,
) -> Path:
    """Write ``path``: .html, .pdf or .md (a Markdown report's maps go beside it as SVG)."""
    data = report_data(result, region, source, communities)
    suffix = path.suffix.lower()
    if suffix == ".md":
        path.write_text(markdown(data, path.stem), encoding="utf-8")
        for i, (_, svg) in enumerate(data.maps, start=1):
            path.with_name(map_name(path.stem, i)).write_text(svg, encoding="utf-8")
    elif suffix == ".pdf":
        from livingcircle.maps.pdf import print_pdf  # noqa: PLC0415  (Playwright only for PDFs)

        print_pdf(page(data, fonts=True), path)
    else:
        path.write_text(page(data), encoding="utf-8")
    return path
