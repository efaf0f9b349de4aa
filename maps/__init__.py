"""Folium maps: resident, planner and kiosk; offline asset handling."""
