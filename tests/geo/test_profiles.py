"""Walking profiles as edge costs, against networkx Dijkstra with the same weights.

The reference is built on the region's full network in seconds: each edge the profile
may walk weighs ``Profile.edge_seconds``, every snapped position (the query point, the
facilities) is spliced in at its share of its edge, and excluded edges are left out. The
engine answers from the profile's own network (equivalent metres at the profile's speed).
On the real Helsinki sample the rules read the tags as the OSM reader keeps them on its
edges (checked against the file's ways, by way id, with a handler of its own).
"""

from __future__ import annotations

import itertools
import warnings
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import pytest
import shapely

from livingcircle.data.osm_file import Extract
from livingcircle.data.sample import sample_homes
from livingcircle.geo.config import RULE_TAGS
from livingcircle.geo.engine import Region
from livingcircle.geo.errors import InvalidParameter, NoWayForProfile, PointTooFarFromNetwork
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.profile_analysis import ANY, HOME_ROW, analyse_profiles, homes_losing, within
from livingcircle.geo.profiles import (
    ProfileWarning,
    incline_value,
    parse_profiles,
    profile_network,
)
from livingcircle.geo.routing import snap_points
from livingcircle.geo.standards import Standard, load_standard
from livingcircle.maps.resident import resident_map_at
from tests.geo.test_reference_dijkstra import query_points
from tests.handmade import facilities, lonlat, network

N_POINTS = 12


def reference_seconds(view: Region, start_xy: np.ndarray) -> tuple[dict[object, float], float]:
    """Dijkstra seconds from the snapped start to every facility, on the base network."""
    base, profile, kept = view.walking.base, view.walking.profile, view.walking.base_edges
    assert base is not None and profile is not None and kept is not None
    net = base.net
    seconds = profile.edge_seconds(net.edge_length, net.edge_tags, None)
    start = snap_points(view.net, start_xy, view.max_snap_m)
    fac = view.facilities
    spliced: dict[int, list[tuple[float, object]]] = defaultdict(list)
    for name, snap in [
        ("S", start),
        *((f"f{r}", fac.snap[np.array([r])]) for r in range(len(fac.snap))),
    ]:
        e = int(snap.edge[0])
        share = float(snap.offset_m[0]) / float(view.net.edge_length[e])
        spliced[int(kept[e])].append((share, name))
    g = nx.DiGraph()

    def arc(a: object, b: object, w: float) -> None:
        if a != b and (not g.has_edge(a, b) or g[a][b]["weight"] > w):
            g.add_edge(a, b, weight=w)

    for e in range(net.n_edges):
        if not np.isfinite(seconds[e]):
            continue
        u, v = int(net.edge_u[e]), int(net.edge_v[e])
        chain = [(0.0, u), *sorted(spliced.get(e, []), key=lambda p: p[0]), (1.0, v)]
        for (sa, a), (sb, b) in itertools.pairwise(chain):
            w = (sb - sa) * float(seconds[e])
            arc(a, b, w)
            if not net.edge_oneway[e] or w <= 1e-9:
                arc(b, a, w)
    dist = nx.single_source_dijkstra_path_length(g, "S")
    return dist, float(start.access_m[0]) / profile.speed_m_s


def mismatches(
    region: Region, profile: str, points: list[tuple[float, float]], speed_m_s: float | None = None
) -> int:
    """Nearest times of every category at ``points`` that differ from networkx by > 1e-6 s.

    ``speed_m_s`` overrides the profile's speed: the reference then walks each edge in
    ``Profile.edge_seconds`` at that speed (an added time stays that time).
    """
    view = region.walked_at(profile, speed_m_s)
    assert view is not region and view.walking.profile is not None
    speed, fac, bad, checked = view.walking.profile.speed_m_s, view.facilities, 0, 0
    for lon, lat in points:
        try:
            result = region.nearest(
                lon, lat, k=1, profile=profile, speed_m_s=speed_m_s, routes=False
            )
        except PointTooFarFromNetwork:
            continue
        dist, start_s = reference_seconds(view, view.project(lon, lat))
        for ci, cat in enumerate(region.standard.category_ids):
            rows = np.flatnonzero(fac.category == ci)
            ref = [
                dist[f"f{r}"] + start_s + fac.snap.access_m[r] / speed
                for r in rows
                if f"f{r}" in dist
            ]
            ref = [t for t in ref if t * speed <= 20_000]  # the engine's nearest limit
            hits = result.by_category[cat]
            if not ref:
                bad += hits != []
                continue
            bad += not hits or abs(hits[0].time_s - min(ref)) > 1e-6
            checked += 1
    assert checked >= len(points)
    return bad


# -- the real sample -------------------------------------------------------------------------


class _WayTags(osmium.SimpleHandler):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[int, dict[str, str]] = {}

    def way(self, w: osmium.osm.Way) -> None:
        kept = {t.k: t.v for t in w.tags if t.k in RULE_TAGS}
        if kept:
            self.tags[w.id] = kept


@pytest.fixture(scope="module")
def tagged_sample(sample_extract: Extract, standard: Standard) -> Region:
    """The sample as the OSM reader gives it: every tag the rules read on its edges."""
    net = StreetNetwork.from_frames(sample_extract.nodes, sample_extract.edges)
    return Region("helsinki", net, sample_extract.facilities, standard)


def test_the_sample_carries_the_tags_the_rules_read(
    tagged_sample: Region, sample_extract: Extract, sample_path: Path
) -> None:
    tags = tagged_sample.net.edge_tags
    assert (tags["highway"] == "steps").sum() > 50
    assert (tags["surface"] != "").sum() > 500 and (tags["footway"] == "crossing").sum() > 50
    assert (tags["incline"] != "").sum() > 5
    # the sample's ways have no crossing=*: these come from its highway=crossing nodes
    assert (tags["crossing"] == "traffic_signals").sum() > 100
    handler = _WayTags()
    handler.apply_file(str(sample_path))
    ways = [handler.tags.get(int(w), {}) for w in sample_extract.edges["way_id"]]
    for key in RULE_TAGS:
        own = np.array([w.get(key, "") for w in ways], dtype=object)
        has = own != ""
        assert (tags[key][has] == own[has]).all(), key  # a way's own tag always wins
        if key not in ("kerb", "crossing"):  # only these are taken from nodes as well
            assert (tags[key][~has] == "").all(), key


@pytest.mark.parametrize("profile", ["elderly", "child", "step-free"])
def test_nearest_times_at_every_profile_match_networkx_on_the_sample(
    tagged_sample: Region, profile: str
) -> None:
    assert mismatches(tagged_sample, profile, query_points(tagged_sample, N_POINTS)) == 0


def test_step_free_drops_the_steps_and_costs_no_edge_below_its_length(
    tagged_sample: Region, standard: Standard
) -> None:
    net = tagged_sample.net
    for name, profile in standard.profiles.items():
        walked, kept = profile_network(net, profile)
        cost = walked.edge_length / profile.speed_m_s  # seconds
        assert np.all(cost >= net.edge_length[kept] / profile.speed_m_s - 1e-12), name
    walked, kept = profile_network(net, standard.profiles["step-free"])
    assert not (walked.edge_tags["highway"] == "steps").any()
    assert (net.edge_tags["highway"][kept] == walked.edge_tags["highway"]).all()


def test_float32_costs_would_break_the_micro_second(
    tagged_sample: Region, standard: Standard
) -> None:
    # why profile costs stay float64: 4 bytes an edge round them by more than 1e-6 s
    walked, _ = profile_network(tagged_sample.net, standard.profiles["elderly"])
    seconds = walked.edge_length / 0.8
    assert np.abs(seconds.astype(np.float32) - seconds).max() > 1e-6


# -- a hand-built graph: stairs, a ramp, a steep ramp, a raised kerb, a crossing ----------------

NODES = {
    "A": (0.0, 0.0),
    "B": (100.0, 0.0),
    "D": (100.0, 40.0),
    "E": (160.0, 20.0),
    "H": (60.0, 20.0),
    "F": (200.0, 40.0),
    "G": (0.0, 40.0),
}
EDGES = [
    ("A", "B"),
    ("B", "D"),
    ("B", "E"),
    ("E", "D"),
    ("B", "H"),
    ("H", "D"),
    ("D", "F"),
    ("A", "G"),
    ("G", "D"),
]
TAGS = {
    "BD": {"highway": "steps", "incline": "up"},
    "BE": {"incline": "5%"},
    "ED": {"incline": "-5%"},
    "BH": {"incline": "12%"},
    "HD": {"incline": "-12%"},
    "DF": {"surface": "gravel"},
    "AG": {"footway": "crossing", "crossing": "uncontrolled"},
    "GD": {"kerb": "raised"},
}
START, CLINIC = (10.0, 0.0), (120.0, 40.0)


@pytest.fixture(scope="module")
def hand(standard: Standard) -> Region:
    nodes, edges, _ = network(NODES, EDGES)
    for key in ("incline", "surface", "footway", "crossing", "kerb"):
        edges[key] = ""
    for name, tags in TAGS.items():
        for key, value in tags.items():
            edges.loc[edges["name"] == name, key] = value
    fac = facilities(
        {"clinic": ("clinic", *CLINIC), "shop": ("pharmacy", 50, 40), "park": ("park", 80, 10)}
    )
    return Region("hand", StreetNetwork.from_frames(nodes, edges), fac, standard)


def _tobler(s: float) -> float:
    f = lambda x: np.exp(3.5 * (abs(x + 0.05) - 0.05))  # noqa: E731
    return float((f(s) + f(-s)) / 2)


def _clinic(region: Region, profile: str, routes: bool = False):  # type: ignore[no-untyped-def]
    lon, lat = lonlat(*START)
    return region.nearest(lon, lat, ["clinic"], profile=profile, routes=routes).by_category[
        "clinic"
    ][0]


def test_hand_graph_times_are_the_hand_computed_ones(hand: Region) -> None:
    # the hand's metres and the engine's projected ones differ by a tenth of a millimetre
    ramp = 2 * float(np.hypot(60, 20))
    assert _clinic(hand, "standard").time_s == pytest.approx(90 + 40 + 20, abs=1e-3)
    # older residents: the crossing (+15 s) beats the steps (x2, and 10 % up or down)
    by_steps = (90 + 40 * 2 * _tobler(0.10) + 20) / 0.8
    by_crossing = (10 + 40 + 100 + 20) / 0.8 + 15
    assert by_crossing < by_steps
    assert _clinic(hand, "elderly").time_s == pytest.approx(by_crossing, abs=1e-3)
    # a child climbs the steps rather than wait at the crossing
    assert _clinic(hand, "child").time_s == pytest.approx(
        (90 + 40 * _tobler(0.10) + 20) / 0.9, abs=1e-3
    )
    # step-free: no steps, no raised kerb, no 12 % ramp; the 5 % ramp costs 1 + 5/8, gravel x1.2
    assert _clinic(hand, "step-free").time_s == pytest.approx(
        (90 + ramp * (1 + 0.05 / 0.08) + 20 * 1.2) / 0.8, abs=1e-3
    )


def test_the_step_free_route_takes_the_ramp_not_the_stairs(hand: Region) -> None:
    ramp_top = shapely.Point(lonlat(*NODES["E"]))
    stairs = shapely.LineString([lonlat(*NODES["B"]), lonlat(*NODES["D"])])
    free = _clinic(hand, "step-free", routes=True).route
    walked = _clinic(hand, "standard", routes=True).route
    assert shapely.distance(free, ramp_top) < 1e-7
    assert not shapely.covers(
        shapely.buffer(free, 1e-6), shapely.get_point(stairs.interpolate(0.5, normalized=True), 0)
    )
    assert shapely.covers(shapely.buffer(walked, 1e-7), stairs.interpolate(0.5, normalized=True))


@pytest.mark.parametrize("profile", ["elderly", "child", "step-free"])
def test_hand_graph_matches_networkx(hand: Region, profile: str) -> None:
    points = [lonlat(x, y) for x, y in [START, (50, 2), (100, 20), (150, 38), (5, 30), (130, 15)]]
    assert mismatches(hand, profile, points) == 0


def test_a_point_on_the_stairs_only_is_told_where_the_nearest_step_free_street_is(
    standard: Standard,
) -> None:
    nodes, edges, _ = network(
        {"A": (0, 0), "B": (100, 0), "C": (100, 400)}, [("A", "B"), ("B", "C")]
    )
    edges.loc[edges["name"] == "BC", "highway"] = "steps"
    fac = facilities({"clinic": ("clinic", 0, 5)})
    region = Region("stairs", StreetNetwork.from_frames(nodes, edges), fac, standard, max_snap_m=50)
    lon, lat = lonlat(105, 300)
    assert region.nearest(lon, lat, ["clinic"]).by_category["clinic"]  # on foot: fine
    with pytest.raises(
        NoWayForProfile, match=r"no step-free way from here.*walk is AB \(footway\), \d+ m away"
    ) as err:
        region.nearest(lon, lat, ["clinic"], profile="step-free")
    assert err.value.street == "AB (footway)" and err.value.distance_m == pytest.approx(300, abs=2)
    with pytest.raises(NoWayForProfile):
        region.catchment(lon, lat, profile="step-free")
    far = lonlat(20, 60)  # no street of any kind within 50 m: the plain refusal
    with pytest.raises(PointTooFarFromNetwork) as plain:
        region.nearest(*far, profile="step-free")
    assert not isinstance(plain.value, NoWayForProfile)


# -- reading profiles ------------------------------------------------------------------------


def test_a_rule_naming_an_unknown_value_warns_and_still_applies() -> None:
    raw = {
        "x": {"speed_m_s": 1.0, "label_en": "x", "label_zh": "x", "exclude": [{"surface": "lava"}]}
    }
    with pytest.warns(ProfileWarning, match=r"surface=lava.*kept"):
        profiles = parse_profiles(raw)
    tags = {"surface": np.array(["lava", "asphalt", ""], dtype=object)}
    seconds = profiles["x"].edge_seconds(np.array([10.0, 10.0, 10.0]), tags)
    assert np.isinf(seconds[0]) and seconds[1:].tolist() == [10.0, 10.0]


def test_the_bundled_profiles_load_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_standard()
    assert list(loaded.profiles) == ["standard", "elderly", "brisk", "child", "step-free"]
    assert all(p.source for p in loaded.profiles.values())
    assert loaded.profiles["step-free"].wheelchair_no == "unreachable"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"multiply": [{"when": {"surface": "sett"}, "factor": 0.5}]},
            "factor = 0.5 is out of range",
        ),
        (
            {"add_s": [{"when": {"crossing": "zebra"}, "seconds": -1}]},
            "seconds = -1.0 is out of range",
        ),
        ({"slope": {"rule": "skate"}}, "allowed: none, tobler, wheelchair"),
        ({"wheelchair_no": "maybe"}, "allowed: ignore, unreachable, flag"),
        ({"speed_m_s": 9}, "allowed: 0.1 to 3.0"),
    ],
)
def test_bad_profiles_say_what_is_allowed(rule: dict[str, object], message: str) -> None:
    raw = {"speed_m_s": 1.0, "label_en": "x", "label_zh": "x"} | rule
    with pytest.raises(InvalidParameter, match=message):
        parse_profiles({"x": raw})


@pytest.mark.parametrize(
    ("text", "slope"),
    [("8%", 0.08), ("-8 %", -0.08), ("up", 0.10), ("45°", 1.0), ("steep", np.nan)],
)
def test_incline_tags_become_slopes(text: str, slope: float) -> None:
    assert incline_value(text) == pytest.approx(slope, nan_ok=True)


# -- the planner's question: homes that lose a 5-minute facility -----------------------------


def test_homes_losing_a_five_minute_facility_under_elderly_and_step_free_walking(
    tagged_sample: Region, standard: Standard
) -> None:
    homes = sample_homes(tagged_sample)
    five = [c for r in standard.tiers[0].requirements for c in r.categories]
    runs = analyse_profiles(tagged_sample, homes, ["standard", "elderly", "step-free"], five)
    table = homes_losing(runs, minutes=5)
    print("\n" + table.to_string())  # the issue's figure, on the real sample
    anyone = table[table["category"] == ANY].set_index("profile")
    assert anyone.loc["step-free", "lost"] > 0 and anyone.loc["elderly", "lost"] > 0
    assert (table["lost"] <= table["within_reference"]).all()
    # a home within 5 minutes at standard but not step-free, checked by a single query
    home = runs["step-free"].demand.frame
    clinic_free = runs["step-free"].minutes_to("clinic")
    lost_rows = set(np.flatnonzero(within(runs["standard"], "clinic", 5, len(homes))))
    lost_rows -= set(np.flatnonzero(within(runs["step-free"], "clinic", 5, len(homes))))
    row = min(lost_rows)
    pos = int(np.flatnonzero(home[HOME_ROW].to_numpy() == row)[0])
    point = home.geometry.iloc[pos]
    hit = tagged_sample.nearest(point.x, point.y, ["clinic"], profile="step-free")
    assert hit.by_category["clinic"][0].time_s / 60 == pytest.approx(clinic_free[pos], abs=1e-6)
    assert clinic_free[pos] > 5


def test_the_resident_map_draws_the_step_free_route_and_says_so(hand: Region) -> None:
    lon, lat = lonlat(*START)
    page = resident_map_at(hand, lon, lat, [5], profile="step-free").get_root().render()
    assert "step-free route" in page and "无障碍" in page
    plain = resident_map_at(hand, lon, lat, [5]).get_root().render()
    assert "step-free route" not in plain
    near = hand.nearest(lon, lat, ["clinic"], profile="step-free")
    assert near.profile == "step-free"
    assert hand.catchment(lon, lat, [5], profile="elderly").profile == "elderly"


def test_step_free_leaves_out_facilities_tagged_wheelchair_no_and_says_why(
    standard: Standard,
) -> None:
    nodes, edges, _ = network(NODES, EDGES)
    fac = facilities({"near": ("pharmacy", 20, 0), "far": ("pharmacy", 190, 40)})
    fac.loc[fac["id"] == "near", "tags"] = '{"wheelchair": "no"}'
    region = Region("hand", StreetNetwork.from_frames(nodes, edges), fac, standard)
    lon, lat = lonlat(*START)
    assert region.nearest(lon, lat, ["pharmacy"]).by_category["pharmacy"][0].id == "near"
    free = region.nearest(lon, lat, ["pharmacy"], profile="step-free")
    assert free.by_category["pharmacy"][0].id == "far"
    assert any("1 facilities tagged wheelchair=no are not reachable" in n for n in free.notes)
    assert any("slopes come from incline tags only" in n for n in free.notes)
    assert region.nearest(lon, lat, ["pharmacy"]).notes == ()


def test_a_profile_may_flag_wheelchair_no_facilities_instead(standard: Standard) -> None:
    flagging = parse_profiles(
        {
            "buggy": {
                "speed_m_s": 0.9,
                "label_en": "Buggy",
                "label_zh": "婴儿车",
                "exclude": [{"highway": "steps"}],
                "wheelchair_no": "flag",
            }
        }
    )
    mine = replace(standard, profiles={**standard.profiles, **flagging})
    nodes, edges, _ = network(NODES, EDGES)
    fac = facilities({"near": ("pharmacy", 20, 0)})
    fac["tags"] = '{"wheelchair": "no"}'
    region = Region("hand", StreetNetwork.from_frames(nodes, edges), fac, mine)
    answer = region.nearest(*lonlat(*START), ["pharmacy"], profile="buggy")
    assert answer.by_category["pharmacy"][0].id == "near"  # still answered, and flagged
    assert answer.notes == ("1 facilities are tagged wheelchair=no: check before going",)
