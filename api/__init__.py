"""The HTTP API (FastAPI): ``create_app`` in :mod:`livingcircle.api.app`. Thin: it asks ``geo``."""
