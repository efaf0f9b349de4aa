"""The HTTP API (FastAPI): ``create_app`` in :mod:`api.app`. Thin: it asks ``geo``."""
