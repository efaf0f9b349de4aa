"""Kiosks for any city: 'livingcircle kiosk add/list/remove' on both stores, then served."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from livingcircle.api.app import create_app
from livingcircle.api.settings import APISettings, Settings
from livingcircle.data.embedded import FileStore
from livingcircle.geo.store import RegionData, Store
from livingcircle.settings import EngineSettings, StoreSettings

ADD = (
    "kiosk",
    "add",
    "--id",
    "haishu-1",
    "--region",
    "helsinki",
    "--lat",
    "60.1712",
    "--lon",
    "24.9414",
    "--name-zh",
    "海曙社区服务中心",
    "--name-en",
    "Haishu community centre",
    "-c",
    "pharmacy",
    "-c",
    "car_parking",
    "--language",
    "en",
)


def where(store: Store) -> tuple[list[str], StoreSettings]:
    """The CLI options and the settings that name ``store``."""
    if isinstance(store, FileStore):
        return (
            ["--data-dir", str(store.root)],
            StoreSettings(data_dir=store.root, database_url=None),
        )
    url = store.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
    return ["--database", url], StoreSettings(data_dir=Path("/nonexistent"), database_url=url)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("LC_DATABASE_URL", "LC_DATA_DIR")}
    return subprocess.run(
        [sys.executable, "-m", "livingcircle", *args],
        env=env | {"COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_kiosk_round_trip_and_served(store: Store, sample_data: RegionData, tmp_path: Path) -> None:
    store.save_region(sample_data)
    options, settings = where(store)
    done = cli(*ADD, *options)
    assert done.returncode == 0, done.stderr
    assert "/v1/maps/kiosk/haishu-1" in done.stderr
    listed = cli("kiosk", "list", "--json", *options)
    assert listed.returncode == 0, listed.stderr
    [kept] = json.loads(listed.stdout)
    assert kept == {
        "id": "haishu-1",
        "region": "helsinki",
        "lat": 60.1712,
        "lon": 24.9414,
        "name_zh": "海曙社区服务中心",
        "name_en": "Haishu community centre",
        "language": "en",
        "categories": ["pharmacy", "car_parking"],
        "refresh_s": 300,
    }
    toml = tmp_path / "kiosks.toml"
    toml.write_text(
        '[kiosks.haishu-1]\nname_zh = "旧"\nname_en = "Old"\nregion = "helsinki"\n'
        'lat = 60.1712\nlon = 24.9414\ncategories = ["pharmacy"]\n\n'
        '[kiosks.other]\nname_zh = "另一"\nname_en = "Other"\nregion = "helsinki"\n'
        'lat = 60.1712\nlon = 24.9414\ncategories = ["pharmacy"]\n',
        "utf-8",
    )
    app = create_app(
        Settings(
            api=APISettings(kiosks_file=toml),
            store=settings,
            engine=EngineSettings(standards_file=None),
        )
    )
    with TestClient(app) as client:
        assert sorted(client.app.state.kiosks) == ["haishu-1", "other"]  # type: ignore[attr-defined]
        page = client.get("/v1/maps/kiosk/haishu-1")
        assert page.status_code == 200 and "Haishu community centre" in page.text
        data = client.get("/v1/maps/kiosk/haishu-1/data").json()
        assert data["name_en"] == "Haishu community centre" and data["language"] == "en"
        assert {s["category"] for s in data["services"]} == {"pharmacy", "car_parking"}
    assert cli("kiosk", "remove", "haishu-1", *options).returncode == 0
    assert json.loads(cli("kiosk", "list", "--json", *options).stdout) == []
    again = cli("kiosk", "remove", "haishu-1", *options)
    assert again.returncode == 2 and "unknown kiosk 'haishu-1'" in again.stderr


def test_bad_kiosks_are_refused_with_what_is_allowed(store: Store, sample_data: RegionData) -> None:
    store.save_region(sample_data)
    options, _ = where(store)
    for change, words in (
        (("--lat", "61.0"), "outside region 'helsinki'"),
        (("--region", "nowhere"), "region 'nowhere' is not loaded"),
        (("-c", "spaceport"), "unknown category 'spaceport'"),
        (("--id", "no spaces"), "kiosk id 'no spaces' is not allowed"),
        (("--language", "fr"), "allowed: zh, en"),
    ):
        args = list(ADD)
        flag = change[0]
        if flag in args and flag != "-c":
            args[args.index(flag) + 1] = change[1]
        else:
            args += list(change)
        done = cli(*args, *options)
        assert done.returncode == 2, (change, done.stderr)
        assert words in " ".join(done.stderr.split()), (change, done.stderr)
    assert json.loads(cli("kiosk", "list", "--json", *options).stdout) == []
