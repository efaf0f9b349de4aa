"""A resident's location is personal data: the server log keeps paths, never query strings.

Public queries carry coordinates and search text in their query strings. The access log
records the method, the path without its query, the status and the time; nothing else of a
query is logged or stored (the API keeps no per-request record at all).
"""

from __future__ import annotations

import logging


class PathOnlyAccessLog(logging.Filter):
    """Drops the query string from uvicorn's access log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's path argument; keep the line."""
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = args[2].split("?", 1)[0]
            record.args = (*args[:2], path, *args[3:])
        return True


def keep_queries_out_of_logs() -> None:
    """Install :class:`PathOnlyAccessLog` on uvicorn's access logger (once)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, PathOnlyAccessLog) for f in logger.filters):
        logger.addFilter(PathOnlyAccessLog())
