"""Route modules, one domain each.

``queries`` (nearest, catchment), ``search`` (places by name), ``facilities`` (look-ups and
their changes' history), ``writes`` (a department's edits), ``status`` (live statuses),
``maps`` (resident and kiosk pages), ``app`` (the resident app at ``/``), ``jobs`` and
``scenarios`` (planner jobs), ``audit`` (the store-wide audit log), ``meta`` (health,
regions, the standard) and ``docs`` (Swagger UI and ReDoc, offline).
"""
