"""Folium renderers (resident, planner, scenario, kiosk, poster), the gaps report, offline assets.

:func:`livingcircle.maps.resident.resident_map_at` is the one resident-map use case that the
CLI, the API and the Python API call.

The rooms:

- ``base``: what every map shares (``MapLook``: offline, tiles and font; the base map, the
  GCJ-02 display, legend, badges);
  ``offline``: Leaflet and the web font written into the page; ``palette``, ``words``: the
  colours and the bilingual way numbers and labels are written.
- ``resident``: the resident's map; ``kiosk``: the kiosk page; ``poster``: the printed poster;
  ``pdf``: pages printed by Chromium.
- ``district``: what the district maps share (the fitted view, the banner, homes sized by
  residents); ``planner_layers``: what the planner map paints, laid out from the analysis;
  ``planner_legend``: its legend; ``planner``: the planner map drawn; ``scenario``: the map of
  a what-if scenario's changes.
- ``report``: the gaps report written to HTML, PDF or Markdown; ``report_text``: what it says
  (sections, sentences, captions); ``report_tables``: its tables; ``report_svg``: its maps;
  ``report_html`` and ``report_md``: the formats.
"""
