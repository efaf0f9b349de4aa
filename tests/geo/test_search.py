"""Name search over the Helsinki sample, and over hand-made facilities with Chinese names."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, Polygon

from livingcircle.data.osm_file import Extract
from livingcircle.geo.coords import great_circle_m
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.search import EXACT, PREFIX, check_query, search
from livingcircle.geo.search_index import SearchIndex, build_index, fold, street_middle
from livingcircle.geo.standards import Standard
from livingcircle.maps.kiosk import load_kiosks

STATION = (24.9414, 60.1710)  # lon, lat


@dataclass(frozen=True)
class Place:
    """A kiosk-like named place."""

    id: str
    name_zh: str
    name_en: str
    lon: float
    lat: float


@pytest.fixture(scope="module")
def helsinki(sample_extract: Extract, standard: Standard) -> SearchIndex:
    kiosks = [k for k in load_kiosks().values() if k.region == "helsinki"]
    return build_index(
        "helsinki", sample_extract.facilities, sample_extract.edges, standard, kiosks
    )


def facilities(*rows: tuple[str, str, str, str, float, float]) -> gpd.GeoDataFrame:
    """Facilities (id, name, name_zh, category, lon, lat)."""
    return gpd.GeoDataFrame(
        {
            "id": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "name_zh": [r[2] for r in rows],
            "category": [r[3] for r in rows],
        },
        geometry=[Point(r[4], r[5]) for r in rows],
        crs="EPSG:4326",
    )


@pytest.fixture(scope="module")
def chinese(standard: Standard) -> SearchIndex:
    frame = facilities(
        ("dept:1", "社区卫生服务站", "社区卫生服务站", "clinic", 121.50, 29.85),
        ("dept:2", "幼儿园", "幼儿园", "kindergarten", 121.51, 29.85),
        ("dept:3", "Haishu No. 2 Kindergarten", "海曙第二幼儿园", "kindergarten", 121.52, 29.86),
        ("dept:4", "", "中國樓酒家", "restaurant", 121.53, 29.86),
    )
    return build_index("haishu", frame, None, standard)


def names(result: object) -> list[str]:
    return [h.entry.name for h in result.hits]  # type: ignore[attr-defined]


# -- the sample ------------------------------------------------------------------------------


def test_english_name_case_insensitive(helsinki: SearchIndex, standard: Standard) -> None:
    result = search(helsinki, "kauppatori")
    assert result.hits and all(h.entry.name == "Kauppatori" for h in result.hits)
    assert result.hits[0].score == EXACT and result.hits[0].entry.category == "bus_stop"
    labels = standard.category("bus_stop")
    assert result.hits[0].entry.category_en == labels.label_en
    assert result.hits[0].entry.category_zh == labels.label_zh
    assert result.message is None and result.suggestions == []


def test_typo_finds_the_name(helsinki: SearchIndex) -> None:
    result = search(helsinki, "Kaupatori")
    assert names(result)[0] == "Kauppatori"
    assert result.hits[0].score < PREFIX  # a typo ranks below what matches as typed


def test_prefix_ranks_above_a_part(helsinki: SearchIndex) -> None:
    result = search(helsinki, "apteekki", limit=50)
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert names(result)[0].casefold().startswith("apteekki")
    assert "Yliopiston apteekki" in names(result)  # a later word matches as well


def test_accents_do_not_matter(helsinki: SearchIndex) -> None:
    assert names(search(helsinki, "paaposti"))[0] == "Pääposti"


def test_street_is_one_entry_at_its_middle(helsinki: SearchIndex, sample_extract: Extract) -> None:
    result = search(helsinki, "Mannerheimintie")
    assert (result.hits[0].entry.kind, result.hits[0].entry.name) == ("street", "Mannerheimintie")
    street = [h for h in result.hits if h.entry.name == "Mannerheimintie"]
    assert len(street) == 1 and street[0].score == EXACT  # its 61 edges are one street
    edges = sample_extract.edges[sample_extract.edges["name"] == "Mannerheimintie"]
    lines = edges.geometry.union_all()
    assert lines.distance(Point(street[0].entry.lon, street[0].entry.lat)) < 1e-6


def test_kiosk_by_english_and_chinese_name(helsinki: SearchIndex) -> None:
    for q in ("Helsinki Central Station", "赫尔辛基中央车站", "helsinki central station"):
        hit = search(helsinki, q).hits[0]
        assert (hit.entry.kind, hit.entry.id) == ("kiosk", "helsinki-station"), q
        assert hit.entry.name_zh == "赫尔辛基中央车站"
    # a prefix shared with the central library's English name: both, as good as each other
    top = search(helsinki, "helsinki central").hits[:2]
    assert "helsinki-station" in {h.entry.id for h in top}
    assert top[0].score == top[1].score


def test_equal_matches_nearest_first(helsinki: SearchIndex) -> None:
    stops = search(helsinki, "Kauppatori").hits
    assert len(stops) >= 2 and len({h.score for h in stops}) == 1
    far = max(stops, key=lambda h: great_circle_m(*STATION, h.entry.lon, h.entry.lat))
    there = (far.entry.lon, far.entry.lat)
    ranked = search(helsinki, "Kauppatori", lonlat=there).hits
    assert ranked[0].entry.id == far.entry.id and ranked[0].distance_m == 0.0
    distances = [h.distance_m for h in ranked]
    assert distances == sorted(distances)  # type: ignore[type-var]
    assert all(h.distance_m is None for h in stops)


def test_quality_before_distance(helsinki: SearchIndex) -> None:
    # standing at the kiosk, an exact street name still beats a typo'd near one
    result = search(helsinki, "Mannerheimintie", lonlat=STATION)
    assert result.hits[0].entry.name == "Mannerheimintie"


def test_nothing_found_suggests_names(helsinki: SearchIndex) -> None:
    result = search(helsinki, "xyzzy")
    assert result.hits == []
    assert 1 <= len(result.suggestions) <= 5
    assert len(set(result.suggestions)) == len(result.suggestions)
    assert result.message is not None
    assert result.message.startswith("nothing called 'xyzzy' in helsinki; closest: ")
    assert result.suggestions[0] in result.message
    geojson = result.to_geojson()
    assert geojson["features"] == [] and geojson["properties"]["suggestions"]


def test_suggestions_near_a_bad_typo(helsinki: SearchIndex) -> None:
    result = search(helsinki, "Kppptri")
    assert not result.hits and "Kauppatori" in result.suggestions


def test_geojson_points(helsinki: SearchIndex) -> None:
    feature = search(helsinki, "Mannerheimintie", lonlat=STATION).to_geojson()["features"][0]
    assert feature["geometry"]["type"] == "Point"
    props = feature["properties"]
    assert {
        "kind",
        "id",
        "name",
        "name_zh",
        "category",
        "category_zh",
        "category_en",
        "score",
        "distance_m",
        "region",
    } <= set(props)
    assert props["region"] == "helsinki" and props["distance_m"] > 0


# -- Chinese ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "q",
    [
        "社区卫生服务站",
        "社区卫生",
        "卫生服务",
        "shequ weisheng",
        "shequweisheng",
        "SheQu WeiSheng FuWu Zhan",
        "sqws",
        "sqwsfwz",
        "shequ weishen",
    ],
)
def test_chinese_by_characters_and_pinyin(chinese: SearchIndex, q: str) -> None:
    hit = search(chinese, q).hits[0]
    assert hit.entry.id == "dept:1", q
    assert hit.entry.category == "clinic" and hit.entry.category_zh and hit.entry.category_en


def test_pinyin_exact_beats_initials(chinese: SearchIndex) -> None:
    assert search(chinese, "youeryuan").hits[0].entry.id == "dept:2"
    assert {h.entry.id for h in search(chinese, "幼儿园").hits} == {"dept:2", "dept:3"}
    assert search(chinese, "幼儿园").hits[0].score == EXACT


def test_chinese_kindergarten_near_first(chinese: SearchIndex) -> None:
    near_3 = (121.52, 29.86)
    ids = [h.entry.id for h in search(chinese, "er you er yuan", lonlat=near_3).hits]
    assert ids[0] == "dept:3"  # 海曙第二幼儿园: "...di er you er yuan"


def test_same_sound_other_characters(chinese: SearchIndex) -> None:
    # simplified characters find the traditional name, as do its pinyin and initials
    for q in ("中国楼", "zhongguolou", "zgl"):
        hit = search(chinese, q).hits[0]
        assert hit.entry.id == "dept:4", q
        assert hit.entry.name == "中國樓酒家"


def test_u_umlaut_as_v_or_u(standard: Standard) -> None:
    index = build_index(
        "x", facilities(("g", "绿地公园", "绿地公园", "park", 0, 0)), None, standard
    )
    for q in ("lvdi", "ludi gongyuan", "绿地"):
        assert [h.entry.id for h in search(index, q).hits] == ["g"], q


def test_chinese_nothing_found(chinese: SearchIndex) -> None:
    result = search(chinese, "图书馆")
    assert not result.hits and result.message is not None
    assert result.message.startswith("nothing called '图书馆' in haishu")


def test_several_regions_rank_together(chinese: SearchIndex, helsinki: SearchIndex) -> None:
    result = search([helsinki, chinese], "Kindergarten")
    assert result.regions == ("helsinki", "haishu")
    assert any(h.entry.region == "haishu" for h in result.hits)


# -- building --------------------------------------------------------------------------------


def test_polygons_and_kiosks(standard: Standard) -> None:
    square = Polygon([(0, 0), (0.001, 0), (0.001, 0.001), (0, 0.001)])
    frame = gpd.GeoDataFrame(
        {"id": ["a"], "name": ["Park"], "category": ["no-such"]}, geometry=[square], crs="EPSG:4326"
    )
    index = build_index("x", frame, None, standard, [Place("k1", "亭", "Booth", 1.0, 2.0)])
    park, booth = index.entries
    assert square.contains(Point(park.lon, park.lat)) and park.category_en == ""
    assert (booth.kind, booth.name, booth.lon, booth.lat) == ("kiosk", "Booth", 1.0, 2.0)


def test_street_middle_of_longest_stretch() -> None:
    long_part = [LineString([(0, 0), (1, 0)]), LineString([(1, 0), (3, 0)])]
    short_far = [LineString([(10, 10), (10.5, 10)])]
    assert street_middle([*long_part, *short_far]) == pytest.approx((1.5, 0.0))


def test_unnamed_facilities_and_streets_left_out(standard: Standard) -> None:
    frame = facilities(("a", "", "", "clinic", 0, 0))
    edges = gpd.GeoDataFrame(
        {"name": ["", None]},
        geometry=[LineString([(0, 0), (1, 0)]), LineString([(1, 0), (2, 0)])],
        crs="EPSG:4326",
    )
    assert len(build_index("x", frame, edges, standard)) == 0


# -- bad queries -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "q", ["", "   ", "a\x00b", "line\nbreak", "tab\there", "\u2028", "x" * 101, "\ud800"]
)
def test_bad_queries_refused(helsinki: SearchIndex, q: str) -> None:
    with pytest.raises(InvalidParameter, match="allowed: 1 to 100 characters"):
        search(helsinki, q)


def test_query_check_names_the_character() -> None:
    with pytest.raises(InvalidParameter, match=r"U\+0000 at position 2"):
        check_query("a\x00")


@pytest.mark.parametrize("limit", [0, 51])
def test_limit_bounded(helsinki: SearchIndex, limit: int) -> None:
    with pytest.raises(InvalidParameter, match="1 to 50"):
        search(helsinki, "a", limit=limit)


def test_fold() -> None:
    assert fold("  Pääposti (M)!  ") == "paaposti m"
    assert fold("ＫＡＵＰＰＡ") == "kauppa"  # full-width, as Chinese keyboards type it
    assert fold("社区·卫生") == "社区 卫生"
