"""Answers of the engine, in WGS 84, and their GeoJSON form."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, overload

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from livingcircle.geo.standards import Requirement


@dataclass(frozen=True)
class Origin:
    """The query point and where it joined the street network."""

    lon: float
    lat: float
    snapped_lon: float
    snapped_lat: float
    access_m: float


@dataclass(slots=True)
class FacilityHit:
    """A facility reached on foot.

    ``open_status`` ("open", "closed" or "unknown"), ``closing_soon`` and the local times
    ``opens_at`` / ``closes_at`` (where known) are at the moment the query asked about.
    """

    id: str
    name: str
    name_zh: str
    category: str
    label_en: str
    label_zh: str
    lon: float
    lat: float
    distance_m: float
    time_s: float
    opening_hours: str = ""
    route: BaseGeometry | None = None
    ring_minutes: int | None = None
    open_status: str = "unknown"
    closing_soon: bool = False
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    access_from: tuple[float, float] | None = None

    def properties(self) -> dict[str, Any]:
        """GeoJSON properties, as :meth:`Hits.features` writes them (one place says how)."""
        props: dict[str, Any] = Hits.of([self]).features()[0]["properties"]
        return props


@dataclass(frozen=True)
class Hits(Sequence[FacilityHit]):
    """Facilities reached, as columns: a catchment holds hundreds of them.

    A sequence of :class:`FacilityHit` to its readers (each made when asked for);
    :meth:`features` turns the columns into GeoJSON Features without making them.
    """

    id: list[str]
    name: list[str]
    name_zh: list[str]
    category: list[str]
    label_en: list[str]
    label_zh: list[str]
    lon: list[float]
    lat: list[float]
    distance_m: list[float]
    time_s: list[float]
    opening_hours: list[str]
    route: list[BaseGeometry | None]
    ring_minutes: list[int | None]
    open_status: list[str]
    closing_soon: list[bool]
    opens_at: list[datetime | None]
    closes_at: list[datetime | None]
    access_from: list[tuple[float, float] | None]

    @classmethod
    def of(cls, hits: Sequence[FacilityHit]) -> Hits:
        """The columns of ``hits``."""
        return cls(*([getattr(h, f.name) for h in hits] for f in fields(FacilityHit)))

    def __len__(self) -> int:
        return len(self.id)

    @overload
    def __getitem__(self, index: int) -> FacilityHit: ...
    @overload
    def __getitem__(self, index: slice) -> list[FacilityHit]: ...

    def __getitem__(self, index: int | slice) -> FacilityHit | list[FacilityHit]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        return FacilityHit(*(getattr(self, f.name)[index] for f in fields(FacilityHit)))

    def __iter__(self) -> Iterator[FacilityHit]:
        columns = (getattr(self, f.name) for f in fields(FacilityHit))
        return (FacilityHit(*row) for row in zip(*columns, strict=True))

    def features(self) -> list[dict[str, Any]]:
        """Point Features of the hits, straight from the columns."""
        time_s = np.asarray(self.time_s, dtype=float)
        distance, seconds, minutes = (  # rounded in one pass each, not hit by hit
            np.round(np.asarray(self.distance_m, dtype=float), 3).tolist(),
            np.round(time_s, 3).tolist(),
            np.round(time_s / 60, 1).tolist(),
        )
        return [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": (lon, lat)},
                "properties": {
                    "kind": "facility",
                    "id": i,
                    "name": n,
                    "name_zh": nz,
                    "category": c,
                    "category_en": en,
                    "category_zh": zh,
                    "distance_m": d,
                    "time_s": t,
                    "minutes": m,
                    **({"opening_hours": oh} if oh else {}),
                    **({"ring_minutes": ring} if ring is not None else {}),
                    "open_status": status,
                    "closing_soon": soon,
                    **({"opens_at": opens.isoformat()} if opens is not None else {}),
                    **({"closes_at": closes.isoformat()} if closes is not None else {}),
                    **({"access_from": leg} if leg is not None else {}),
                },
            }
            for (
                i,
                n,
                nz,
                c,
                en,
                zh,
                lon,
                lat,
                d,
                t,
                m,
                oh,
                ring,
                status,
                soon,
                opens,
                closes,
                leg,
            ) in zip(
                self.id,
                self.name,
                self.name_zh,
                self.category,
                self.label_en,
                self.label_zh,
                self.lon,
                self.lat,
                distance,
                seconds,
                minutes,
                self.opening_hours,
                self.ring_minutes,
                self.open_status,
                self.closing_soon,
                self.opens_at,
                self.closes_at,
                self.access_from,
                strict=True,
            )
        ]


@dataclass(frozen=True)
class NearestResult:
    """The k nearest facilities of each asked category."""

    region: str
    origin: Origin
    speed_m_s: float
    k: int
    by_category: dict[str, list[FacilityHit]]
    searched_m: float
    #: the walking profile asked for (its street rules shaped the routes)
    profile: str = "standard"
    #: what the profile left out or assumed (facilities it cannot reach, slopes without a DEM)
    notes: tuple[str, ...] = ()

    def to_geojson(self) -> dict[str, Any]:
        """A FeatureCollection: origin, one Point per facility, one LineString per route."""
        features = [_origin_feature(self.origin)]
        ranked = [
            (rank, hit)
            for hits in self.by_category.values()
            for rank, hit in enumerate(hits, start=1)
        ]
        points = Hits.of([hit for _, hit in ranked]).features()
        for (rank, hit), point in zip(ranked, points, strict=True):
            point["properties"]["rank"] = rank
            features.append(point)
            if hit.route is not None:
                features.append(
                    _feature(
                        hit.route,
                        {
                            "kind": "route",
                            "id": hit.id,
                            "category": hit.category,
                            "distance_m": point["properties"]["distance_m"],
                            "rank": rank,
                        },
                    )
                )
        missing = [c for c, hits in self.by_category.items() if not hits]
        return _collection(
            features,
            region=self.region,
            speed_m_s=self.speed_m_s,
            k=self.k,
            not_found=missing,
            searched_m=self.searched_m,
            profile=self.profile,
            notes=list(self.notes),
        )


@dataclass(frozen=True)
class Ring:
    """One catchment ring: the area reachable within ``minutes``."""

    minutes: int
    polygon: BaseGeometry
    area_m2: float
    street_m: float


@dataclass(frozen=True)
class RequirementStatus(Requirement):
    """Whether one requirement of a tier is met from the query point."""

    present: bool
    nearest_id: str | None = None
    nearest_m: float | None = None


@dataclass(frozen=True)
class TierSummary:
    """A GB 50180 tier checked at the query point."""

    minutes: int
    distance_m: float
    label_en: str
    label_zh: str
    requirements: list[RequirementStatus] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        """Ids of requirements not met."""
        return [r.id for r in self.requirements if not r.present]

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "minutes": self.minutes,
            "distance_m": self.distance_m,
            "label_en": self.label_en,
            "label_zh": self.label_zh,
            "present": [r.id for r in self.requirements if r.present],
            "missing": self.missing,
            "requirements": [
                {
                    **asdict(r),
                    "categories": list(r.categories),
                    "nearest_m": None if r.nearest_m is None else round(r.nearest_m, 3),
                }
                for r in self.requirements
            ],
        }


@dataclass(frozen=True)
class CatchmentResult:
    """Rings, the facilities inside them, and the standard's checklist."""

    region: str
    origin: Origin
    speed_m_s: float
    rings: list[Ring]
    facilities: Hits
    tiers: list[TierSummary]
    #: the walking profile asked for
    profile: str = "standard"
    #: what the profile left out or assumed, as :attr:`NearestResult.notes`
    notes: tuple[str, ...] = ()

    def to_geojson(self) -> dict[str, Any]:
        """A FeatureCollection: origin, ring polygons (largest first), facility Points."""
        features = [_origin_feature(self.origin)]
        for ring in sorted(self.rings, key=lambda r: -r.minutes):
            features.append(
                _feature(
                    ring.polygon,
                    {
                        "kind": "ring",
                        "minutes": ring.minutes,
                        "area_m2": round(ring.area_m2, 1),
                        "street_m": round(ring.street_m, 1),
                    },
                )
            )
        features += self.facilities.features()
        tiers = [t.to_dict() for t in self.tiers]
        return _collection(
            features,
            region=self.region,
            speed_m_s=self.speed_m_s,
            tiers=tiers,
            profile=self.profile,
            notes=list(self.notes),
        )


def _collection(features: list[dict[str, Any]], **properties: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features, "properties": properties}


def _origin_feature(origin: Origin) -> dict[str, Any]:
    return _point_feature(
        origin.lon,
        origin.lat,
        {
            "kind": "origin",
            "snapped": [round(origin.snapped_lon, DECIMALS), round(origin.snapped_lat, DECIMALS)],
            "access_m": round(origin.access_m, 3),
        },
    )


def _feature(geom: BaseGeometry, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geojson_geometry(geom), "properties": props}


#: Decimal places of lon/lat in GeoJSON output: 1e-7 degrees is about a centimetre.
DECIMALS = 7


def geojson_geometry(geom: BaseGeometry) -> dict[str, Any]:
    """A GeoJSON geometry, coordinates rounded to :data:`DECIMALS`.

    LineStrings and (Multi)Polygons are built from coordinate arrays in one pass each rather
    than point by point (a catchment ring has hundreds of points); other types use shapely's
    own mapping.
    """
    kind = geom.geom_type
    if kind == "LineString":
        return {"type": kind, "coordinates": _rounded(shapely.get_coordinates(geom)).tolist()}
    if kind == "Polygon":
        return {"type": kind, "coordinates": _polygon_coordinates(geom)}
    if kind == "MultiPolygon":
        return {
            "type": kind,
            "coordinates": [_polygon_coordinates(p) for p in shapely.get_parts(geom)],
        }
    return dict(shapely.geometry.mapping(geom))


def _polygon_coordinates(polygon: BaseGeometry) -> list[Any]:
    if polygon.is_empty:
        return []
    xy, ring = shapely.get_coordinates(shapely.get_rings(polygon), return_index=True)
    cuts = np.flatnonzero(ring[1:] != ring[:-1]) + 1
    return [part.tolist() for part in np.split(_rounded(xy), cuts)]


def _rounded(xy: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.round(xy, DECIMALS)


def _point_feature(lon: float, lat: float, props: dict[str, Any]) -> dict[str, Any]:
    """A Point Feature without a shapely object (catchments have hundreds of them)."""
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": (lon, lat)},
        "properties": props,
    }
