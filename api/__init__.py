"""The HTTP API (FastAPI): ``create_app`` in :mod:`livingcircle.api.app`. Thin: it asks ``geo``.

Rooms:

- ``app``: the factory and its lifespan (store, atlas, kiosks, the region watcher);
  ``serve``: uvicorn and its workers; ``settings``: the ``LC_`` API settings.
- ``deps``: what handlers are given (store, atlas, standard, the caller's key); ``auth``: key
  checks; ``params``: query and path parameters shared by routes.
- ``models`` (GeoJSON pieces, problems, facilities, live statuses), ``models_queries``
  (nearest, catchment, kiosk and search answers), ``models_meta`` (health, standard,
  regions): the bodies OpenAPI documents.
- ``errors``: the error-to-status table and problem details; ``strict``: strict query
  numbers, JSON and methods; ``middleware``: the HTTP middleware base and the body's size
  and time limits; ``outage``: answering while the store is down; ``privacy``: no query
  strings in logs.
- ``geojson``, ``live``: stored rows and live statuses into answers; ``jobs``,
  ``scenario_jobs``: planner jobs off the event loop.
- ``routes/``: one module of handlers per domain.
"""
