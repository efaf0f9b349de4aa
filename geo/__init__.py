"""The domain core: walking graph, snapping, routing, catchments, standards, store protocol.

Imports no web framework, database driver or map library.
"""
