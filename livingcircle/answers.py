"""The Python API's answers: GeoDataFrames that keep their GeoJSON, and the analysis layers.

:class:`Answer` is what :meth:`livingcircle.Region.nearest` and ``catchment`` return;
:class:`Analysis` and :class:`ScenarioOutcome` hold a planner analysis and a what-if as
layers. The functions below turn the engine's results into these frames.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from livingcircle.geo import config
from livingcircle.geo.batch import ManyNearest
from livingcircle.geo.engine import Region as Engine
from livingcircle.geo.results import CatchmentResult, NearestResult
from livingcircle.geo.scenario import ScenarioResult
from livingcircle.geo.standards import Standard

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

#: The columns of a nearest answer, in order (the GeoJSON properties of its facilities,
#: plus the origin and, where no facility was found, the reason).
NEAREST_COLUMNS = (
    "origin",
    "category",
    "rank",
    "id",
    "name",
    "name_zh",
    "category_en",
    "category_zh",
    "distance_m",
    "time_s",
    "minutes",
    "opening_hours",
    "reason",
)


@dataclass(frozen=True)
class Analysis:
    """The planner analysis of a region, as layers.

    Attributes
    ----------
    points
        Homes with the living-circle ``score``, missing requirements per tier and minutes to
        the nearest of each category (GeoDataFrame, EPSG:4326).
    coverage
        Per community and category: residents covered, shares and population-weighted
        minutes (DataFrame).
    tiers
        Per community, tier and requirement: the share of residents for whom it is met.
    gaps
        Areas beyond each focus category's service radius, with the residents they hold.
    sites
        Suggested sites for new facilities, with the residents each newly covers.
    source
        Where the homes came from.
    access_scores
        Per home and category: 2SFCA, E2SFCA and gravity supply-demand scores (join to
        ``points`` on ``id``).
    equity
        Per community, resident group (everyone, and ``elderly``/``children`` when the homes
        carry them) and category: weighted minutes, tier shares, Gini, the worst-served decile.
    profile, notes
        The walking profile the homes were judged at (its street rules: step-free homes on
        the step-free network) and what it left out or assumed.
    """

    points: gpd.GeoDataFrame
    coverage: pd.DataFrame
    tiers: pd.DataFrame
    gaps: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    source: str
    access_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    equity: pd.DataFrame = field(default_factory=pd.DataFrame)
    profile: str = "standard"
    notes: tuple[str, ...] = ()

    @property
    def layers(self) -> dict[str, pd.DataFrame]:
        """Every layer by name, as ``livingcircle gaps`` writes them."""
        return frame_fields(self)


@dataclass(frozen=True)
class ScenarioOutcome:
    """A what-if scenario's before and after, as tables and layers.

    Attributes
    ----------
    summary
        Per changed category: residents covered within its radius, population-weighted
        minutes and residents with none reachable, before and after.
    tiers
        Per GB 50180 tier: residents meeting all of it, before and after, homes gained/lost.
    changes
        The difference layer: one row per home and category whose walk changed
        (``minutes_before``, ``minutes_after``, ``change_min``, ``status``, tiers met before
        and after, ``tiers_gained``, ``tiers_lost``; see
        :meth:`livingcircle.geo.scenario.ScenarioResult.changes`).
    facilities, streets
        The changes themselves: opened and closed facilities; links and closed streets.
    result
        The full result (both analyses, the changed network, timings).
    """

    summary: pd.DataFrame
    tiers: pd.DataFrame
    changes: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    streets: gpd.GeoDataFrame
    result: ScenarioResult

    @property
    def layers(self) -> dict[str, pd.DataFrame]:
        """Every layer by name, as ``livingcircle scenario run --out`` writes them."""
        return frame_fields(self)


class Answer(gpd.GeoDataFrame):  # type: ignore[misc]  # geopandas ships no type stubs
    """A GeoDataFrame answer (EPSG:4326) that also keeps its GeoJSON form.

    Slicing or filtering it gives a plain GeoDataFrame; :meth:`to_geojson` is for the whole
    answer, as the HTTP API and ``--json`` give it.
    """

    _metadata: ClassVar[list[str]] = ["_geojson", *gpd.GeoDataFrame._metadata]

    def to_geojson(self) -> dict[str, Any]:
        """The answer as a GeoJSON FeatureCollection, as the HTTP API answers it.

        Examples
        --------
        >>> answer = lc.open("helsinki").nearest((60.1710, 24.9414), ["pharmacy"])
        >>> answer.to_geojson()["type"]
        'FeatureCollection'
        """
        made: dict[str, Any] = self._geojson()
        return made


def frame_fields(layers: DataclassInstance) -> dict[str, pd.DataFrame]:
    """A dataclass's DataFrame fields by name, in field order: its layers."""
    values = {f.name: getattr(layers, f.name) for f in fields(layers)}
    return {name: v for name, v in values.items() if isinstance(v, pd.DataFrame)}


def answer(frame: pd.DataFrame, geojson: Callable[[], dict[str, Any]], **attrs: object) -> Answer:
    """``frame`` as an :class:`Answer` whose :meth:`Answer.to_geojson` calls ``geojson``."""
    answer = Answer(frame, geometry="geometry", crs="EPSG:4326")
    answer._geojson = geojson
    answer.attrs.update(attrs)
    return answer


def nearest_frame(result: NearestResult, standard: Standard) -> Answer:
    """One origin's nearest facilities, a row per category and rank (or its reason)."""
    rows: list[dict[str, Any]] = []
    for cat, hits in result.by_category.items():
        if not hits:
            c = standard.category(cat)
            rows.append(
                {
                    "origin": 0,
                    "category": cat,
                    "rank": 0,
                    "category_en": c.label_en,
                    "category_zh": c.label_zh,
                    "reason": f"no {cat} within {config.NEAREST_MAX_RADIUS_M:,.0f} m on foot",
                    "geometry": None,
                }
            )
        for rank, hit in enumerate(hits, start=1):
            props = hit.properties()
            rows.append(
                {
                    "origin": 0,
                    "category": cat,
                    "rank": rank,
                    **{c: props.get(c) for c in NEAREST_COLUMNS[3:-1]},
                    "reason": None,
                    "geometry": shapely.Point(hit.lon, hit.lat),
                }
            )
    frame = pd.DataFrame(rows, columns=[*NEAREST_COLUMNS, "geometry"])
    frame["opening_hours"] = frame["opening_hours"].fillna("")
    return answer(
        frame,
        result.to_geojson,
        region=result.region,
        speed_m_s=result.speed_m_s,
        k=result.k,
        profile=result.profile,
        notes=result.notes,
    )


def many_frame(many: ManyNearest, engine: Engine, speed: float, index: pd.Index) -> pd.DataFrame:
    """A batch's nearest facilities in the columns of :data:`NEAREST_COLUMNS`."""
    fac, std = engine.facilities, engine.standard
    ok = many.row >= 0
    row = np.where(ok, many.row, 0)
    labels = {c: std.category(c) for c in many.categories}
    cat = np.asarray(many.categories, dtype=object)[many.category]
    text = {
        c: np.asarray(fac.text[c] or [""], dtype=object)[row]
        for c in ("id", "name", "name_zh", "opening_hours")
    }
    dist = np.where(ok, np.round(many.distance_m, 3), np.nan)
    time_s = np.round(many.distance_m / speed, 3)
    lonlat = fac.anchor_lonlat[row] if len(fac.category) else np.zeros((len(row), 2))
    frame = pd.DataFrame(
        {
            "origin": np.asarray(index)[many.origin],
            "category": cat,
            "rank": many.rank,
            **{
                c: np.where(ok, text[c], np.asarray(None, dtype=object))
                for c in ("id", "name", "name_zh")
            },
            "category_en": [labels[c].label_en for c in cat],
            "category_zh": [labels[c].label_zh for c in cat],
            "distance_m": dist,
            "time_s": np.where(ok, time_s, np.nan),
            "minutes": np.where(ok, np.round(many.distance_m / speed / 60, 1), np.nan),
            "opening_hours": np.where(ok, text["opening_hours"], ""),
            "reason": many.reason,
            "geometry": [
                p if good else None
                for p, good in zip(shapely.points(lonlat).tolist(), ok.tolist(), strict=True)
            ],
        }
    )
    return frame


def frame_geojson(
    frame: pd.DataFrame,
    region: str,
    speed: float,
    k: int,
    profile: str = "standard",
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """A batch frame as the GeoJSON FeatureCollection the HTTP API would answer."""
    gdf = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    features = gdf.iterfeatures(drop_id=True, na="drop")
    return {
        "type": "FeatureCollection",
        "features": list(features),
        "properties": {
            "region": region,
            "speed_m_s": speed,
            "k": k,
            "profile": profile,
            "notes": list(notes),
        },
    }


def catchment_frame(result: CatchmentResult) -> Answer:
    """A catchment's rings and facilities (not its origin), with its tiers in ``attrs``."""
    geojson = result.to_geojson()
    features = [f for f in geojson["features"] if f["properties"]["kind"] != "origin"]
    frame = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    props = geojson["properties"]
    return answer(
        frame,
        result.to_geojson,
        region=props["region"],
        speed_m_s=props["speed_m_s"],
        tiers=props["tiers"],
        profile=result.profile,
        notes=result.notes,
    )
