"""A scenario's outcome: the analyses before and after, and the layers a planner compares.

:class:`ScenarioResult` gives the per-category and per-tier figures before and after, the
homes whose walk changed, and the changes themselves as map layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from livingcircle.geo.engine import Region
from livingcircle.geo.gaps import Analysis
from livingcircle.geo.scenario_network import NetworkChange
from livingcircle.geo.scenario_spec import Scenario


@dataclass(frozen=True)
class ScenarioResult:
    """The region before and after a scenario, and what changed for whom.

    Attributes
    ----------
    scenario
        What was asked.
    before, after
        The analyses; ``after`` is what a full re-analysis with the changes gives.
    categories
        The categories whose walks may have changed (every category for network changes).
    network
        The changed network, for network scenarios.
    facilities, streets
        The changes as map layers (see :meth:`layers`).
    timings_s
        Seconds per stage.
    notes
        What the computation says it did not change (a closed street the profile does
        not walk).
    """

    scenario: Scenario
    before: Analysis
    after: Analysis
    categories: tuple[str, ...]
    network: NetworkChange | None
    facilities: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    timings_s: dict[str, float]
    notes: tuple[str, ...] = ()

    def summary(self) -> pd.DataFrame:
        """Per changed category: residents covered within its radius, mean minutes, before/after.

        Columns: ``category``, ``label_zh``, ``label_en``, ``radius_m``, ``population``,
        ``covered_before``, ``covered_after``, ``covered_change`` (residents whose nearest is
        within the radius), ``covered_share_before``/``_after``, ``mean_minutes_before``/
        ``_after`` (population-weighted, residents with none reachable left out),
        ``mean_change_min``, ``unreachable_before``/``_after`` (residents), ``homes_changed``.
        """
        rows = [self._summary_row(c) for c in self.categories]
        return pd.DataFrame(
            rows,
            columns=[
                "category",
                "label_zh",
                "label_en",
                "radius_m",
                "population",
                "covered_before",
                "covered_after",
                "covered_change",
                "covered_share_before",
                "covered_share_after",
                "mean_minutes_before",
                "mean_minutes_after",
                "mean_change_min",
                "unreachable_before",
                "unreachable_after",
                "homes_changed",
            ],
        )

    def _summary_row(self, category: str) -> dict[str, object]:
        cat = self.before.standard.category(category)
        pop = self.before.demand.population
        total = float(pop.sum())
        row: dict[str, object] = {
            "category": category,
            "label_zh": cat.label_zh,
            "label_en": cat.label_en,
            "population": total,
        }
        for when, res in (("before", self.before), ("after", self.after)):
            acc = res.access(category)
            near = acc.nearest_m
            row["radius_m"] = acc.radius_m
            cov = float(pop[near <= acc.radius_m].sum())
            reach = np.isfinite(near)
            w = float(pop[reach].sum())
            row[f"covered_{when}"] = cov
            row[f"covered_share_{when}"] = cov / total if total else np.nan
            row[f"mean_minutes_{when}"] = (
                float((pop[reach] * near[reach]).sum() / w / res.speed_m_s / 60) if w else np.nan
            )
            row[f"unreachable_{when}"] = float(pop[~reach].sum())
        num = {k: v for k, v in row.items() if isinstance(v, float)}
        row["covered_change"] = num["covered_after"] - num["covered_before"]
        row["mean_change_min"] = num["mean_minutes_after"] - num["mean_minutes_before"]
        row["homes_changed"] = int(self._changed(category).sum())
        return row

    def tiers(self) -> pd.DataFrame:
        """Per GB 50180 tier: residents meeting every analysed requirement, before/after.

        Columns: ``tier_minutes``, ``label_zh``, ``label_en``, ``population``,
        ``met_before``, ``met_after``, ``met_change`` (residents), ``share_before``,
        ``share_after``, ``homes_gained``, ``homes_lost``.
        """
        pop = self.before.demand.population
        total = float(pop.sum())
        rows = []
        for tier, (b, a) in zip(self.before.standard.tiers, self._tier_met(), strict=True):
            met_b, met_a = float(pop[b].sum()), float(pop[a].sum())
            rows.append(
                {
                    "tier_minutes": tier.minutes,
                    "label_zh": tier.label_zh,
                    "label_en": tier.label_en,
                    "population": total,
                    "met_before": met_b,
                    "met_after": met_a,
                    "met_change": met_a - met_b,
                    "share_before": met_b / total if total else np.nan,
                    "share_after": met_a / total if total else np.nan,
                    "homes_gained": int((a & ~b).sum()),
                    "homes_lost": int((b & ~a).sum()),
                }
            )
        return pd.DataFrame(rows)

    def _tier_met(self) -> list[tuple[NDArray[np.bool_], NDArray[np.bool_]]]:
        cb, ca = self.before.compliance(), self.after.compliance()
        return [
            (cb.tier_met(t.minutes), ca.tier_met(t.minutes)) for t in self.before.standard.tiers
        ]

    def _changed(self, category: str, tol_min: float = 1e-6) -> NDArray[np.bool_]:
        b = self.before.minutes_to(category)
        a = self.after.minutes_to(category)
        both = np.isfinite(a) & np.isfinite(b)
        step = np.subtract(a, b, out=np.zeros_like(a), where=both)
        return np.asarray(
            np.where(both, np.abs(step) > tol_min, np.isfinite(a) != np.isfinite(b)), dtype=np.bool_
        )

    def changes(self, tol_min: float = 1e-6) -> gpd.GeoDataFrame:
        """The difference layer: one row per home and category whose walk changed.

        Columns (EPSG:4326 home points):

        ``home_id``, ``community``, ``population``; ``category``, ``label_zh``, ``label_en``,
        ``radius_m``; ``minutes_before``, ``minutes_after`` (walk to the nearest, NaN where
        none is within reach); ``change_min`` (after minus before: negative is nearer; NaN
        when one side is unreachable); ``status`` (``nearer``, ``farther``,
        ``newly reachable``, ``no longer reachable``); ``covered_before``,
        ``covered_after`` (within the category's radius); per tier ``tier<m>_before``,
        ``tier<m>_after`` (the home meets every analysed requirement of the ``m``-minute
        tier); ``tiers_gained``, ``tiers_lost`` (tier minutes, comma separated, "" if none).
        """
        tiers = self._tier_met()
        parts = [
            pd.DataFrame(self._category_rows(c, np.flatnonzero(self._changed(c, tol_min)), tiers))
            for c in self.categories
        ]
        frame = (
            pd.concat(parts, ignore_index=True)
            if parts
            else pd.DataFrame(columns=["home_id", "geometry"])
        )
        return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")

    def _category_rows(
        self,
        category: str,
        idx: NDArray[np.intp],
        tiers: list[tuple[NDArray[np.bool_], NDArray[np.bool_]]],
    ) -> dict[str, object]:
        dem = self.before.demand
        before = self.before.minutes_to(category)[idx]
        after = self.after.minutes_to(category)[idx]
        fb, fa = np.isfinite(before), np.isfinite(after)
        status = np.where(
            fb & fa,
            np.where(after < before, "nearer", "farther"),
            np.where(fa, "newly reachable", "no longer reachable"),
        )
        cat = self.before.standard.category(category)
        radius = self.before.access(category).radius_m
        limit_min = radius / self.before.speed_m_s / 60
        rows: dict[str, object] = {
            "home_id": dem.frame["id"].to_numpy()[idx],
            "community": dem.community[idx],
            "population": dem.population[idx],
            "category": category,
            "label_zh": cat.label_zh,
            "label_en": cat.label_en,
            "radius_m": radius,
            "minutes_before": np.where(fb, before, np.nan),
            "minutes_after": np.where(fa, after, np.nan),
            "change_min": np.subtract(after, before, out=np.full(len(idx), np.nan), where=fb & fa),
            "status": status,
            "covered_before": before <= limit_min,
            "covered_after": after <= limit_min,
        }
        gained = [[] for _ in idx]  # type: list[list[str]]
        lost = [[] for _ in idx]  # type: list[list[str]]
        for tier, (b, a) in zip(self.before.standard.tiers, tiers, strict=True):
            rows[f"tier{tier.minutes}_before"], rows[f"tier{tier.minutes}_after"] = b[idx], a[idx]
            for i in np.flatnonzero(a[idx] & ~b[idx]).tolist():
                gained[i].append(str(tier.minutes))
            for i in np.flatnonzero(b[idx] & ~a[idx]).tolist():
                lost[i].append(str(tier.minutes))
        rows["tiers_gained"] = [",".join(g) for g in gained]
        rows["tiers_lost"] = [",".join(x) for x in lost]
        rows["geometry"] = dem.frame.geometry.to_numpy()[idx]
        return rows

    def layers(self) -> dict[str, pd.DataFrame]:
        """Every output layer by name.

        ``summary`` (:meth:`summary`), ``tiers`` (:meth:`tiers`), ``changes``
        (:meth:`changes`), and the changes themselves for a map:

        ``facilities``: the opened (``change == "add"``, at the point given) and closed
        (``"close"``, at their entrance) facilities with ``id``, ``name``, ``category``,
        ``capacity``. ``streets``: the links (``"link"``) and closed streets
        (``"closed"``) as lines, with ``name`` and ``length_m``.
        """
        return {
            "summary": self.summary(),
            "tiers": self.tiers(),
            "changes": self.changes(),
            "facilities": self.facilities,
            "streets": self.streets,
        }


def facility_layer(
    region: Region, scenario: Scenario, closed_rows: NDArray[np.int64]
) -> gpd.GeoDataFrame:
    """The opened and closed facilities as a layer (the ``facilities`` of :meth:`layers`)."""
    rows = [
        {
            "change": "add",
            "id": f.id or f"scenario:{i}",
            "name": f.name,
            "category": f.category,
            "capacity": f.capacity,
            "geometry": shapely.Point(f.lon, f.lat),
        }
        for i, f in enumerate(scenario.add_facilities, start=1)
    ]
    fac = region.facilities
    for r in closed_rows.tolist():
        lon, lat = fac.anchor_lonlat[r]
        rows.append(
            {
                "change": "close",
                "id": fac.text["id"][r],
                "name": fac.text["name"][r],
                "category": region.standard.category_ids[int(fac.category[r])],
                "capacity": None,
                "geometry": shapely.Point(lon, lat),
            }
        )
    frame = pd.DataFrame(rows, columns=["change", "id", "name", "category", "capacity", "geometry"])
    frame["capacity"] = frame["capacity"].astype(float)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def street_layer(region: Region, change: NetworkChange | None) -> gpd.GeoDataFrame:
    """The closed streets and the links as lines (the ``streets`` of :meth:`layers`).

    ``edge`` is the stored region's edge id (a link's follows the stored edges), also when
    ``region`` is a profile's view of it with edges of its own numbering.
    """
    cols = ["change", "edge", "length_m", "geometry"]
    if change is None:
        return gpd.GeoDataFrame(pd.DataFrame(columns=cols), geometry="geometry", crs="EPSG:4326")
    closed = np.flatnonzero(change.closed & ~change.replaced & ~change.link)
    links = np.flatnonzero(change.link)
    edges = np.concatenate([closed, links])
    stored_ids, length = edges, change.net.edge_length[edges]
    base, kept = region.walking.base, region.walking.base_edges
    if base is not None and kept is not None:  # a view's lengths are its profile's costs
        stored_ids = np.concatenate(
            [kept[closed], links - change.n_base_edges + base.net.n_edges]
        ).astype(np.int64)
        length = np.concatenate([base.net.edge_length[kept[closed]], length[len(closed) :]])
    geoms = np.asarray(shapely.transform(change.net.edge_geom[edges], region.unproject))
    frame = pd.DataFrame(
        {
            "change": ["closed"] * len(closed) + ["link"] * len(links),
            "edge": stored_ids,
            "length_m": length,
            "geometry": geoms,
        }
    )
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
