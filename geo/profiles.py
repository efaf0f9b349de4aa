"""Walking profiles: a speed and the street's own tags turned into a cost per edge.

A profile (``[profiles]`` in the standards file) is a speed plus rules over an edge's OSM
tags: ``exclude`` (``highway=steps`` for step-free walking), ``multiply`` (a rough surface
takes longer), ``add_s`` (seconds added, e.g. waiting at a crossing without signals) and a
slope rule (Tobler's hiking function, or a wheelchair rule with a steepest ramp). A
profile's cost of an edge is expressed as *equivalent metres at the profile's speed*
(seconds x speed): a profile network is the region's network with those metres as its edge
lengths and the excluded edges left out, so every search, snap and catchment works on it
unchanged and a time is still metres / speed. A position on an edge keeps its share of the
edge: its offset is scaled by the edge's cost / length.

Costs are never below an edge's length (every factor is at least 1, every added time at
least 0): the bounded searches cut the network to a disc as wide as the budget, which holds
only while no walk is shorter than the straight line. The engine keeps one cost per street
edge for both directions, so a slope is walked at the mean of its uphill and downhill cost.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from livingcircle.geo.config import RULE_TAGS
from livingcircle.geo.errors import InvalidParameter
from livingcircle.geo.network import FloatArray, IntArray, StreetNetwork

#: Tag columns of an edge: one string per edge, "" where the way has no such tag.
EdgeTags = Mapping[str, NDArray[np.object_]]
#: Conditions that must all hold: (key, allowed values); ``("*",)`` is any value.
Condition = tuple[tuple[str, tuple[str, ...]], ...]
SlopeRule = Literal["none", "tobler", "wheelchair"]
FacilityPolicy = Literal["ignore", "unreachable", "flag"]

#: Documented OSM values of the tags rules name (wiki.openstreetmap.org, Key:...); a rule
#: naming another value still works but warns once when the standards file is read.
KNOWN_VALUES: dict[str, frozenset[str]] = {
    "highway": frozenset(
        "footway path pedestrian steps living_street residential service track cycleway "
        "primary secondary tertiary unclassified trunk corridor elevator bridleway road".split()
    ),
    "footway": frozenset("sidewalk crossing access_aisle link traffic_island alley".split()),
    "surface": frozenset(
        "paved asphalt concrete paving_stones sett cobblestone unhewn_cobblestone metal wood "
        "unpaved compacted fine_gravel gravel pebblestone rock ground dirt earth grass mud "
        "sand woodchips stepping_stones concrete:plates concrete:lanes bricks".split()
    ),
    "smoothness": frozenset(
        "excellent good intermediate bad very_bad horrible very_horrible impassable".split()
    ),
    "crossing": frozenset(
        "traffic_signals uncontrolled unmarked marked zebra no informal island".split()
    ),
    "kerb": frozenset("raised lowered flush rolled no yes regular".split()),
    "wheelchair": frozenset("yes limited no designated".split()),
    "ramp": frozenset("yes no".split()),
    "ramp:wheelchair": frozenset("yes no separate".split()),
}


class ProfileWarning(UserWarning):
    """A profile rule names a tag or value the rules do not know (it still applies)."""


@dataclass(frozen=True)
class Adjust:
    """A rule that changes an edge's cost where ``when`` holds: a factor or added seconds."""

    when: Condition
    factor: float = 1.0
    seconds: float = 0.0


@dataclass(frozen=True)
class Slope:
    """How an edge's slope (rise / run) changes its cost.

    ``tobler``: Tobler's hiking function, speed ``6 exp(-3.5 |s + 0.05|)`` km/h, relative
    to its flat speed, walked both ways (the mean of ``s`` and ``-s``). ``wheelchair``:
    steeper than ``max_incline`` is excluded (ADA 2010 section 405.2: ramps at most 1:12,
    8.33 %); gentler slopes cost ``1 + |s| / max_incline`` (a ramp at the limit takes twice
    as long: our planning assumption). ``up_down`` is the slope assumed for ``incline=up``
    or ``down`` without a figure.
    """

    rule: SlopeRule = "none"
    max_incline: float = 0.08
    up_down: float = 0.10

    def factor(self, slope: FloatArray) -> FloatArray:
        """Cost factor per edge (``inf``: excluded) for slopes ``slope`` (NaN: unknown, flat)."""
        s = np.abs(np.nan_to_num(slope, nan=0.0))
        if self.rule == "tobler":

            def tobler(x: FloatArray) -> FloatArray:
                return np.asarray(np.exp(3.5 * (np.abs(x + 0.05) - 0.05)), dtype=np.float64)

            return np.maximum((tobler(s) + tobler(-s)) / 2, 1.0)
        if self.rule == "wheelchair":
            return np.where(s > self.max_incline + 1e-12, np.inf, 1.0 + s / self.max_incline)
        return np.ones_like(s)


@dataclass(frozen=True)
class Profile:
    """A walking profile: a speed, and rules over the street's tags.

    Attributes
    ----------
    id, speed_m_s, label_en, label_zh
        Its name, flat walking speed and labels.
    source
        Where the speed and rules come from.
    exclude
        Edges where any of these conditions holds cannot be walked.
    multiply, add_s
        Factors and added seconds of the edges where their condition holds.
    slope
        The slope rule (from ``incline`` tags, or a DEM's node elevations).
    wheelchair_no
        Facilities tagged ``wheelchair=no``: ``ignore``d, ``unreachable`` or ``flag``ged.
    """

    id: str
    speed_m_s: float
    label_en: str
    label_zh: str
    source: str = ""
    exclude: tuple[Condition, ...] = ()
    multiply: tuple[Adjust, ...] = ()
    add_s: tuple[Adjust, ...] = ()
    slope: Slope = field(default_factory=Slope)
    wheelchair_no: FacilityPolicy = "ignore"

    @property
    def has_edge_rules(self) -> bool:
        """Whether the profile costs edges other than by length / speed."""
        return bool(self.exclude or self.multiply or self.add_s or self.slope.rule != "none")

    @property
    def tags_read(self) -> frozenset[str]:
        """The way tags its rules read (``incline`` with a slope rule)."""
        conditions = [*self.exclude, *(r.when for r in (*self.multiply, *self.add_s))]
        keys = {key for cond in conditions for key, _ in cond}
        return frozenset(keys | ({"incline"} if self.slope.rule != "none" else set()))

    def edge_seconds(
        self, length_m: FloatArray, tags: EdgeTags, slope: FloatArray | None = None
    ) -> FloatArray:
        """Seconds to walk each edge (``inf`` where excluded).

        ``slope`` is each edge's rise / run where known from elevations; an ``incline`` tag
        with a figure (or ``up``/``down``) takes precedence.
        """
        n = len(length_m)
        factor = np.ones(n)
        for rule in self.multiply:
            factor[_holds(rule.when, tags, n)] *= rule.factor
        extra = np.zeros(n)
        for rule in self.add_s:
            extra[_holds(rule.when, tags, n)] += rule.seconds
        factor *= self.slope.factor(edge_slopes(tags, n, slope, self.slope.up_down))
        seconds = length_m / self.speed_m_s * factor + extra
        for cond in self.exclude:
            seconds[_holds(cond, tags, n)] = np.inf
        return np.asarray(seconds, dtype=np.float64)

    def edge_cost_m(
        self, length_m: FloatArray, tags: EdgeTags, slope: FloatArray | None = None
    ) -> FloatArray:
        """Each edge's cost as equivalent metres at :attr:`speed_m_s` (``inf``: excluded)."""
        return self.edge_seconds(length_m, tags, slope) * self.speed_m_s


def _holds(cond: Condition, tags: EdgeTags, n: int) -> NDArray[np.bool_]:
    """Edges where every (key, values) of ``cond`` holds; ``a;b`` values match by part.

    ``"*"`` is any value; values written ``"!v"`` hold where the tag is anything but them,
    absent included (``crossing = "!traffic_signals"``: a crossing without signals).
    """
    out = np.ones(n, dtype=np.bool_)
    for key, values in cond:
        negated = all(v.startswith("!") for v in values)
        wanted = {v.removeprefix("!") for v in values}
        column = tags.get(key)
        if column is None:
            if negated:
                continue
            return np.zeros(n, dtype=np.bool_)
        uniq, inverse = np.unique(column.astype(str), return_inverse=True)
        hit = np.array([_matches(u, wanted) for u in uniq.tolist()], dtype=np.bool_)
        out &= ~hit[inverse.reshape(-1)] if negated else hit[inverse.reshape(-1)]
    return out


def _matches(value: str, wanted: set[str]) -> bool:
    if not value:
        return False
    return "*" in wanted or not wanted.isdisjoint(p.strip() for p in value.split(";"))


_INCLINE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(%|°)?\s*$")


def incline_value(text: str, up_down: float = 0.10) -> float:
    """An ``incline`` tag as rise / run: ``8%``, ``-8 %``, ``5°``, ``up``; NaN if none."""
    text = text.strip().lower()
    if text in ("up", "down", "yes"):
        return up_down
    m = _INCLINE.match(text)
    if m is None:
        return math.nan
    number = float(m.group(1))
    return math.tan(math.radians(number)) if m.group(2) == "°" else number / 100


def edge_slopes(
    tags: EdgeTags, n: int, elevation_slope: FloatArray | None, up_down: float = 0.10
) -> FloatArray:
    """Each edge's slope: its ``incline`` tag where it has a figure, else ``elevation_slope``."""
    out = np.full(n, np.nan) if elevation_slope is None else np.array(elevation_slope, dtype=float)
    column = tags.get("incline")
    if column is not None:
        uniq, inverse = np.unique(column.astype(str), return_inverse=True)
        tagged = np.array([incline_value(u, up_down) for u in uniq.tolist()])[inverse.reshape(-1)]
        out = np.where(np.isnan(tagged), out, tagged)
    return out


def node_slopes(net: StreetNetwork, node_ele: FloatArray) -> FloatArray:
    """Each edge's slope from its end nodes' elevations (NaN where one is unknown)."""
    rise = node_ele[net.edge_v] - node_ele[net.edge_u]
    return np.asarray(rise / np.maximum(net.edge_length, 1e-9), dtype=np.float64)


def profile_network(net: StreetNetwork, profile: Profile) -> tuple[StreetNetwork, IntArray]:
    """``net`` as walked at ``profile``: lengths in equivalent metres, excluded edges left out.

    The rules read ``net.edge_tags``, and slopes from ``net.node_ele`` where a DEM was
    sampled. Every node stays (ids unchanged). Returns the network and, per edge of it, the
    edge of ``net`` it is. Costs stay float64: in float32 a 1 km edge is rounded by up to 30
    micrometres, more than the engine's 1e-6 exactness.
    """
    slope = None if net.node_ele is None else node_slopes(net, net.node_ele)
    cost = profile.edge_cost_m(net.edge_length, net.edge_tags, slope)
    kept = np.flatnonzero(np.isfinite(cost)).astype(np.int32)
    walked = replace(
        net,
        edge_u=net.edge_u[kept],
        edge_v=net.edge_v[kept],
        edge_length=np.ascontiguousarray(cost[kept]),
        edge_oneway=net.edge_oneway[kept],
        edge_geom=net.edge_geom[kept],
        edge_tags={k: v[kept] for k, v in net.edge_tags.items()},
    )
    return walked, kept


# -- reading the [profiles] table ------------------------------------------------------------


def parse_profiles(raw: Mapping[str, Any]) -> dict[str, Profile]:
    """The ``[profiles]`` table of a standards file, checked; unknown tag values warn once."""
    return {str(k): _profile(str(k), v) for k, v in raw.items()}


def _profile(name: str, raw: Mapping[str, Any]) -> Profile:
    speed = float(raw["speed_m_s"])
    if not 0.1 <= speed <= 3.0:
        raise InvalidParameter(
            f"[profiles.{name}] speed_m_s = {speed} is out of range; allowed: 0.1 to 3.0 m/s"
        )
    where = f"[profiles.{name}]"
    policy = str(raw.get("wheelchair_no", "ignore"))
    if policy not in ("ignore", "unreachable", "flag"):
        raise InvalidParameter(
            f"{where} wheelchair_no = {policy!r}; allowed: ignore, unreachable, flag"
        )
    return Profile(
        id=name,
        speed_m_s=speed,
        label_en=str(raw["label_en"]),
        label_zh=str(raw["label_zh"]),
        source=str(raw.get("source", "")),
        exclude=tuple(_condition(c, where) for c in raw.get("exclude", [])),
        multiply=tuple(_adjust(a, where, "factor") for a in raw.get("multiply", [])),
        add_s=tuple(_adjust(a, where, "seconds") for a in raw.get("add_s", [])),
        slope=_slope(raw.get("slope", {}), where),
        wheelchair_no=policy,  # type: ignore[arg-type]
    )


def _condition(raw: Mapping[str, Any], where: str) -> Condition:
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidParameter(f"{where}: a rule is a table of tag conditions, got {raw!r}")
    cond = tuple(
        (str(k), (v,) if isinstance(v, str) else tuple(str(x) for x in v)) for k, v in raw.items()
    )
    for key, values in cond:
        _warn_unknown(key, values, where)
    return cond


def _warn_unknown(key: str, values: tuple[str, ...], where: str) -> None:
    if key not in KNOWN_VALUES:
        if key not in RULE_TAGS:
            warnings.warn(
                f"{where} names tag {key!r}, which OSM readers do not keep; the rule applies "
                f"only where the edges carry it (kept: {', '.join(RULE_TAGS)})",
                ProfileWarning,
                stacklevel=5,
            )
        return
    if any(v.startswith("!") for v in values) and not all(v.startswith("!") for v in values):
        raise InvalidParameter(
            f"{where} {key} = {list(values)}: mixes '!' values with others; allowed: all "
            "values negated ('!traffic_signals') or none"
        )
    odd = [v for v in values if v != "*" and v.removeprefix("!") not in KNOWN_VALUES[key]]
    if odd:
        warnings.warn(
            f"{where} names {key}={'|'.join(odd)}, not a documented OSM value; the rule is "
            f"kept (known: {', '.join(sorted(KNOWN_VALUES[key]))})",
            ProfileWarning,
            stacklevel=5,
        )


def _adjust(raw: Mapping[str, Any], where: str, what: Literal["factor", "seconds"]) -> Adjust:
    if "when" not in raw or what not in raw:
        raise InvalidParameter(f"{where}: each rule needs 'when' and '{what}', got {raw!r}")
    value = float(raw[what])
    low = 1.0 if what == "factor" else 0.0
    if not low <= value <= 1e4:
        raise InvalidParameter(
            f"{where} {what} = {value} is out of range; allowed: {low:g} to 10000 (a walk is "
            "never quicker than its length at the profile's speed)"
        )
    cond = _condition(raw["when"], where)
    return Adjust(cond, factor=value) if what == "factor" else Adjust(cond, seconds=value)


def _slope(raw: Mapping[str, Any], where: str) -> Slope:
    rule = str(raw.get("rule", "none"))
    if rule not in ("none", "tobler", "wheelchair"):
        raise InvalidParameter(f"{where} slope rule = {rule!r}; allowed: none, tobler, wheelchair")
    max_incline = float(raw.get("max_incline", 0.08))
    up_down = float(raw.get("up_down", 0.10))
    if not (0 < max_incline <= 1 and 0 <= up_down <= 1):
        raise InvalidParameter(
            f"{where} slope max_incline = {max_incline}, up_down = {up_down}; allowed: rise / "
            "run fractions, max_incline above 0 and both at most 1"
        )
    return Slope(rule, max_incline, up_down)  # type: ignore[arg-type]
