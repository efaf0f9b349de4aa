"""Shared fixtures: the real Helsinki sample, read once per session, and hand-built networks."""

from __future__ import annotations

from pathlib import Path

import pytest

from livingcircle.data.osm_file import Extract, read_osm_file
from livingcircle.data.sample import sample_file
from livingcircle.geo.engine import Region
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.standards import Standard, load_standard


@pytest.fixture(scope="session")
def standard() -> Standard:
    return load_standard()


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return sample_file()


@pytest.fixture(scope="session")
def sample_extract(sample_path: Path, standard: Standard) -> Extract:
    return read_osm_file(sample_path, standard)


@pytest.fixture(scope="session")
def sample_region(sample_extract: Extract, standard: Standard) -> Region:
    net = StreetNetwork.from_frames(sample_extract.nodes, sample_extract.edges)
    return Region("helsinki", net, sample_extract.facilities, standard)
