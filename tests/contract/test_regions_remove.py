"""``livingcircle regions remove`` on each store, and the atlas's choice between regions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from typer.testing import CliRunner

from livingcircle.cli import app
from livingcircle.geo.atlas import Atlas
from livingcircle.geo.errors import AmbiguousRegion, PointOutsideRegion
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import RegionData, Store

LAT, LON = 60.1710, 24.9414


def _twice(store: Store, data: RegionData) -> None:
    """The sample under its own name and as 'copy': two regions over the same streets."""
    store.save_region(data)
    store.save_region(replace(data, info=replace(data.info, name="copy")))


def test_regions_remove_on_each_store(
    open_store: tuple[str, Callable[[], Store]], store_kind: str, sample_data: RegionData
) -> None:
    where, opener = open_store
    _twice(opener(), sample_data)
    flag = "--data-dir" if store_kind == "file" else "--database"
    done = CliRunner().invoke(app, ["regions", "remove", "copy", flag, where])
    assert done.exit_code == 0, done.output
    assert [i.name for i in opener().regions()] == ["helsinki"]
    again = CliRunner().invoke(app, ["regions", "remove", "copy", flag, where])
    assert again.exit_code != 0


def test_overlapping_regions_are_never_chosen_silently(
    store: Store, sample_data: RegionData, standard: Standard
) -> None:
    _twice(store, sample_data)
    atlas = Atlas(store, standard)
    with pytest.raises(AmbiguousRegion, match=r"pass --region NAME.*allowed: copy, helsinki"):
        atlas.nearest(LON, LAT, ["pharmacy"])
    assert atlas.nearest(LON, LAT, ["pharmacy"], region="copy").region == "copy"
    store.delete_region("copy")
    atlas.refresh("copy").result()
    assert atlas.catchment(LON, LAT, [5]).region == "helsinki"


def test_outside_names_the_nearest_region_and_its_bounds(
    store: Store, sample_data: RegionData, standard: Standard
) -> None:
    store.save_region(sample_data)
    w, s, e, n = sample_data.info.bounds
    with pytest.raises(PointOutsideRegion) as caught:
        Atlas(store, standard).nearest(25.0, 60.2)  # a few km north-east of the sample
    message = str(caught.value)
    assert f"the nearest is helsinki (lat {s:.4f} to {n:.4f}, lon {w:.4f} to {e:.4f})" in message
    assert "km away" in message
