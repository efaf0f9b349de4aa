"""Places by name: a facility's name (in either language) or a street's, as a point.

:class:`Places` answers :meth:`livingcircle.Region.locate` and turns every ``where`` the
Python API takes (``(lat, lon)``, a shapely Point, a name) into lon/lat.
"""

from __future__ import annotations

import difflib

import geopandas as gpd
import numpy as np
import shapely

from livingcircle.geo.engine import Region as Engine
from livingcircle.geo.errors import PlaceNotFound

#: Places sharing a name this close together (metres across) are taken as one place.
SAME_PLACE_M = 300.0


class Places:
    """The named places of one region: its facilities and the middle of each street.

    Parameters
    ----------
    engine
        The region's engine (facilities, projection, standard).
    edges
        Its street edges, with a ``name`` column where streets are named.
    """

    def __init__(self, engine: Engine, edges: gpd.GeoDataFrame) -> None:
        self.engine = engine
        self.streets = street_points(edges)

    def locate(self, name: str) -> shapely.Point:
        """The point (lon, lat) called ``name``, as :meth:`livingcircle.Region.locate`."""
        if not isinstance(name, str) or not name.strip():
            raise TypeError(f"a place name must be a non-empty str, not {name!r}")
        wanted = name.strip().casefold()
        fac, std = self.engine.facilities, self.engine.standard
        hits = [
            i
            for i, names in enumerate(zip(fac.text["name"], fac.text["name_zh"], strict=True))
            if wanted in (n.casefold() for n in names if n)
        ]
        places = [(float(x), float(y)) for x, y in fac.anchor_lonlat[hits]]
        labels = [std.category(std.category_ids[int(fac.category[i])]).label_en for i in hits]
        if wanted in self.streets:
            places.append(self.streets[wanted])
            labels.append("street")
        if places:
            return self._one_place(name, places, labels)
        every = {n.casefold(): n for col in ("name", "name_zh") for n in fac.text[col] if n}
        every |= {n: n for n in self.streets if n not in every}
        close = [every[c] for c in difflib.get_close_matches(wanted, list(every), n=5, cutoff=0.5)]
        hint = f"closest names: {', '.join(close)}" if close else "no similar name either"
        raise PlaceNotFound(
            f"no facility or street called {name!r} in region {self.engine.name!r}; {hint}"
        )

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
            f"{len(places)} places in region {self.engine.name!r} are called "
            f"{name!r}, too far apart to be one ({listed}); give coordinates "
            "(lat, lon) instead"
        )

    def point(self, where: object) -> tuple[float, float]:
        """``where`` (``(lat, lon)``, a shapely Point or a name) as (lon, lat)."""
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


def street_points(edges: gpd.GeoDataFrame) -> dict[str, tuple[float, float]]:
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
