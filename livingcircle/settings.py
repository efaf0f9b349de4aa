"""Settings from the environment (prefix ``LC_``). Only the CLI and the API read them.

The one source of every setting: each class is an :class:`LCSettings` (the ``LC_`` prefix),
and a duration is a :func:`seconds` field. ``livingcircle.api.settings`` adds the API's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from livingcircle.data.embedded import FileStore
from livingcircle.data.pg_timeouts import DbTimeouts
from livingcircle.geo import config
from livingcircle.geo.store import Store


class LCSettings(BaseSettings):
    """Settings read from ``LC_*`` environment variables (the field's name, upper case)."""

    model_config = SettingsConfigDict(env_prefix="LC_")


def seconds(default: float, most: float, description: str) -> Any:  # a pydantic Field
    """A duration setting in seconds: more than 0 and at most ``most``."""
    return Field(default=default, gt=0, le=most, description=description)


class StoreSettings(LCSettings):
    """Where regions are kept."""

    data_dir: Path = Field(
        default_factory=lambda: Path(user_data_dir("livingcircle")),
        description="Folder of the embedded store (LC_DATA_DIR).",
    )
    database_url: str | None = Field(
        default=None,
        description="PostGIS URL; when set, PostGIS is the store (LC_DATABASE_URL).",
    )
    db_connect_timeout_s: float = Field(
        default=5.0, ge=1, le=300, description="Seconds to wait for a PostGIS connection."
    )
    db_statement_timeout_s: float = seconds(
        15.0,
        3600,
        "Seconds one PostGIS query or edit may take; past it (or when the server "
        "does not answer) the request fails with 503 (LC_DB_STATEMENT_TIMEOUT_S).",
    )
    db_load_timeout_s: float = seconds(
        600.0, 86_400, "Seconds a whole-region load, import or read may take on PostGIS."
    )
    db_pool_timeout_s: float = seconds(
        30.0,
        300,
        "Seconds to wait for a free pooled connection (writes under load queue "
        "this long before a 503).",
    )

    def db_timeouts(self) -> DbTimeouts:
        """The PostGIS timeouts these settings give."""
        return DbTimeouts(
            self.db_connect_timeout_s,
            self.db_statement_timeout_s,
            self.db_load_timeout_s,
            self.db_pool_timeout_s,
        )


def open_store(settings: StoreSettings | None = None) -> Store:
    """The store the settings name: PostGIS when ``database_url`` is set, else the files.

    The one place the CLI and the API open a store.
    """
    settings = settings or StoreSettings()
    if settings.database_url:
        from livingcircle.data.postgis import PostgisStore  # noqa: PLC0415  (SQLAlchemy only when asked)

        return PostgisStore(settings.database_url, settings.db_timeouts())
    return FileStore(settings.data_dir)


def store_at(data_dir: str | Path | None = None, database: str | None = None) -> Store:
    """The store a caller names: PostGIS at ``database``, else the folder ``data_dir``.

    What the CLI's ``--data-dir``/``--database`` and the Python API's ``data_dir=``/
    ``database=`` open; each one left out (None) falls back to the settings
    (``LC_DATA_DIR``, ``LC_DATABASE_URL``).
    """
    given = {"data_dir": None if data_dir is None else Path(data_dir), "database_url": database}
    return open_store(
        StoreSettings().model_copy(update={k: v for k, v in given.items() if v is not None})
    )


class EngineSettings(LCSettings):
    """Standards file and query limits."""

    standards_file: Path | None = Field(
        default=None,
        description="A standards TOML replacing the bundled GB 50180 file.",
    )
    max_snap_m: float = Field(default=config.MAX_SNAP_M, gt=0, le=2000)


class OverpassSettings(BaseSettings):
    """The Overpass server ``livingcircle fetch`` asks (through osmnx)."""

    model_config = SettingsConfigDict(env_prefix="LC_OVERPASS_")

    url: str = Field(
        default="https://overpass-api.de/api",
        description="Overpass API base URL, without /interpreter (LC_OVERPASS_URL); "
        "point it at a self-hosted Overpass.",
    )
    timeout_s: float = seconds(
        180.0, 3600, "Seconds to wait for an answer (LC_OVERPASS_TIMEOUT_S)."
    )
    rate_limit: bool = Field(
        default=True,
        description="Wait for a slot from the server's "
        "/status before each query (LC_OVERPASS_RATE_LIMIT).",
    )


class NominatimSettings(BaseSettings):
    """The geocoder ``livingcircle fetch`` asks for a place name's outline (through osmnx)."""

    model_config = SettingsConfigDict(env_prefix="LC_NOMINATIM_")

    url: str | None = Field(
        default=None,
        description="Nominatim base URL (LC_NOMINATIM_URL); "
        "default: osmnx's, the public Nominatim.",
    )
