"""The Python API: a few lines in a notebook, GeoDataFrames and maps back.

The same store, settings and answers as the command line and the HTTP API: regions are
kept where ``LC_DATA_DIR`` (or ``LC_DATABASE_URL``) says, unless a call names another.

>>> import livingcircle as lc
>>> helsinki = lc.open("helsinki")
>>> near = helsinki.nearest((60.1710, 24.9414), categories=["pharmacy"])
>>> near[["category", "name", "minutes"]].shape
(1, 3)
"""

from __future__ import annotations

import builtins
import difflib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm.auto import tqdm

from livingcircle.data.load import load_osm
from livingcircle.geo import config
from livingcircle.geo.batch import ManyNearest, nearest_many
from livingcircle.geo.engine import Region as Engine
from livingcircle.geo.errors import InvalidParameter, PlaceNotFound
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.results import CatchmentResult, NearestResult
from livingcircle.geo.scenario import Scenario as ScenarioSpec
from livingcircle.geo.scenario import ScenarioResult
from livingcircle.geo.standards import Standard, load_standard
from livingcircle.geo.store import RegionInfo, Store
from livingcircle.settings import EngineSettings, store_at

if TYPE_CHECKING:
    import folium

    from livingcircle.distributed import ProvinceResult

__all__ = [
    "Analysis",
    "Answer",
    "PlaceNotFound",
    "Region",
    "analyse_province",
    "categories",
    "fetch",
    "load",
    "open",
    "regions",
]

#: Origins per batch step: memory stays bounded however many origins a batch has.
BATCH_CHUNK = 20_000
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

#: Places sharing a name this close together (metres across) are taken as one place.
SAME_PLACE_M = 300.0

Where: TypeAlias = tuple[float, float] | shapely.Point | str | gpd.GeoDataFrame | gpd.GeoSeries


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
    """

    points: gpd.GeoDataFrame
    coverage: pd.DataFrame
    tiers: pd.DataFrame
    gaps: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    source: str
    access_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    equity: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def layers(self) -> dict[str, pd.DataFrame]:
        """Every layer by name, as ``livingcircle gaps`` writes them."""
        return {
            "points": self.points,
            "coverage": self.coverage,
            "tiers": self.tiers,
            "gaps": self.gaps,
            "sites": self.sites,
            "access_scores": self.access_scores,
            "equity": self.equity,
        }


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
        return {
            "summary": self.summary,
            "tiers": self.tiers,
            "changes": self.changes,
            "facilities": self.facilities,
            "streets": self.streets,
        }


class Region:
    """A loaded region, ready to answer.

    Get one with :func:`open`, :func:`load` or :func:`fetch` rather than directly.

    Parameters
    ----------
    store
        The store it is kept in.
    name
        Its name in the store.
    standard
        Categories, tiers and walking profiles.
    max_snap_m
        Points farther than this from a street are refused.
    """

    def __init__(
        self, store: Store, name: str, standard: Standard, max_snap_m: float = config.MAX_SNAP_M
    ) -> None:
        data = store.load_region(name)
        self.store, self.name, self.standard = store, name, standard
        self.engine = Engine(
            name,
            StreetNetwork.from_frames(data.nodes, data.edges),
            data.facilities,
            standard,
            max_snap_m,
        )
        self._streets = _street_points(data.edges)
        self._graph: ReachGraph | None = None
        self._way_ids = data.edges["way_id"].to_numpy(np.int64) if "way_id" in data.edges else None

    def __repr__(self) -> str:
        fac = len(self.engine.facilities.category)
        return (
            f"<livingcircle.Region {self.name!r}: {self.engine.net.n_nodes:,} street "
            f"nodes, {fac:,} facilities>"
        )

    @property
    def info(self) -> RegionInfo:
        """The store's record of this region (source, time loaded, bounds, counts)."""
        return next(i for i in self.store.regions() if i.name == self.name)

    @property
    def facilities(self) -> gpd.GeoDataFrame:
        """The region's facilities, as stored (EPSG:4326)."""
        return self.store.load_region(self.name).facilities

    # -- questions ----------------------------------------------------------------------

    def nearest(
        self,
        where: Where,
        categories: Iterable[str] | None = None,
        k: int = 1,
        profile: str = "standard",
        speed_m_s: float | None = None,
        max_minutes: float | None = None,
        progress: bool = True,
    ) -> Answer:
        """The ``k`` nearest facilities of each category by walking time.

        Parameters
        ----------
        where
            ``(lat, lon)``, a shapely Point (lon, lat), a place name in the region (a
            facility's or a street's name), or a GeoDataFrame / GeoSeries of many origins
            (any CRS; answered as one batch, never one search per origin).
        categories
            Category ids (see :func:`categories`); all when None.
        k
            Facilities per category, 1 to 50.
        profile, speed_m_s
            Walking speed: a named profile (``standard``, ``elderly``, ``brisk``) or a speed
            in m/s that overrides it.
        max_minutes
            Ignore facilities farther than this.
        progress
            Show a progress bar for a large batch. A batch is answered in chunks of
            :data:`BATCH_CHUNK` origins, so memory stays bounded however many there are.

        Returns
        -------
        Answer
            One row per origin, category and rank, with the columns of
            :data:`NEAREST_COLUMNS` and the facility as the geometry. An origin or category
            without an answer gets one row with its ``reason`` and no geometry.

        Examples
        --------
        >>> near = lc.open("helsinki").nearest((60.1710, 24.9414), ["pharmacy", "clinic"], k=2)
        >>> near["category"].tolist(), near["rank"].tolist()
        (['pharmacy', 'pharmacy', 'clinic', 'clinic'], [1, 2, 1, 2])
        """
        speed = self.standard.speed(_profile(profile), speed_m_s)
        cats = list(self.standard.resolve_categories(_names("categories", categories)))
        k = _int("k", k, 1, config.MAX_K)
        if isinstance(where, gpd.GeoDataFrame | gpd.GeoSeries):
            return self._nearest_many(where, cats, k, speed, max_minutes, progress)
        lon, lat = self._point(where)
        result = self.engine.nearest(
            lon, lat, cats, k=k, speed_m_s=speed, max_minutes=max_minutes, routes=False
        )
        return _nearest_frame(result, self.standard)

    def catchment(
        self,
        where: tuple[float, float] | shapely.Point | str,
        minutes: Sequence[int] = config.DEFAULT_MINUTES,
        profile: str = "standard",
        speed_m_s: float | None = None,
    ) -> Answer:
        """What is within each of ``minutes`` on foot, and what the standard finds missing.

        Parameters
        ----------
        where
            ``(lat, lon)``, a shapely Point (lon, lat) or a place name in the region.
        minutes
            Ring limits in whole minutes.
        profile, speed_m_s
            Walking speed, as :meth:`nearest`.

        Returns
        -------
        Answer
            The rings (``kind == "ring"``, largest first) and the facilities inside them
            (``kind == "facility"``), with the GeoJSON properties as columns. ``attrs``
            holds the region, the walking speed and the GB 50180 ``tiers`` checklist.

        Examples
        --------
        >>> rings = lc.open("helsinki").catchment((60.1710, 24.9414), minutes=[5, 10])
        >>> rings.loc[rings["kind"] == "ring", "minutes"].astype(int).tolist()
        [10, 5]
        """
        speed = self.standard.speed(_profile(profile), speed_m_s)
        lon, lat = self._point(where)
        result = self.engine.catchment(lon, lat, _minutes(minutes), speed_m_s=speed)
        return _catchment_frame(result)

    def catchments(
        self,
        origins: gpd.GeoDataFrame | gpd.GeoSeries,
        minutes: Sequence[int] = config.DEFAULT_MINUTES,
        profile: str = "standard",
        speed_m_s: float | None = None,
        distributed: bool = True,
        workers: int | None = None,
        scheduler: str | None = None,
        id_column: str | None = None,
        progress: bool = True,
    ) -> gpd.GeoDataFrame:
        """Catchment rings of many origins at once, as a Dask job (see ``livingcircle.batch_run``).

        Parameters
        ----------
        origins
            Points in any CRS (bus stops, schools: thousands are fine).
        minutes, profile, speed_m_s
            As :meth:`catchment`.
        distributed
            Run on Dask workers (a local cluster unless ``scheduler`` names one); False
            computes in this process.
        workers, scheduler
            As ``livingcircle.cluster.connect``.
        id_column
            The origins' id column; default ``id`` if present, else the row number from 1.
        progress
            Print the dashboard link.

        Returns
        -------
        geopandas.GeoDataFrame
            One row per origin and ring (largest first): ``origin_id``, ``minutes``,
            ``area_m2``, ``street_m``, ``access_m``, ``error`` (the text a single call would
            raise for that origin, or a bad row's reason) and the ring polygon, equal to
            :meth:`catchment`'s for that origin.

        Examples
        --------
        >>> import geopandas as gpd
        >>> stops = gpd.GeoDataFrame(
        ...     {"id": ["station"]}, geometry=gpd.points_from_xy([24.9414], [60.1710]), crs=4326
        ... )
        >>> rings = lc.open("helsinki").catchments(stops, minutes=[5, 10], distributed=False)
        >>> rings["minutes"].astype(int).tolist(), bool(rings["error"].isna().all())
        ([10, 5], True)
        """
        from livingcircle import batch_run  # noqa: PLC0415  (Dask only when asked)

        speed = self.standard.speed(_profile(profile), speed_m_s)
        rings = _minutes(minutes)
        frame, _ = batch_run.origins_from_frame(_frame_of(origins), id_column)
        source = batch_run.source_for(self.store, self.name, self.standard, self.engine.max_snap_m)
        if not distributed:
            return batch_run.run_local(frame, source, rings, speed)
        from livingcircle.cluster import connect  # noqa: PLC0415

        with connect(workers, scheduler, progress=progress) as client:
            return batch_run.run_catchments(client, frame, source, rings, speed)

    def analyse(
        self,
        homes: str | Path | gpd.GeoDataFrame | None = None,
        communities: str | Path | gpd.GeoDataFrame | None = None,
        categories: Iterable[str] | None = None,
        population: float | None = None,
        sites: int = 5,
        k: int = 5,
        profile: str = "standard",
        speed_m_s: float | None = None,
        progress: bool = True,
    ) -> Analysis:
        """The planner analysis: who is not within the standard's walk of each service.

        Parameters
        ----------
        homes
            Homes or population points: a GeoDataFrame with a ``population`` column, or a
            file (CSV with lon/lat and population, or any GIS file). Every street node is a
            home when None.
        communities
            Community boundaries (polygons with a ``name`` column), a file or a frame.
        categories
            Categories for gap areas and new sites; the ones the standard requires when None.
        population
            A district total spread over the homes.
        sites
            New sites suggested per category (0 for none).
        k
            Nearest facilities kept per home.
        profile, speed_m_s
            Walking speed, as :meth:`nearest`.
        progress
            Show a progress bar.

        Examples
        --------
        >>> result = lc.open("helsinki").analyse(categories=["pharmacy"], sites=2)
        >>> sorted(result.layers)
        ['access_scores', 'coverage', 'equity', 'gaps', 'points', 'sites', 'tiers']
        """
        from livingcircle.data.demand import demand_for_region  # noqa: PLC0415
        from livingcircle.data.user_files import read_boundaries, read_homes  # noqa: PLC0415
        from livingcircle.geo.demand import place_demand  # noqa: PLC0415
        from livingcircle.geo.planning import plan  # noqa: PLC0415
        from livingcircle.geo.supply import capacities_from_frame  # noqa: PLC0415

        speed = self.standard.speed(_profile(profile), speed_m_s)
        focus = _names("categories", categories)
        with _Bar(progress, "analysis") as bar:
            bar("reading homes", 0, "homes")
            home_frame = (
                read_homes(Path(homes), population)
                if isinstance(homes, str | Path)
                else _frame("homes", homes)
            )
            bounds = (
                read_boundaries(Path(communities))
                if isinstance(communities, str | Path)
                else _frame("communities", communities)
            )
            demand_frame, source = demand_for_region(
                self.engine, None, home_frame, population, "floor_area", bounds
            )
            demand = place_demand(self.engine.net, demand_frame, self.engine.max_snap_m)
            bar("analysing every category", len(demand_frame), "homes")
            tables = plan(
                self.engine,
                demand,
                focus or None,
                _int("sites", sites, 0, 100),
                None,
                _int("k", k, 1, config.MAX_K),
                config.DEFAULT_MINUTES,
                speed,
                capacities=capacities_from_frame(self.facilities),
            )
        return Analysis(
            tables.points,
            tables.coverage,
            tables.tiers,
            tables.gaps,
            tables.sites,
            source,
            tables.access_scores,
            tables.equity,
        )

    def scenario(
        self,
        scenario: str | Path | ScenarioSpec,
        homes: str | Path | gpd.GeoDataFrame | None = None,
        communities: str | Path | gpd.GeoDataFrame | None = None,
        population: float | None = None,
        k: int = 5,
        profile: str = "standard",
        speed_m_s: float | None = None,
        progress: bool = True,
    ) -> ScenarioOutcome:
        """What if: the region before and after a scenario's changes, and who gains or loses.

        The stored region is never changed. Facility changes are computed from the before
        analysis's distance fields where they reach; network changes only within the area
        they affect (:mod:`livingcircle.geo.scenario`).

        Parameters
        ----------
        scenario
            A scenario file (``.toml`` or ``.geojson``, see
            :mod:`livingcircle.data.scenario_file`) or a
            :class:`livingcircle.geo.scenario.Scenario`.
        homes, communities, population
            The homes, as :meth:`analyse`.
        k
            Nearest facilities kept per home.
        profile, speed_m_s
            Walking speed, as :meth:`nearest`.
        progress
            Show a progress bar.

        Examples
        --------
        >>> from livingcircle.geo.scenario import NewFacility, Scenario
        >>> what_if = Scenario("a clinic", (NewFacility("clinic", 24.9414, 60.1710),))
        >>> out = lc.open("helsinki").scenario(what_if, progress=False)
        >>> out.summary["category"].tolist()
        ['clinic']
        """
        from livingcircle.data.demand import demand_for_region  # noqa: PLC0415
        from livingcircle.data.scenario_file import read_scenario  # noqa: PLC0415
        from livingcircle.data.user_files import read_boundaries, read_homes  # noqa: PLC0415
        from livingcircle.geo.demand import place_demand  # noqa: PLC0415
        from livingcircle.geo.gaps import analyse  # noqa: PLC0415
        from livingcircle.geo.scenario import run_scenario  # noqa: PLC0415

        if isinstance(scenario, str | Path):
            spec, source = read_scenario(Path(scenario)), Path(scenario).name
        elif isinstance(scenario, ScenarioSpec):
            spec, source = scenario, "the scenario"
        else:
            raise TypeError(
                f"scenario must be a file path or a Scenario, not {type(scenario).__name__}"
            )
        speed = self.standard.speed(_profile(profile), speed_m_s)
        with _Bar(progress, "scenario") as bar:
            bar("reading homes", 0, "homes")
            home_frame = (
                read_homes(Path(homes), population)
                if isinstance(homes, str | Path)
                else _frame("homes", homes)
            )
            bounds = (
                read_boundaries(Path(communities))
                if isinstance(communities, str | Path)
                else _frame("communities", communities)
            )
            demand_frame, _ = demand_for_region(
                self.engine, None, home_frame, population, "floor_area", bounds
            )
            demand = place_demand(self.engine.net, demand_frame, self.engine.max_snap_m)
            bar("analysing before", len(demand_frame), "homes")
            self._graph = self._graph or ReachGraph(self.engine.net)
            before = analyse(
                self.engine,
                demand,
                k=_int("k", k, 1, config.MAX_K),
                speed_m_s=speed,
                graph=self._graph,
            )
            bar("computing the scenario", len(demand_frame), "homes")
            result = run_scenario(
                self.engine, demand, before, spec, self._graph, self._way_ids, source
            )
        return ScenarioOutcome(
            result.summary(),
            result.tiers(),
            result.changes(),
            result.facilities,
            result.streets,
            result,
        )

    def explore(
        self,
        where: tuple[float, float] | shapely.Point | str | None = None,
        category: str | None = None,
        minutes: Sequence[int] = config.DEFAULT_MINUTES,
        profile: str = "standard",
        speed_m_s: float | None = None,
        offline: bool = False,
    ) -> folium.Map:
        """An interactive map, shown inline in Jupyter.

        With ``where``: the resident's map (rings, facilities, routes to the nearest of each
        kind). With ``category`` instead: the planner's map of minutes to the nearest of that
        category on every street, and its gaps.

        Parameters
        ----------
        where
            As :meth:`catchment`.
        category
            A category id, for the planner's map.
        minutes
            Rings of the resident's map.
        profile, speed_m_s
            Walking speed, as :meth:`nearest`.
        offline
            Make a page that requests nothing from the network (streets drawn, no tiles).

        Examples
        --------
        >>> m = lc.open("helsinki").explore((60.1710, 24.9414), offline=True)
        >>> type(m).__name__
        'Map'
        """
        speed = self.standard.speed(_profile(profile), speed_m_s)
        if where is None:
            if category is None:
                raise InvalidParameter(
                    "explore needs a place (where=) for the resident's map "
                    "or a category (category=) for the planner's map"
                )
            from livingcircle.maps.planner import planner_map  # noqa: PLC0415

            self.standard.category(category)
            return planner_map(self.engine, category, speed, offline=offline)
        from livingcircle.maps.resident import resident_map_at  # noqa: PLC0415

        lon, lat = self._point(where)
        return resident_map_at(
            self.engine, lon, lat, _minutes(minutes), speed_m_s=speed, offline=offline
        )

    def locate(self, name: str) -> shapely.Point:
        """The point (lon, lat) of a facility or street named ``name`` in the region.

        Raises
        ------
        PlaceNotFound
            Nothing, or several different places, go by that name; the message lists the
            closest names.

        Examples
        --------
        >>> square = lc.open("helsinki").locate("Kauppatori")
        >>> round(square.y, 2), round(square.x, 2)
        (60.17, 24.95)
        """
        if not isinstance(name, str) or not name.strip():
            raise TypeError(f"a place name must be a non-empty str, not {name!r}")
        wanted = name.strip().casefold()
        fac = self.engine.facilities
        hits = [
            i
            for i, names in enumerate(zip(fac.text["name"], fac.text["name_zh"], strict=True))
            if wanted in (n.casefold() for n in names if n)
        ]
        places = [(float(x), float(y)) for x, y in fac.anchor_lonlat[hits]]
        labels = [
            self.standard.category(self.standard.category_ids[int(fac.category[i])]).label_en
            for i in hits
        ]
        if wanted in self._streets:
            places.append(self._streets[wanted])
            labels.append("street")
        if places:
            return self._one_place(name, places, labels)
        every = {n.casefold(): n for col in ("name", "name_zh") for n in fac.text[col] if n}
        every |= {n: n for n in self._streets if n not in every}
        close = [every[c] for c in difflib.get_close_matches(wanted, list(every), n=5, cutoff=0.5)]
        hint = f"closest names: {', '.join(close)}" if close else "no similar name either"
        raise PlaceNotFound(
            f"no facility or street called {name!r} in region {self.name!r}; {hint}"
        )

    # -- helpers ------------------------------------------------------------------------

    def _one_place(
        self, name: str, places: list[tuple[float, float]], labels: list[str]
    ) -> shapely.Point:
        """The place a name means, or an error naming the places it could mean.

        Several places within :data:`SAME_PLACE_M` of each other (a market square mapped as
        a square, a hall and its stalls) are one place, taken at their middle.
        """
        xy = self.engine.project(*np.asarray(places).T)
        if np.ptp(xy, axis=0).max(initial=0.0) <= SAME_PLACE_M:
            mid = np.argmin(np.linalg.norm(xy - xy.mean(axis=0), axis=1))
            return shapely.Point(places[int(mid)])
        listed = "; ".join(
            f"{label} at ({lat:.5f}, {lon:.5f})"
            for (lon, lat), label in list(zip(places, labels, strict=True))[:5]
        )
        raise PlaceNotFound(
            f"{len(places)} places in region {self.name!r} are called "
            f"{name!r}, too far apart to be one ({listed}); give coordinates "
            "(lat, lon) instead"
        )

    def _point(self, where: object) -> tuple[float, float]:
        """``where`` as (lon, lat)."""
        if isinstance(where, str):
            p = self.locate(where)
            return float(p.x), float(p.y)
        if isinstance(where, shapely.Point):
            return float(where.x), float(where.y)
        if (
            isinstance(where, tuple | list)
            and len(where) == 2
            and all(
                isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in where
            )
        ):
            lat, lon = (float(v) for v in where)
            return lon, lat
        raise TypeError(
            f"where must be (lat, lon), a shapely Point (lon, lat), a place name "
            f"or a GeoDataFrame of origins, not {type(where).__name__}"
        )

    def _nearest_many(
        self,
        origins: gpd.GeoDataFrame | gpd.GeoSeries,
        cats: list[str],
        k: int,
        speed: float,
        max_minutes: float | None,
        progress: bool,
    ) -> Answer:
        geoms = _origins(origins)
        lon, lat = shapely.get_x(geoms.to_numpy()), shapely.get_y(geoms.to_numpy())
        self._graph = self._graph or ReachGraph(self.engine.net)
        parts = []
        steps = range(0, len(lon), BATCH_CHUNK)
        for start in tqdm(
            steps, desc="nearest", unit="chunk", disable=not progress or len(steps) < 2
        ):
            part = nearest_many(
                self.engine,
                lon[start : start + BATCH_CHUNK],
                lat[start : start + BATCH_CHUNK],
                cats,
                k,
                speed,
                max_minutes,
                self._graph,
            )
            parts.append(_many_frame(part, self.engine, speed, origins.index[start:]))
        frame = (
            pd.concat(parts, ignore_index=True)
            if parts
            else _many_frame(
                nearest_many(self.engine, lon, lat, cats, k, speed, max_minutes, self._graph),
                self.engine,
                speed,
                origins.index,
            )
        )
        return _answer(
            frame,
            lambda: _frame_geojson(frame, self.name, speed, k),
            region=self.name,
            speed_m_s=speed,
            k=k,
        )


# -- module functions -------------------------------------------------------------------


def regions(data_dir: str | Path | None = None, database: str | None = None) -> pd.DataFrame:
    """The loaded regions, one row each.

    Parameters
    ----------
    data_dir, database
        The store: an embedded store folder or a PostGIS URL; by default what ``LC_DATA_DIR``
        and ``LC_DATABASE_URL`` say, as for the command line.

    Examples
    --------
    >>> "helsinki" in lc.regions()["name"].tolist()
    True
    """
    rows = [
        {
            "name": i.name,
            "source": i.source,
            "loaded_at": i.loaded_at,
            "n_nodes": i.n_nodes,
            "n_edges": i.n_edges,
            "n_facilities": i.n_facilities,
            "west": i.bounds[0],
            "south": i.bounds[1],
            "east": i.bounds[2],
            "north": i.bounds[3],
        }
        for i in _store(data_dir, database).regions()
    ]
    return pd.DataFrame(
        rows,
        columns=[
            "name",
            "source",
            "loaded_at",
            "n_nodes",
            "n_edges",
            "n_facilities",
            "west",
            "south",
            "east",
            "north",
        ],
    )


def open(  # lc.open, as osmnx and geopandas users expect; builtins.open is untouched
    region: str,
    data_dir: str | Path | None = None,
    database: str | None = None,
    standards: str | Path | None = None,
) -> Region:
    """A loaded region, ready to answer.

    Parameters
    ----------
    region
        Its name (see :func:`regions`).
    data_dir, database
        The store, as :func:`regions`.
    standards
        A standards TOML replacing the bundled GB 50180-2018 file.

    Examples
    --------
    >>> lc.open("helsinki").name
    'helsinki'
    """
    if not isinstance(region, str):
        raise TypeError(f"region must be a region name (str), not {type(region).__name__}")
    return Region(
        _store(data_dir, database), region, _standard(standards), EngineSettings().max_snap_m
    )


def load(
    path: str | Path,
    region: str,
    data_dir: str | Path | None = None,
    database: str | None = None,
    standards: str | Path | None = None,
    progress: bool = True,
) -> Region:
    """Load a city's walking network and facilities from an OSM file, then open it.

    Parameters
    ----------
    path
        An OSM extract: ``.osm.pbf``, ``.osm`` or ``.osm.bz2``.
    region
        The name to keep it under; an earlier version is replaced whole, or kept if the load
        fails.
    data_dir, database, standards
        As :func:`open`.
    progress
        Show progress bars.

    Examples
    --------
    >>> from livingcircle.data.sample import sample_file
    >>> lc.load(sample_file(), "helsinki", progress=False).name
    'helsinki'
    """
    store, standard = _store(data_dir, database), _standard(standards)
    with _Bar(progress, "load") as bar:
        load_osm(store, Path(path), region, standard, bar)
    return Region(store, region, standard, EngineSettings().max_snap_m)


def fetch(
    place: str | tuple[float, float, float, float] | Path,
    region: str,
    data_dir: str | Path | None = None,
    database: str | None = None,
    standards: str | Path | None = None,
    progress: bool = True,
) -> Region:
    """Download a walking network and facilities from OpenStreetMap, then open the region.

    Parameters
    ----------
    place
        A place name (looked up at ``LC_NOMINATIM_URL``), a ``(west, south, east, north)``
        box in degrees, or a polygon file.
    region
        The name to keep it under.
    data_dir, database, standards
        As :func:`open`.
    progress
        Show progress bars.
    """
    from livingcircle.data.fetch import OverpassOptions, area_polygon, fetch_region  # noqa: PLC0415
    from livingcircle.settings import NominatimSettings, OverpassSettings  # noqa: PLC0415

    settings = OverpassSettings()
    options = OverpassOptions(settings.url, settings.timeout_s, settings.rate_limit)
    store, standard = _store(data_dir, database), _standard(standards)
    with _Bar(progress, "fetch") as bar:
        polygon = area_polygon(place, NominatimSettings().url)
        fetch_region(store, region, polygon, standard, options, str(place), bar)
    return Region(store, region, standard, EngineSettings().max_snap_m)


def categories(standards: str | Path | None = None) -> pd.DataFrame:
    """Facility categories: id, 中文 and English labels, and the tiers that require them.

    Examples
    --------
    >>> lc.categories().set_index("id").loc["pharmacy", "label_zh"]
    '药店'
    """
    standard = _standard(standards)
    needed: dict[str, list[str]] = {}
    for tier in standard.tiers:
        for req in tier.requirements:
            for c in req.categories:
                needed.setdefault(c, []).append(f"{tier.minutes} min ({req.radius_m:.0f} m)")
    return pd.DataFrame(
        [
            {
                "id": c.id,
                "label_zh": c.label_zh,
                "label_en": c.label_en,
                "required_by": ", ".join(needed.get(c.id, [])),
            }
            for c in standard.categories
        ]
    )


# -- private helpers --------------------------------------------------------------------


def analyse_province(
    regions: Sequence[str | Region] | None,
    out: str | Path,
    homes: str | Path | gpd.GeoDataFrame | None = None,
    categories: Iterable[str] | None = None,
    k: int = 5,
    profile: str = "standard",
    speed_m_s: float | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    data_dir: str | Path | None = None,
    database: str | None = None,
) -> ProvinceResult:
    """The gap analysis of a province (many regions, or one large one) on a Dask cluster.

    Each region is cut into tiles with halos, one Dask task per tile; the answers within the
    horizon equal :meth:`Region.analyse`'s, farther ones say "beyond". See
    :mod:`livingcircle.distributed`.

    Parameters
    ----------
    regions
        Region names or opened regions; every loaded region when None.
    out
        A folder or fsspec URL (``s3://bucket/run`` with s3fs) every worker can read.
    homes
        Province-wide homes (a frame or a file) split by region; every street node when None.
    categories, k, profile, speed_m_s
        As :meth:`Region.analyse`.
    workers, scheduler
        A local cluster of ``workers`` processes, or an existing scheduler
        (``tcp://HOST:8786``; default ``LC_DASK_SCHEDULER``).
    resume
        Keep the tiles an earlier run into ``out`` finished.
    progress
        Show a progress bar per tile and the dashboard link.
    data_dir, database
        The store, as :func:`regions`.

    Returns
    -------
    livingcircle.distributed.ProvinceResult
        Tiles computed, resumed and failed, the halo overhead, and the summaries per
        community, district and city; the homes are in ``result.points_url``.

    Examples
    --------
    >>> run = lc.analyse_province(["helsinki"], "province-run", categories=["pharmacy"],
    ...                           workers=1, progress=False)
    >>> run.failed, sorted(run.plans)
    ([], ['helsinki'])
    """
    from livingcircle import distributed  # noqa: PLC0415
    from livingcircle.cluster import connect  # noqa: PLC0415  (Dask only when asked)
    from livingcircle.data.user_files import read_homes  # noqa: PLC0415

    store = _store(data_dir, database)
    opened = [
        r if isinstance(r, Region) else open(r, data_dir, database)
        for r in (regions if regions is not None else [i.name for i in store.regions()])
    ]
    if not opened:
        raise InvalidParameter("no region is loaded; load one with lc.load(path, region=...)")
    standard = opened[0].standard
    frame = read_homes(Path(homes)) if isinstance(homes, str | Path) else _frame("homes", homes)
    placed = distributed.place_province_homes([r.engine for r in opened], frame)
    job = distributed.ProvinceJob(
        str(out),
        _names("categories", categories) or None,
        _int("k", k, 1, config.MAX_K),
        speed_m_s=standard.speed(_profile(profile), speed_m_s),
        resume=resume,
    )
    with connect(workers, scheduler, progress=progress) as client:
        bar = tqdm(total=0, desc="tiles", disable=not progress)

        def tell(done: int, total: int, message: str) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            return distributed.analyse_province(client, placed, job, tell)
        finally:
            bar.close()


def _store(data_dir: str | Path | None, database: str | None) -> Store:
    return store_at(data_dir, database)


def _standard(path: str | Path | None) -> Standard:
    chosen = Path(path) if path is not None else EngineSettings().standards_file
    return load_standard(chosen)


class _Bar:
    """Progress bars (``tqdm.auto``: widgets in Jupyter, text in a terminal), one per stage."""

    def __init__(self, enabled: bool, what: str) -> None:
        self.enabled, self.what = enabled, what
        self.bars: dict[str, Any] = {}

    def __enter__(self) -> Callable[[str, int, str], None]:
        return self

    def __call__(self, stage: str, count: int, unit: str) -> None:
        if not self.enabled:
            return
        if stage not in self.bars:
            for bar in self.bars.values():
                bar.close()
            self.bars[stage] = tqdm(desc=stage, unit=f" {unit}", total=None, leave=False)
        bar = self.bars[stage]
        bar.update(max(count - bar.n, 0))

    def __exit__(self, *exc: object) -> None:
        for bar in self.bars.values():
            bar.close()


def _street_points(edges: gpd.GeoDataFrame) -> dict[str, tuple[float, float]]:
    """Each street name (casefolded) at the middle of its longest stretch, lon/lat."""
    if "name" not in edges or len(edges) == 0:
        return {}
    named = edges.loc[edges["name"].fillna("").astype(str) != "", ["name", "geometry"]]
    geo = named.geometry.to_crs(named.geometry.estimate_utm_crs())
    longest = geo.length.groupby(named["name"].str.casefold()).idxmax()
    mids = shapely.line_interpolate_point(
        named.geometry.loc[longest.to_numpy()].to_numpy(), 0.5, normalized=True
    )
    xy = np.round(shapely.get_coordinates(mids), 7)
    return {n: (float(x), float(y)) for n, (x, y) in zip(longest.index, xy, strict=True)}


def _origins(origins: gpd.GeoDataFrame | gpd.GeoSeries) -> gpd.GeoSeries:
    geoms = origins.geometry if isinstance(origins, gpd.GeoDataFrame) else origins
    if geoms.crs is None:
        raise ValueError("the origins have no CRS; set one (gdf.set_crs('EPSG:4326'))")
    geoms = geoms.to_crs("EPSG:4326")
    kinds = set(geoms.geom_type.dropna())
    if not kinds <= {"Point"}:
        raise ValueError(
            f"origins must be Points, not {', '.join(sorted(kinds - {'Point'}))}; "
            "use .centroid or .representative_point() first"
        )
    return geoms


def _frame_of(origins: object) -> gpd.GeoDataFrame | gpd.GeoSeries:
    if isinstance(origins, gpd.GeoDataFrame | gpd.GeoSeries):
        return origins
    raise TypeError(f"origins must be a GeoDataFrame or GeoSeries, not {type(origins).__name__}")


def _names(what: str, values: Iterable[str] | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        return [values]
    values = list(values)
    if not all(isinstance(v, str) for v in values):
        raise TypeError(f"{what} must be a list of ids (str), not {values!r}")
    return values


def _profile(profile: str) -> str:
    if not isinstance(profile, str):
        raise TypeError(f"profile must be a profile name (str), not {type(profile).__name__}")
    return profile


def _int(what: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{what} must be a whole number from {low} to {high}, not {value!r}")
    if not low <= int(value) <= high:
        raise ValueError(f"{what}={value} is out of range; allowed: {low} to {high}")
    return int(value)


def _minutes(minutes: Sequence[int]) -> list[int]:
    if isinstance(minutes, int | np.integer):
        minutes = [int(minutes)]
    if isinstance(minutes, str) or not all(
        isinstance(m, int | np.integer) and not isinstance(m, bool) for m in minutes
    ):
        raise TypeError(f"minutes must be whole numbers, e.g. [5, 10, 15], not {minutes!r}")
    return [int(m) for m in minutes]


def _frame(what: str, value: object) -> gpd.GeoDataFrame | None:
    if value is None or isinstance(value, gpd.GeoDataFrame):
        return value
    raise TypeError(f"{what} must be a GeoDataFrame or a file path, not {type(value).__name__}")


def _answer(frame: pd.DataFrame, geojson: Callable[[], dict[str, Any]], **attrs: object) -> Answer:
    answer = Answer(frame, geometry="geometry", crs="EPSG:4326")
    answer._geojson = geojson
    answer.attrs.update(attrs)
    return answer


def _nearest_frame(result: NearestResult, standard: Standard) -> Answer:
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
    return _answer(
        frame, result.to_geojson, region=result.region, speed_m_s=result.speed_m_s, k=result.k
    )


def _many_frame(many: ManyNearest, engine: Engine, speed: float, index: pd.Index) -> pd.DataFrame:
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


def _frame_geojson(frame: pd.DataFrame, region: str, speed: float, k: int) -> dict[str, Any]:
    gdf = gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")
    features = gdf.iterfeatures(drop_id=True, na="drop")
    return {
        "type": "FeatureCollection",
        "features": builtins.list(features),
        "properties": {"region": region, "speed_m_s": speed, "k": k},
    }


def _catchment_frame(result: CatchmentResult) -> Answer:
    geojson = result.to_geojson()
    features = [f for f in geojson["features"] if f["properties"]["kind"] != "origin"]
    frame = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    props = geojson["properties"]
    return _answer(
        frame,
        result.to_geojson,
        region=props["region"],
        speed_m_s=props["speed_m_s"],
        tiers=props["tiers"],
    )
