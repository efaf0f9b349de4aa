"""The notice-board poster: an A4 PDF printed by Chromium, whose QR code opens the live app."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest
import zxingcpp
from PIL import Image

from livingcircle.data.embedded import FileStore
from livingcircle.data.osm_file import Extract
from livingcircle.geo.engine import Region
from livingcircle.maps.poster import Place, app_link, make_poster, poster_html
from tests.contract.conftest import region_data

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).with_name("screenshots")
PLACE = Place(24.9414, 60.1710, "赫尔辛基中央车站", "Helsinki Central Station")
A4_PT = (595.28, 841.89)


@pytest.fixture(scope="module")
def poster(sample_region: Region, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("poster") / "poster.pdf"
    return make_poster(sample_region, PLACE, out, app_url="http://127.0.0.1:8000/")


@pytest.fixture(scope="module")
def first_page(poster: Path) -> Path:
    """The first page as a PNG at 200 dpi (poppler's pdftoppm), kept with the screenshots."""
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is missing: apt-get install poppler-utils")
    SCREENSHOTS.mkdir(exist_ok=True)
    stem = SCREENSHOTS / "poster"
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "200",
            "-png",
            "-singlefile",
            "-f",
            "1",
            "-l",
            "1",
            str(poster),
            str(stem),
        ],
        check=True,
        timeout=120,
    )
    return stem.with_suffix(".png")


def test_one_a4_page(poster: Path) -> None:
    reader = pypdf.PdfReader(poster)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(A4_PT[0], abs=1.5)
    assert float(box.height) == pytest.approx(A4_PT[1], abs=1.5)
    text = "".join(reader.pages[0].extract_text().split())  # spaces fall between CJK glyphs
    for words in (
        "赫尔辛基中央车站",
        "Helsinki Central Station",
        "附近的生活服务",
        "药店",
        "Pharmacy",
        "5 分钟内没有幼儿园",
        "no kindergarten / nursery within a 5-minute",
        "扫码打开实时地图",
    ):
        assert "".join(words.split()) in text, words


def test_qr_code_opens_the_app_at_the_place(first_page: Path) -> None:
    found = zxingcpp.read_barcodes(Image.open(first_page))
    qr = [b.text for b in found if b.format == zxingcpp.BarcodeFormat.QRCode]
    assert qr == ["http://127.0.0.1:8000/?lat=60.17100&lon=24.94140&lang=zh"]
    assert qr[0] == app_link("http://127.0.0.1:8000/", PLACE.lon, PLACE.lat)


def test_app_links_and_bad_addresses() -> None:
    assert (
        app_link("https://lc.example.org/app?x=1", 121.5, 29.87, "en")
        == "https://lc.example.org/app?x=1&lat=29.87000&lon=121.50000&lang=en"
    )
    for bad in ("javascript:alert(1)", "ftp://x/", "127.0.0.1:8000"):
        with pytest.raises(ValueError, match="http"):
            app_link(bad, 0.0, 0.0)


def test_names_reach_the_page_as_text_only(sample_region: Region) -> None:
    page = poster_html(sample_region, Place(PLACE.lon, PLACE.lat, "<script>x</script>", "&<>"))
    assert "<script>x" not in page and "&lt;script&gt;x" in page


def test_command_line_poster_of_a_kiosk_and_of_a_point(
    tmp_path: Path, sample_extract: Extract
) -> None:
    FileStore(tmp_path / "data").save_region(region_data(sample_extract))
    env = {k: v for k, v in os.environ.items() if k != "LC_DATABASE_URL"}
    env["LC_DATA_DIR"] = str(tmp_path / "data")
    for args in (("--kiosk", "helsinki-station"), ("--lat", "60.1712", "--lon", "24.9414")):
        out = tmp_path / "poster.pdf"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "livingcircle",
                "map",
                "poster",
                *args,
                "--out",
                str(out),
                "--app-url",
                "https://lc.example.org/",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert len(pypdf.PdfReader(out).pages) == 1
    done = subprocess.run(
        [sys.executable, "-m", "livingcircle", "map", "poster", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2 and "--kiosk ID, or --lat and --lon" in done.stderr
