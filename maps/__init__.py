"""Folium renderers (resident, planner, scenario, kiosk, poster), the gaps report, offline assets.

:func:`livingcircle.maps.resident.resident_map_at` is the one resident-map use case that the
CLI, the API and the Python API call.
"""
