"""A profile's view of a region: a speed override, a street it cannot walk, shared indexes.

Times are checked against networkx Dijkstra with the same weights (``Profile.edge_seconds``
at the speed asked), as in ``test_profiles.py``, whose fixtures and reference these reuse.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from livingcircle.data.sample import sample_homes
from livingcircle.distributed import ProvinceJob, run_horizon
from livingcircle.geo.demand import place_demand
from livingcircle.geo.engine import Region
from livingcircle.geo.equity import equity
from livingcircle.geo.errors import InvalidParameter, NoWayForProfile
from livingcircle.geo.gaps import analyse
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.planning import plan
from livingcircle.geo.profile_analysis import group_walks
from livingcircle.geo.profile_views import MAX_SPEED_VIEWS
from livingcircle.geo.standards import Standard
from livingcircle.maps.resident import resident_map_at
from livingcircle.maps.words import profile_note
from tests.geo.test_profiles import (  # noqa: F401  (fixtures)
    N_POINTS,
    START,
    hand,
    mismatches,
    tagged_sample,
)
from tests.geo.test_reference_dijkstra import query_points
from tests.handmade import facilities, lonlat, network


def _crossing(standard: Standard) -> Region:
    """100 m of footway, an uncontrolled crossing (elderly: +15 s), then a clinic."""
    nodes, edges, _ = network({"A": (0, 0), "B": (100, 0), "C": (130, 0)}, [("A", "B"), ("B", "C")])
    edges["footway"], edges["crossing"] = "", ""
    edges.loc[edges["name"] == "BC", ["footway", "crossing"]] = ["crossing", "uncontrolled"]
    fac = facilities({"clinic": ("clinic", 130, 0)})
    return Region("crossing", StreetNetwork.from_frames(nodes, edges), fac, standard)


@pytest.mark.parametrize("speed", [None, 0.8, 0.4, 1.6])
def test_an_added_time_stays_that_time_at_any_speed(standard: Standard, speed: float) -> None:
    region = _crossing(standard)
    walk = 0.8 if speed is None else speed
    hit = region.nearest(*lonlat(0, 0), ["clinic"], profile="elderly", speed_m_s=speed)
    assert hit.by_category["clinic"][0].time_s == pytest.approx(130 / walk + 15, abs=1e-3)
    ring = region.catchment(*lonlat(0, 0), [10], profile="elderly", speed_m_s=speed)
    assert [h.time_s for h in ring.facilities] == pytest.approx([130 / walk + 15], abs=1e-3)


@pytest.mark.parametrize(("profile", "speed"), [("elderly", 0.5), ("child", 1.4)])
def test_speed_overrides_match_networkx_on_the_sample(
    tagged_sample: Region,  # noqa: F811
    profile: str,
    speed: float,
) -> None:
    points = query_points(tagged_sample, N_POINTS)
    assert mismatches(tagged_sample, profile, points, speed_m_s=speed) == 0


@pytest.mark.parametrize("speed", [0.5, 1.2])
def test_speed_overrides_match_networkx_on_the_hand_graph(
    hand: Region,  # noqa: F811
    speed: float,
) -> None:
    points = [lonlat(x, y) for x, y in [START, (50, 2), (100, 20), (150, 38), (5, 30)]]
    assert mismatches(hand, "elderly", points, speed_m_s=speed) == 0


def test_views_at_other_speeds_are_kept_a_few_at_a_time(standard: Standard) -> None:
    region = _crossing(standard)
    plain = region.walked_at("elderly")
    assert region.walked_at("elderly", 0.8) is plain  # the profile's own speed: its own view
    slow = region.walked_at("elderly", 0.5)
    assert slow is not plain and slow is region.walked_at("elderly", 0.5)
    for i in range(MAX_SPEED_VIEWS + 2):
        region.walked_at("elderly", 1.0 + i / 10)
    assert sum("@" in key for key in region.walking.views) == MAX_SPEED_VIEWS
    assert "elderly" in region.walking.views
    # a factor-only profile scales with the speed: no second view
    assert region.walked_at("step-free", 0.5) is region.walked_at("step-free")
    with pytest.raises(InvalidParameter, match=r"0.1 to 3.0 m/s"):
        region.walked_at("elderly", 9.0)


def test_a_profile_that_walks_no_street_at_all_says_so(standard: Standard) -> None:
    nodes, edges, _ = network(
        {"A": (0, 0), "B": (100, 0), "C": (100, 400)}, [("A", "B"), ("B", "C")]
    )
    edges["highway"] = "steps"
    fac = facilities({"clinic": ("clinic", 0, 5)})
    region = Region("stairs", StreetNetwork.from_frames(nodes, edges), fac, standard)
    lon, lat = lonlat(50, 2)
    assert region.nearest(lon, lat, ["clinic"]).by_category["clinic"]  # on foot: fine
    with pytest.raises(NoWayForProfile, match=r"no step-free way from here.*every one of the 2"):
        region.nearest(lon, lat, ["clinic"], profile="step-free")
    with pytest.raises(NoWayForProfile, match=r"no step-free way from here"):
        region.catchment(lon, lat, [5], profile="step-free")


def test_a_view_shares_the_indexes_its_costs_do_not_change(
    hand: Region,  # noqa: F811
) -> None:
    base = hand.net
    elderly = hand.walked_at("elderly").net  # costs every edge, excludes none
    assert elderly.node_tree is base.node_tree and elderly.edge_tree is base.edge_tree
    assert elderly.geom_length is base.geom_length
    free = hand.walked_at("step-free")
    kept = free.walking.base_edges
    assert kept is not None and len(kept) < base.n_edges
    assert free.net.node_tree is base.node_tree
    np.testing.assert_array_equal(free.net.geom_length, base.geom_length[kept])
    xy, owner = free.net._edge_coords
    for i, e in enumerate(kept.tolist()):
        mine = xy[owner == i]
        np.testing.assert_array_equal(mine, base._edge_coords[0][base._edge_coords[1] == e])


# -- the planner's analysis at a profile ------------------------------------------------------


def test_the_gap_analysis_judges_homes_on_the_profiles_own_network(
    tagged_sample: Region,  # noqa: F811
) -> None:
    homes = sample_homes(tagged_sample).iloc[::7]
    demand = place_demand(tagged_sample.net, homes, tagged_sample.max_snap_m)
    plain = analyse(tagged_sample, demand, ["clinic", "pharmacy"])
    free = analyse(tagged_sample, demand, ["clinic", "pharmacy"], profile="step-free")
    assert free.profile == "step-free" and free.speed_m_s == 0.8
    assert any("slopes come from incline tags only" in n for n in free.notes)
    assert plain.profile == "standard" and plain.notes == ()
    # every home's minutes equal a single step-free query from it (itself exact vs networkx)
    rows = np.linspace(0, len(free.demand) - 1, 12).astype(int)
    for row in rows.tolist():
        point = free.demand.frame.geometry.iloc[row]
        near = tagged_sample.nearest(point.x, point.y, ["clinic"], profile="step-free")
        hit = near.by_category["clinic"]
        assert hit and hit[0].time_s / 60 == pytest.approx(free.minutes_to("clinic")[row], abs=1e-8)
    # no home is nearer at step-free than walking every street at the same speed
    slow = analyse(tagged_sample, demand, ["clinic"], speed_m_s=0.8)
    ids = free.demand.frame["id"].to_numpy()
    at_08 = pd.Series(slow.minutes_to("clinic"), index=slow.demand.frame["id"].to_numpy())
    assert (free.minutes_to("clinic") >= at_08.loc[ids].to_numpy() - 1e-9).all()
    assert (free.minutes_to("clinic") > at_08.loc[ids].to_numpy() + 1e-6).any()


def test_the_analysis_of_a_view_is_at_its_profiles_speed(hand: Region) -> None:  # noqa: F811
    homes = gpd.GeoDataFrame(
        {"id": ["h"], "population": [10.0]},
        geometry=gpd.points_from_xy(*zip(lonlat(*START), strict=True)),
        crs=4326,
    )
    demand = place_demand(hand.net, homes, hand.max_snap_m)
    view = hand.walked_at("elderly")
    on_view = analyse(view, place_demand(view.net, homes, view.max_snap_m), ["clinic"])
    asked = analyse(hand, demand, ["clinic"], profile="elderly")
    single = hand.nearest(*lonlat(*START), ["clinic"], profile="elderly").by_category["clinic"]
    for result in (on_view, asked):
        assert result.profile == "elderly" and result.speed_m_s == 0.8
        assert result.minutes_to("clinic")[0] * 60 == pytest.approx(single[0].time_s, abs=1e-6)
    slow = analyse(hand, demand, ["clinic"], profile="elderly", speed_m_s=0.5)
    at_half = hand.nearest(*lonlat(*START), ["clinic"], profile="elderly", speed_m_s=0.5)
    assert slow.minutes_to("clinic")[0] * 60 == pytest.approx(
        at_half.by_category["clinic"][0].time_s, abs=1e-6
    )


def test_homes_by_streets_only_excluded_ones_reach_move_or_are_dropped(
    standard: Standard,
) -> None:
    nodes, edges, _ = network(
        {"A": (0, 0), "B": (100, 0), "C": (100, 400)}, [("A", "B"), ("B", "C")]
    )
    edges.loc[edges["name"] == "BC", "highway"] = "steps"
    fac = facilities({"clinic": ("clinic", 0, 5)})
    region = Region("stairs", StreetNetwork.from_frames(nodes, edges), fac, standard, max_snap_m=50)
    xy = [(50, 10), (105, 300)]  # by the footway; by the stairs only
    homes = gpd.GeoDataFrame(
        {"id": ["foot", "stairs"], "population": [5.0, 7.0]},
        geometry=[shapely.Point(lonlat(x, y)) for x, y in xy],
        crs=4326,
    )
    demand = place_demand(region.net, homes, region.max_snap_m)
    free = analyse(region, demand, ["clinic"], profile="step-free")
    assert free.demand.frame["id"].tolist() == ["foot"]
    assert free.demand.dropped == 1 and free.demand.dropped_population == 7.0


def test_the_resident_map_legend_names_the_profile_and_its_notes(
    hand: Region,  # noqa: F811
) -> None:
    lon, lat = lonlat(*START)
    page = resident_map_at(hand, lon, lat, [5], profile="step-free").get_root().render()
    assert "步行方式：无障碍（轮椅、婴儿车），0.8 米/秒 · Walking: Step-free" in page
    assert "未载入高程数据：坡度只按街道上标注的坡度计算 · no elevation model was loaded" in page
    assert "无障碍（轮椅、婴儿车）路线 · step-free route" in page
    slow = resident_map_at(hand, lon, lat, [5], profile="elderly", speed_m_s=0.6)
    shown = slow.get_root().render()
    assert "步行方式：老年人，0.6 米/秒 · Walking: Older resident, 0.6 m/s" in shown
    assert "步行方式" not in resident_map_at(hand, lon, lat, [5]).get_root().render()


def test_older_residents_are_judged_at_the_elderly_profile(hand: Region) -> None:  # noqa: F811
    homes = gpd.GeoDataFrame(
        {"id": ["h"], "population": [10.0], "elderly": [4.0], "children": [2.0]},
        geometry=[shapely.Point(lonlat(*START))],
        crs=4326,
    )
    demand = place_demand(hand.net, homes, hand.max_snap_m)
    analysis = analyse(hand, demand, ["clinic"])
    walks = group_walks(hand, demand, ["clinic"])
    assert set(walks) == {"elderly", "children"}  # children walk at the child profile
    assert walks["children"].speed_m_s == 0.9
    table = equity(analysis, ["clinic"], walks=walks).set_index("group")
    older = hand.nearest(*lonlat(*START), ["clinic"], profile="elderly").by_category["clinic"]
    # the crossing's 15 s wait and the steps' cost are in it, not only the slower pace
    assert table.loc["elderly", "mean_minutes"] * 60 == pytest.approx(older[0].time_s, abs=1e-6)
    assert table.loc["elderly", "speed_m_s"] == 0.8
    pace_only = analysis.access("clinic").nearest_m[0] / 0.8
    assert table.loc["elderly", "mean_minutes"] * 60 > pace_only + 1
    assert table.loc["everyone", "mean_minutes"] == pytest.approx(analysis.minutes_to("clinic")[0])
    assert group_walks(hand.walked_at("step-free"), demand, ["clinic"]) == {}


def test_a_region_stored_before_the_tags_were_kept_says_to_load_it_again(
    standard: Standard,
) -> None:
    nodes, edges, _ = network({"A": (0, 0), "B": (100, 0)}, [("A", "B")])
    assert not {"surface", "kerb", "footway"} & set(edges.columns)  # highway and name only
    region = Region(
        "old",
        StreetNetwork.from_frames(nodes, edges),
        facilities({"c": ("clinic", 100, 0)}),
        standard,
    )
    hit = region.nearest(*lonlat(0, 0), ["clinic"], profile="step-free")
    (note,) = [n for n in hit.notes if "loaded before they were kept" in n]
    assert "kerb" in note and "load the region again" in note
    assert "重新导入" in profile_note(note)
    tagged = _crossing(standard).nearest(*lonlat(0, 0), ["clinic"], profile="elderly")
    assert not any("loaded before" in n for n in tagged.notes)


def test_the_planner_and_a_province_walk_a_profile_at_its_own_speed_by_default(
    hand: Region,  # noqa: F811
    tmp_path: Path,
) -> None:
    homes = gpd.GeoDataFrame(
        {"id": ["h"], "population": [10.0], "community": ["A"]},
        geometry=gpd.points_from_xy(*zip(lonlat(*START), strict=True)),
        crs=4326,
    )
    view = hand.walked_at("elderly")
    tables = plan(view, place_demand(view.net, homes, view.max_snap_m), n_sites=0)
    assert tables.analysis.speed_m_s == 0.8  # not 1 m/s with the elderly street rules
    job = ProvinceJob(out=str(tmp_path), profile="brisk")
    assert job.speed_m_s is None  # each tile walks at the profile's speed, 1.25 m/s
    assert run_horizon(hand.standard, job, []) >= max(job.minutes) * 60 * 1.25
