"""The API's settings (prefix ``LC_``), beside the store and engine settings of the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field

from livingcircle.maps.kiosk import DEFAULT_KIOSKS_FILE
from livingcircle.settings import EngineSettings, LCSettings, StoreSettings, seconds


class APISettings(LCSettings):
    """Limits, CORS and kiosks of the HTTP API."""

    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to call the API from a browser, as JSON: "
        "LC_CORS_ORIGINS='[\"https://kiosk.example.org\"]'; none by default.",
    )
    max_bbox_km2: float = Field(
        default=25.0,
        gt=0,
        le=10_000,
        description="Largest bounding box a facility query may ask for.",
    )
    max_page_size: int = Field(
        default=500, ge=1, le=5_000, description="Most facilities one page may hold."
    )
    max_body_bytes: int = Field(
        default=16_384, ge=1_024, le=10_000_000, description="Largest request body accepted."
    )
    gzip_level: int = Field(
        default=1,
        ge=0,
        le=9,
        description="gzip level for responses over 1 KiB to clients that accept gzip (a "
        "catchment shrinks about 6-fold at level 1, for ~1 ms); 0 sends them as is.",
    )
    body_timeout_s: float = seconds(
        10.0,
        600,
        "Seconds a request's whole body may take to arrive; past it, 408 (LC_BODY_TIMEOUT_S).",
    )
    max_header_bytes: int = Field(
        default=16_384,
        ge=1_024,
        le=1_048_576,
        description="Largest request line and headers accepted; more is refused with 431 "
        "(LC_MAX_HEADER_BYTES).",
    )
    shutdown_grace_s: int = Field(
        default=30,
        ge=1,
        le=600,
        description="Seconds a stopping worker (SIGTERM, rolling restart) gives requests in "
        "flight to finish (LC_SHUTDOWN_GRACE_S).",
    )
    kiosks_file: Path = Field(
        default=DEFAULT_KIOSKS_FILE, description="TOML file of kiosks ([kiosks.ID] tables)."
    )
    warm_regions: bool = Field(default=True, description="Build every region's engine at start-up.")
    refresh_seconds: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="How often each worker checks the store for reloaded or edited regions "
        "(and rebuilds their engines); 0 never checks.",
    )

    auth_threads: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Threads that hash API keys (scrypt, ~70 ms each), apart from the ones "
        "that answer reads, so a flood of wrong keys cannot take the CPU from public reads.",
    )
    auth_queue: int = Field(
        default=16,
        ge=1,
        le=10_000,
        description="Key checks that may run or wait at once; beyond it a check gets 503 "
        "with Retry-After: 1 at once.",
    )
    auth_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="How much lower the hashing threads' CPU priority is than the rest "
        "(Linux nice value; 0 the same).",
    )
    auth_tarpit_s: float = Field(
        default=1.0,
        ge=0,
        le=30,
        description="How long a 429 or 503 of the key checks waits before it is sent (no "
        "CPU spent), so that a flood slows itself down.",
    )
    auth_fail_limit: int = Field(
        default=10,
        ge=1,
        description="Failed key checks one client address may make per window; beyond it "
        "429 with Retry-After, without hashing.",
    )
    auth_fail_key_limit: int = Field(
        default=20, ge=1, description="Failed key checks per key id per window (as above)."
    )
    auth_fail_window_s: float = seconds(60.0, 86_400, "The sliding window of failed key checks.")
    auth_cache_s: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="How long a verified key skips scrypt (its record is still read on every "
        "request, so a revoked key stops at once); 0 hashes every request.",
    )


@dataclass
class Settings:
    """Everything ``create_app`` needs; each part reads its own ``LC_`` variables."""

    api: APISettings = field(default_factory=APISettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    engine: EngineSettings = field(default_factory=EngineSettings)
