"""The domain core: walking graph, snapping, routing, catchments, standards, store protocol.

Imports no web framework, database driver or map library.

The walking questions: ``network`` (the street arrays, geodesic edge lengths and access
legs), ``positions`` (a position on an edge and how it is walked to and from), ``routing``
(bounded searches from a point, the streets they reach), ``catchment`` (polygons from the
reached streets), ``engine`` (a :class:`~livingcircle.geo.engine.Region`: nearest and
catchment), ``results`` (its answers in WGS 84), ``accessibility`` (a category's nearest
field, one pass) and ``batch`` (many origins at once); ``hours`` (open now?), ``status``
(live statuses), ``kiosks`` and ``coords`` (GCJ-02, BD-09 and EPSG input); ``config`` holds
the defaults and ``errors`` every error class.

Facilities and records: ``store`` (the one ``Store`` protocol, and what a store accepts and
returns), ``text`` (what stored text may hold), ``provenance`` (matching departments'
records to a region's facilities), ``keys`` (API keys and roles), ``audit`` (the log's hash
chain) and ``jobs`` (planner jobs kept in the store).

What-if scenarios: ``scenario_spec`` (what a scenario says), ``scenario_check`` (its changes
checked and resolved against a region), ``scenario_network`` (the changed street network),
``scenario_result`` (the figures and layers before and after) and ``scenario`` (the
computation, and the door the other packages import from). Where to build: ``siting`` (the
greedy picks), ``siting_compare`` (greedy beside MCLP and p-median on the same candidates)
and ``siting_models`` (those models, solved by HiGHS).

Name search: ``search_index`` (what a region holds to be found by name, and the text, pinyin
and initials keys it is found by) and ``search`` (asking it: matches, ranking, suggestions).
Regions behind one object: ``atlas`` (finds the region of a point; builds and refreshes the
engines off the caller's thread).

Walking profiles: ``profiles`` (a profile's speed and street rules from the standards file,
and its cost of each edge as equivalent metres), ``profile_views`` (a region as one profile
walks it, and the refusal of a point it cannot leave), ``profile_analysis`` (homes at
several profiles in one run, and the homes each loses); ``elevation`` samples a DEM.

Placing points and building a region: ``snapping`` (the nearest street segment of many points
at once, by a grid scan), ``routing`` (snapping onto edges, bounded searches from a point),
``facility_index`` (a region's facilities placed on its streets, the columns queries read) and
``region_cache`` (a build's CSR arrays and placed facilities, kept by a store between starts).

The planner analysis, every home at once: ``gaps`` (the analysis and its tables), ``reach``
(the reversed graph: the nearest pass per category, pairs within a radius), ``kernels`` (the
compiled multi-label pass for the k nearest and the counts, Numba) and ``kernels_numpy`` (the
same step from tiled pairs, where Numba is missing); ``jit`` decides how both compiled
modules are built (cached on disk where a folder is writable, plain Python without Numba).
Around it: ``standards`` (categories, tiers, groups of GB 50180-2018), ``demand`` (homes
placed on the streets), ``planning`` (the whole analysis as tables), ``equity`` (who is
served worst), ``supply`` (capacity-aware scores), ``recommend`` (what a proposed site
changes), ``incremental`` (fields updated where a change reaches) and ``tiles`` (k-d tiles
with halos, for the province runs).
"""
