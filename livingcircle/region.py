"""A loaded region in the Python API: :class:`Region` and its questions.

``lc.open("helsinki")`` gives one; its methods answer as the command line and the HTTP API
do, with GeoDataFrames (:mod:`livingcircle.answers`) and Folium maps back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm.auto import tqdm

from livingcircle.answers import (
    Analysis,
    Answer,
    ScenarioOutcome,
    answer,
    catchment_frame,
    frame_geojson,
    many_frame,
    nearest_frame,
)
from livingcircle.arguments import (
    Bar,
    Where,
    check_frame,
    check_int,
    check_minutes,
    check_names,
    check_origins,
    check_profile,
    origins_of,
)
from livingcircle.geo import config
from livingcircle.geo.batch import nearest_many
from livingcircle.geo.engine import Region as Engine
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.network import StreetNetwork
from livingcircle.geo.profile_views import walked_demand
from livingcircle.geo.reach import ReachGraph
from livingcircle.geo.region_cache import placed_from_store
from livingcircle.geo.scenario import Scenario as ScenarioSpec
from livingcircle.geo.standards import Standard
from livingcircle.geo.store import RegionInfo, Store
from livingcircle.places import Places

if TYPE_CHECKING:
    import folium

    from livingcircle.geo.demand import Demand

#: Origins per batch step: memory stays bounded however many origins a batch has.
BATCH_CHUNK = 20_000


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
        net = StreetNetwork.from_frames(data.nodes, data.edges)
        placed = placed_from_store(store, data, net, standard.category_ids)  # the store's cache
        self.engine = Engine(name, net, data.facilities, standard, max_snap_m, placed=placed)
        self._places = Places(self.engine, data.edges)
        self._graphs: dict[int, ReachGraph] = {}  # by network: the region's and its views'
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
        *,
        k: int = 1,
        max_minutes: float | None = None,
        profile: str = "standard",
        speed_m_s: float | None = None,
        progress: bool = True,
    ) -> Answer:
        """The ``k`` nearest facilities of each category by walking time.

        The options after ``categories`` are keyword-only (``k=3``, ``profile="elderly"``).

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
        max_minutes
            Ignore facilities farther than this.
        profile, speed_m_s
            How one walks: a named profile (``standard``, ``elderly``, ``brisk``, ``child``,
            ``step-free``; the last three also cost streets by their tags, step-free avoids
            steps) and a speed in m/s that overrides its speed.
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
        speed = self.standard.speed(check_profile(profile), speed_m_s)
        cats = list(self.standard.resolve_categories(check_names("categories", categories)))
        k = check_int("k", k, 1, config.MAX_K)
        if isinstance(where, gpd.GeoDataFrame | gpd.GeoSeries):
            walk = self.engine.walked_at(profile, speed_m_s)
            return self._nearest_many(walk, profile, where, cats, k, speed, max_minutes, progress)
        lon, lat = self._places.point(where)
        result = self.engine.nearest(
            lon, lat, cats, k=k, profile=profile, speed_m_s=speed, max_minutes=max_minutes,
            routes=False,
        )  # fmt: skip
        return nearest_frame(result, self.standard)

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
            How one walks, as :meth:`nearest` (the profile's street rules apply).

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
        speed = self.standard.speed(check_profile(profile), speed_m_s)
        lon, lat = self._places.point(where)
        rings = check_minutes(minutes)
        result = self.engine.catchment(lon, lat, rings, profile=profile, speed_m_s=speed)
        return catchment_frame(result)

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

        speed = self.standard.speed(check_profile(profile), speed_m_s)
        walk = batch_run.Walk(tuple(check_minutes(minutes)), speed, profile)
        frame, _ = batch_run.origins_from_frame(origins_of(origins), id_column)
        source = batch_run.source_for(self.store, self.name, self.standard, self.engine.max_snap_m)
        if not distributed:
            return batch_run.run_local(frame, source, walk)
        from livingcircle.cluster import connect  # noqa: PLC0415

        with connect(workers, scheduler, progress=progress) as client:
            return batch_run.run_catchments(client, frame, source, walk)

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
            The walking profile homes are judged at, as :meth:`nearest`: at ``step-free``
            every home walks the step-free network (no steps, facilities tagged
            ``wheelchair=no`` left out), homes by steps only move to the nearest street it
            may walk. ``Analysis.profile`` and ``notes`` say which, and what it assumed.
        progress
            Show a progress bar.

        Examples
        --------
        >>> result = lc.open("helsinki").analyse(categories=["pharmacy"], sites=2)
        >>> sorted(result.layers)
        ['access_scores', 'coverage', 'equity', 'gaps', 'points', 'sites', 'tiers']
        """
        from livingcircle.geo.planning import plan  # noqa: PLC0415
        from livingcircle.geo.supply import capacities_from_frame  # noqa: PLC0415

        speed = self.standard.speed(check_profile(profile), speed_m_s)
        focus = check_names("categories", categories)
        with Bar(progress, "analysis") as bar:
            demand, source = self._homes(homes, communities, population, bar)
            engine, demand = walked_demand(self.engine, demand, profile, speed_m_s)
            bar("analysing every category", len(demand), "homes")
            tables = plan(
                engine,
                demand,
                focus or None,
                check_int("sites", sites, 0, 100),
                None,
                check_int("k", k, 1, config.MAX_K),
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
            tables.analysis.profile,
            tables.analysis.notes,
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
        homes, communities, population, k, profile, speed_m_s, progress
            As :meth:`analyse`.

        Examples
        --------
        >>> from livingcircle.geo.scenario import NewFacility, Scenario
        >>> what_if = Scenario("a clinic", (NewFacility("clinic", 24.9414, 60.1710),))
        >>> out = lc.open("helsinki").scenario(what_if, progress=False)
        >>> out.summary["category"].tolist()
        ['clinic']
        """
        from livingcircle.data.scenario_file import read_scenario  # noqa: PLC0415
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
        speed = self.standard.speed(check_profile(profile), speed_m_s)
        with Bar(progress, "scenario") as bar:
            demand, _ = self._homes(homes, communities, population, bar)
            engine, demand = walked_demand(self.engine, demand, profile, speed_m_s)
            bar("analysing before", len(demand), "homes")
            graph = self._reach(engine)
            before = analyse(
                engine,
                demand,
                k=check_int("k", k, 1, config.MAX_K),
                speed_m_s=speed,
                graph=graph,
                profile=profile,
            )
            bar("computing the scenario", len(demand), "homes")
            result = run_scenario(engine, demand, before, spec, graph, self._way_ids, source)
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
            How one walks, as :meth:`nearest` (the profile's street rules apply).
        offline
            Make a page that requests nothing from the network (streets drawn, no tiles).

        Examples
        --------
        >>> m = lc.open("helsinki").explore((60.1710, 24.9414), offline=True)
        >>> type(m).__name__
        'Map'
        """
        speed = self.standard.speed(check_profile(profile), speed_m_s)
        if where is None:
            if category is None:
                raise InvalidParameter(
                    "explore needs a place (where=) for the resident's map "
                    "or a category (category=) for the planner's map"
                )
            from livingcircle.maps.planner import planner_map  # noqa: PLC0415

            self.standard.category(category)
            view = self.engine.walked_at(profile, speed_m_s)
            return planner_map(view, category, speed, offline=offline)
        from livingcircle.maps.resident import resident_map_at  # noqa: PLC0415

        lon, lat = self._places.point(where)
        return resident_map_at(
            self.engine,
            lon,
            lat,
            check_minutes(minutes),
            profile=profile,
            speed_m_s=speed,
            offline=offline,
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
        return self._places.locate(name)

    # -- helpers ------------------------------------------------------------------------

    def _homes(
        self,
        homes: str | Path | gpd.GeoDataFrame | None,
        communities: str | Path | gpd.GeoDataFrame | None,
        population: float | None,
        bar: Callable[[str, int, str], None],
    ) -> tuple[Demand, str]:
        """The homes (a file, a frame, or every street node) placed on the streets."""
        from livingcircle.data.demand import demand_for_region  # noqa: PLC0415
        from livingcircle.data.user_files import read_boundaries, read_homes  # noqa: PLC0415
        from livingcircle.geo.demand import place_demand  # noqa: PLC0415

        bar("reading homes", 0, "homes")
        frame = (
            read_homes(Path(homes), population)
            if isinstance(homes, str | Path)
            else check_frame("homes", homes)
        )
        bounds = (
            read_boundaries(Path(communities))
            if isinstance(communities, str | Path)
            else check_frame("communities", communities)
        )
        placed, source = demand_for_region(
            self.engine, None, frame, population, "floor_area", bounds
        )
        return place_demand(self.engine.net, placed, self.engine.max_snap_m), source

    def _reach(self, engine: Engine) -> ReachGraph:
        """The reversed graph of ``engine`` (the region or its view at a profile), kept."""
        graph = self._graphs.get(id(engine.net))
        if graph is None or graph.net is not engine.net:
            graph = self._graphs[id(engine.net)] = ReachGraph(engine.net)
        return graph

    def _nearest_many(
        self,
        engine: Engine,
        profile: str,
        origins: gpd.GeoDataFrame | gpd.GeoSeries,
        cats: list[str],
        k: int,
        speed: float,
        max_minutes: float | None,
        progress: bool,
    ) -> Answer:
        geoms = check_origins(origins)
        lon, lat = shapely.get_x(geoms.to_numpy()), shapely.get_y(geoms.to_numpy())
        graph = self._reach(engine)
        parts = []
        steps = range(0, max(len(lon), 1), BATCH_CHUNK)  # no origins: one empty step
        for start in tqdm(
            steps, desc="nearest", unit="chunk", disable=not progress or len(steps) < 2
        ):
            chunk = slice(start, start + BATCH_CHUNK)
            part = nearest_many(engine, lon[chunk], lat[chunk], cats, k, speed, max_minutes, graph)
            parts.append(many_frame(part, engine, speed, origins.index[start:]))
        frame = pd.concat(parts, ignore_index=True)
        return answer(
            frame,
            lambda: frame_geojson(frame, self.name, speed, k, profile, engine.walking.notes),
            region=self.name,
            speed_m_s=speed,
            k=k,
            profile=profile,
            notes=engine.walking.notes,
        )
