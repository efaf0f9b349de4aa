"""A read that meets a version switch on the embedded store finds the new version.

A writer makes a new version live and removes the old folder; a reader that had read
``CURRENT`` just before must not take the region for gone (the soak saw 404s for a loaded
region while imports ran).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from livingcircle.data.embedded import FileStore
from livingcircle.geo.store import RegionData
from tests.contract.conftest import REGION


def test_a_read_racing_a_version_switch_finds_the_new_version(
    sample_data: RegionData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path)
    store.save_region(sample_data)
    folder = tmp_path / "regions" / REGION
    old = (folder / "CURRENT").read_text().strip()
    new = folder / "v-new"
    real_exists = Path.exists
    switched = False

    def exists_after_a_switch(path: Path) -> bool:
        """The first look into the old version comes just after a writer switched away."""
        nonlocal switched
        if not switched and path.parent.name == old:
            switched = True
            (folder / old).rename(new)  # what a switch then a collect leaves on disk
            (folder / "CURRENT").write_text(new.name)
        return real_exists(path)

    monkeypatch.setattr(Path, "exists", exists_after_a_switch)
    assert [r.name for r in store.regions()] == [REGION]
    assert switched
    assert len(store.load_region(REGION).facilities) == len(sample_data.facilities)


def test_a_broken_version_is_still_no_region(sample_data: RegionData, tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.save_region(sample_data)
    folder = tmp_path / "regions" / REGION
    (folder / (folder / "CURRENT").read_text().strip() / "nodes.parquet").unlink()
    assert store.regions() == []
