"""Text a store cannot keep (NUL, lone surrogates, control characters, over-long): each store
refuses it the same way on every write path, an import rejects only its rows, and a load from
OpenStreetMap cleans it (geo.text is the one rule)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import osmium
import pandas as pd
import pytest
from pyproj import Geod
from typer.testing import CliRunner

from livingcircle.cli import app
from livingcircle.data.embedded import FileStore
from livingcircle.data.load import load_osm
from livingcircle.data.postgis import PostgisStore
from livingcircle.data.sample import SAMPLE_MAPPING, SAMPLE_SOURCE
from livingcircle.geo.errors import InvalidText
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import RegionData, Store, with_facilities
from tests.contract.test_facility_edits import REGION, clinic, editor, state

GEOD = Geod(ellps="WGS84")
ID = "health-bureau:c-1"


@pytest.fixture
def loaded(store: Store, sample_data: RegionData) -> Any:
    store.save_region(sample_data)
    return editor(store)


BAD = [
    pytest.param(
        {"tags": json.dumps({"ph\x00one": "+358"})},
        f"facility {ID!r}: tags key 'ph\\x00one' has a NUL character (U+0000) at position 3; "
        "remove it",
        id="nul-in-tag-key",
    ),
    pytest.param(
        {"name": "Terveys\x00asema"},
        f"facility {ID!r}: name has a NUL character (U+0000) at position 8; remove it",
        id="nul-in-name",
    ),
    pytest.param(
        {"name_en": "Health \ud800"},
        f"facility {ID!r}: name_en has a lone surrogate (U+D800, half of a UTF-16 pair) at "
        "position 8; send the whole character",
        id="lone-surrogate",
    ),
    pytest.param(
        {"tags": json.dumps({"phone": "09\udc00"}, ensure_ascii=False)},
        f"facility {ID!r}: tags value of 'phone' has a lone surrogate (U+DC00, half of a UTF-16 "
        "pair) at position 3; send the whole character",
        id="lone-surrogate-in-tag",
    ),
    pytest.param(
        {"name": "Terveysasema\x1b[31m"},
        f"facility {ID!r}: name has a control character (U+001B) at position 13; remove it",
        id="control-character",
    ),
    pytest.param(
        {"name_zh": "长" * 201},
        f"facility {ID!r}: name_zh is 201 characters long; allowed: at most 200",
        id="over-long-name",
    ),
]


@pytest.mark.parametrize(("fields", "message"), BAD)
def test_each_store_refuses_text_it_cannot_keep(
    loaded: Any, fields: dict[str, str], message: str
) -> None:
    before = state(loaded)
    with pytest.raises(InvalidText) as made:
        loaded.save_facility(REGION, clinic(**fields), "health-bureau", create=True)
    assert str(made.value) == message
    loaded.save_facility(REGION, clinic(), "health-bureau", create=True)
    kept = state(loaded)
    with pytest.raises(InvalidText) as changed:
        loaded.save_facility(REGION, clinic(**fields), "health-bureau", create=False)
    assert str(changed.value) == message
    assert state(loaded) == kept
    loaded.delete_facility(REGION, ID, "health-bureau")
    assert state(loaded)[0] == before[0]


def test_text_with_line_breaks_where_allowed_is_kept(loaded: Any) -> None:
    tags = json.dumps({"description": "Kerros 2\nOvi B\tsisäpiha"}, ensure_ascii=False)
    loaded.save_facility(REGION, clinic(tags=tags, name="زهرا\u200cی"), "health-bureau", True)
    row = loaded.facility(REGION, ID).iloc[0]
    assert json.loads(row["tags"]) == json.loads(tags) and row["name"] == "زهرا\u200cی"


def test_loads_and_updates_refuse_frames_with_such_text(
    loaded: Any, sample_data: RegionData
) -> None:
    before = state(loaded)
    facilities = sample_data.facilities.copy()
    facilities.loc[3, "name"] = "Apte\x00kki"
    bad_id = facilities.loc[3, "id"]
    with pytest.raises(InvalidText, match=f"facility '{bad_id}': name has a NUL"):
        loaded.save_region(with_facilities(sample_data, facilities))
    edges = sample_data.edges.copy()
    edges.loc[0, "name"] = "Katu\x01"
    with pytest.raises(InvalidText, match="street edge 0: name has a control character"):
        loaded.save_region(replace(sample_data, edges=edges))
    with pytest.raises(InvalidText, match=f"facility '{bad_id}': name has a NUL"):
        loaded.update_facilities(REGION, lambda info, stored: facilities)
    assert state(loaded) == before


# -- a load from OpenStreetMap cleans, the same on both stores ---------------------------------


@pytest.fixture(scope="session")
def dirty_osm(tmp_path_factory: pytest.TempPathFactory, sample_path: Path) -> Path:
    """The sample with a pharmacy whose name has a control character and a tab."""

    class Dirty(osmium.SimpleHandler):  # type: ignore[misc]
        def __init__(self, writer: osmium.SimpleWriter) -> None:
            super().__init__()
            self.writer, self.done = writer, False

        def node(self, n: osmium.osm.Node) -> None:
            tags = dict(n.tags)
            if not self.done and tags.get("amenity") == "pharmacy" and tags.get("name"):
                self.done = True
                tags["name"] = tags["name"][:4] + "\x01" + tags["name"][4:] + "\tOy"
                self.writer.add_node(n.replace(tags=tags))
            else:
                self.writer.add_node(n)

        def way(self, w: osmium.osm.Way) -> None:
            self.writer.add_way(w)

        def relation(self, r: osmium.osm.Relation) -> None:
            self.writer.add_relation(r)

    path = tmp_path_factory.mktemp("dirty") / "dirty.osm.pbf"
    writer = osmium.SimpleWriter(str(path))
    Dirty(writer).apply_file(str(sample_path))
    writer.close()
    return path


@pytest.mark.slow
def test_a_load_cleans_osm_text_and_says_so(
    store: Store, dirty_osm: Path, standard: Standard, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="livingcircle.load"):
        load_osm(store, dirty_osm, REGION, standard)
    facilities = store.load_region(REGION).facilities
    hit = facilities[facilities["name"].str.endswith(" Oy")]
    assert len(hit) == 1
    name = hit["name"].iloc[0]
    assert "\x01" not in name and "\t" not in name
    assert json.loads(hit["tags"].iloc[0])["name"].replace("\t", " ") == name  # tabs: a value
    said = caplog.text
    assert hit["id"].iloc[0] in said and "U+0001" in said and "cleaned" in said


# -- an import rejects the rows, imports the rest, the same on both stores -----------------------

#: A clinic, as the sample mapping's ``[categories]`` names it.
CLINIC = "社区卫生服务站"


def department_list(folder: Path, sample_data: RegionData) -> tuple[Path, Path]:
    """23 good clinics 40 m apart near the centre, and one whose name has a NUL (row 12).

    Its mapping is the sample health bureau's (:data:`livingcircle.data.sample.SAMPLE_MAPPING`).
    """
    c = sample_data.facilities.geometry.union_all().centroid
    rows = []
    for i in range(24):
        lon, lat, _ = GEOD.fwd(c.x, c.y, 90.0, 40.0 * (i % 6))
        lon, lat, _ = GEOD.fwd(lon, lat, 0.0, 40.0 * (i // 6))
        name = "Bad\x00name" if i == 10 else f"Klinikka {i}"
        rows.append({"编号": f"k{i}", "名称": name, "类型": CLINIC, "经度": lon, "纬度": lat})
    path = folder / "clinics.csv"
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8")
    mapping = folder / "clinics.toml"
    mapping.write_text(SAMPLE_MAPPING, encoding="utf-8")
    return path, mapping


@pytest.mark.slow
def test_an_import_rejects_rows_with_such_text_and_imports_the_rest(
    store: Store, sample_data: RegionData, tmp_path: Path
) -> None:
    store.save_region(sample_data)
    path, mapping = department_list(tmp_path, sample_data)
    where = (
        ["--data-dir", str(store.root)]
        if isinstance(store, FileStore)
        else ["--database", store.engine.url.render_as_string(hide_password=False)]
    )
    assert isinstance(store, FileStore | PostgisStore)
    report = tmp_path / "rejected.csv"
    args = ["import", str(path), "--mapping", str(mapping), "--region", REGION, *where]
    result = CliRunner().invoke(app, [*args, "--report", str(report), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    summary.pop("report", None)
    assert summary == {
        "source": SAMPLE_SOURCE,
        "region": REGION,
        "rows_read": 24,
        "imported": 23,
        "merged": 0,
        "rejected": 1,
        "conflicts": 0,
        "facilities_added": 23,
        "facilities_changed": 0,
        "facilities_removed": 0,
        "written": True,
    }
    full = json.loads(report.with_suffix(".json").read_text(encoding="utf-8"))
    assert [(r["row"], r["reason"]) for r in full["rejected"]] == [
        (12, "column '名称' (name) has a NUL character (U+0000) at position 4; remove it")
    ]
    stored = store.load_region(REGION).facilities
    ours = stored[stored["source"] == SAMPLE_SOURCE]
    assert sorted(ours["source_id"]) == sorted(f"k{i}" for i in range(24) if i != 10)
    assert len(stored) == len(sample_data.facilities) + 23
