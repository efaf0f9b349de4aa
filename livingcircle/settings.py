"""Settings from the environment (prefix ``LC_``). Only the CLI and the API read them."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo import config


class StoreSettings(BaseSettings):
    """Where regions are kept."""

    model_config = SettingsConfigDict(env_prefix="LC_")

    data_dir: Path = Field(
        default_factory=lambda: Path(user_data_dir("livingcircle")),
        description="Folder of the embedded store (LC_DATA_DIR).",
    )
    database_url: str | None = Field(
        default=None, description="PostGIS URL; when set, PostGIS is the store (LC_DATABASE_URL).",
    )


class EngineSettings(BaseSettings):
    """Standards file and query limits."""

    model_config = SettingsConfigDict(env_prefix="LC_")

    standards_file: Path | None = Field(
        default=None, description="A standards TOML replacing the bundled GB 50180 file.",
    )
    max_snap_m: float = Field(default=config.MAX_SNAP_M, gt=0, le=2000)
