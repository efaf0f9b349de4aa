"""Kiosks: fixed screens in the street, each showing the map of where it stands."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from geo.errors import InvalidParameter, LivingCircleError

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class KioskNotFound(LivingCircleError, KeyError):
    """A kiosk id that the kiosks file does not list."""


@dataclass(frozen=True)
class Kiosk:
    """A kiosk and the point its map is centred on."""

    id: str
    name: str
    lat: float
    lon: float
    region: str | None = None


def load_kiosks(path: Path) -> dict[str, Kiosk]:
    """The kiosks of a TOML file (``[kiosks.ID]`` tables), by id; none if the file is absent."""
    if not path.exists():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8")).get("kiosks", {})
        if isinstance(raw, list):  # the first format: [[kiosks]] with an id each
            raw = {k["id"]: k for k in raw}
        kiosks = [Kiosk(str(kid), str(k.get("name_en") or k.get("name") or kid),
                        float(k["lat"]), float(k["lon"]), k.get("region"))
                  for kid, k in raw.items()]
    except (OSError, tomllib.TOMLDecodeError, AttributeError, KeyError, TypeError,
            ValueError) as exc:
        raise InvalidParameter(f"cannot read kiosks file {path}: {exc}; expected [kiosks.ID] "
                               "tables with lat and lon") from exc
    for kiosk in kiosks:
        if not _ID.match(kiosk.id) or not (-90 <= kiosk.lat <= 90 and -180 <= kiosk.lon <= 180):
            raise InvalidParameter(f"kiosk {kiosk.id!r} in {path} is invalid; allowed: an id "
                                   "of 1 to 64 letters, digits, '-' or '_', lat -90 to 90, "
                                   "lon -180 to 180")
    return {k.id: k for k in kiosks}
