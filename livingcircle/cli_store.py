"""The store options every command shares (``--data-dir``, ``--database``) and the store they open.

Each command that reads or writes the store takes ``data_dir: DataDir = None, database:
Database = None`` and calls :func:`open_cli_store` with them: the options' names, help and
defaults, and which store they pick, are written here once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from livingcircle.geo.store import Store
from livingcircle.settings import store_at

__all__ = ["DataDir", "Database", "open_cli_store"]

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Embedded store folder (default: LC_DATA_DIR or the user data folder)."
    ),
]
Database = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="PostGIS store URL, postgresql+psycopg://USER:PASSWORD@HOST:5432/DB "
        "(default: LC_DATABASE_URL); without one the embedded store is used.",
    ),
]


def open_cli_store(data_dir: Path | None, database: str | None = None) -> Store:
    """The store the options name: PostGIS at ``database``, else the folder ``data_dir``.

    Options left out fall back to the settings (``LC_DATABASE_URL``, ``LC_DATA_DIR``).
    """
    return store_at(data_dir, database)
