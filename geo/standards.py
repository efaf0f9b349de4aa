"""Facility categories, walking profiles, the walkable-way definition and living-circle tiers.

All of it is data (``gb50180.toml`` beside this module): a planner corrects a radius or adds a
category by editing the file, not the code.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from livingcircle.geo import config
from livingcircle.geo.errors import InvalidParameter, UnknownCategory, UnknownProfile
from livingcircle.geo.profiles import Profile, parse_profiles
from livingcircle.geo.status import StatusRules, parse_rules
from livingcircle.geo.supply import SupplyRules, parse_supply

DEFAULT_STANDARDS_FILE = Path(__file__).with_name("gb50180.toml")

TagValue = str | tuple[str, ...]


@dataclass(frozen=True)
class Category:
    """A kind of facility, with the OSM tag rules that select it."""

    id: str
    label_en: str
    label_zh: str
    color: str
    icon: str
    rules: tuple[tuple[tuple[str, TagValue], ...], ...]

    def matches(self, tags: Mapping[str, str]) -> bool:
        """Whether any rule holds for ``tags``."""
        return any(all(_holds(tags, k, v) for k, v in rule) for rule in self.rules)


def _holds(tags: Mapping[str, str], key: str, wanted: TagValue) -> bool:
    value = tags.get(key)
    if value is None:
        return False
    if wanted == "*":
        return True
    parts = {p.strip() for p in value.split(";")}
    allowed = {wanted} if isinstance(wanted, str) else set(wanted)
    return not parts.isdisjoint(allowed)


@dataclass(frozen=True)
class CategorySet:
    """Categories under one id and a name in English and Chinese."""

    id: str
    label_en: str
    label_zh: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Requirement(CategorySet):
    """One facility a living-circle tier must provide within ``radius_m``."""

    radius_m: float


@dataclass(frozen=True)
class Tier:
    """A living-circle tier (5, 10 or 15 minutes) and what it requires."""

    minutes: int
    distance_m: float
    label_en: str
    label_zh: str
    population: str
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True)
class Group(CategorySet):
    """An everyday group of categories, as the resident app offers them (daily shopping...)."""


@dataclass(frozen=True)
class WalkableFilter:
    """The one definition of a walkable OSM way (osmnx's walk filter, as data)."""

    require: tuple[str, ...]
    exclude: tuple[tuple[str, str], ...]
    oneway_tag: str

    @cached_property
    def _compiled(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        return tuple((k, re.compile(p)) for k, p in self.exclude)

    def is_walkable(self, tags: Mapping[str, str]) -> bool:
        """Whether a way with ``tags`` belongs to the walking network."""
        if any(k not in tags for k in self.require):
            return False
        return not any(
            (value := tags.get(k)) is not None and pattern.search(value)
            for k, pattern in self._compiled
        )

    def oneway(self, tags: Mapping[str, str]) -> int:
        """Walking direction: 0 both ways, 1 along the way, -1 against it."""
        value = tags.get(self.oneway_tag, "no")
        return {"yes": 1, "true": 1, "1": 1, "-1": -1, "reverse": -1}.get(value, 0)

    def overpass_filter(self) -> str:
        """The same definition as an Overpass QL filter (osmnx ``custom_filter``)."""
        required = "".join(f'["{k}"]' for k in self.require)
        return required + "".join(f'["{k}"!~"{p}"]' for k, p in self.exclude)


@dataclass(frozen=True)
class Standard:
    """Everything in a standards file."""

    name: str
    source: str
    categories: tuple[Category, ...]
    tiers: tuple[Tier, ...]
    profiles: Mapping[str, Profile]
    walkable: WalkableFilter
    status: StatusRules = field(default_factory=StatusRules)  # live status freshness
    _index: Mapping[str, int] = field(repr=False, compare=False, default_factory=dict)
    groups: tuple[Group, ...] = ()
    #: a facility closing within this many minutes is closing soon (``[display]``)
    closing_soon_minutes: int = config.CLOSING_SOON_MINUTES
    #: time zones by region name, overriding the zone found at a region's centre
    timezones: Mapping[str, str] = field(default_factory=dict)
    #: supply-demand scores: decay functions and default capacities (``[supply]``, ``[capacity]``)
    supply: SupplyRules = field(default_factory=SupplyRules)

    @property
    def category_ids(self) -> tuple[str, ...]:
        """Category ids in file order."""
        return tuple(c.id for c in self.categories)

    def category(self, category_id: str) -> Category:
        """The category called ``category_id``; raises :class:`UnknownCategory`."""
        try:
            return self.categories[self._index[category_id]]
        except KeyError:
            raise UnknownCategory(category_id, self.category_ids) from None

    def category_index(self, category_id: str) -> int:
        """Position of a category in :attr:`categories`; raises :class:`UnknownCategory`."""
        self.category(category_id)
        return self._index[category_id]

    def resolve_categories(self, wanted: Iterable[str] | None) -> tuple[str, ...]:
        """Validate category ids (all categories when ``wanted`` is empty or None)."""
        ids = tuple(dict.fromkeys(wanted or ()))
        for c in ids:
            self.category(c)
        return ids or self.category_ids

    def classify(self, tags: Mapping[str, str]) -> str | None:
        """The first category whose rules match ``tags``, or None."""
        for category in self.categories:
            if category.matches(tags):
                return category.id
        return None

    def speed(self, profile: str = "standard", speed_m_s: float | None = None) -> float:
        """Walking speed in m/s: ``speed_m_s`` if given, else the profile's."""
        if speed_m_s is not None:
            if not 0.1 <= speed_m_s <= 3.0:
                raise InvalidParameter(
                    f"walking speed {speed_m_s} m/s is out of range; allowed: 0.1 to 3.0 m/s"
                )
            return speed_m_s
        if profile not in self.profiles:
            raise UnknownProfile(profile, self.profiles)
        return self.profiles[profile].speed_m_s


def load_standard(path: Path | str | None = None) -> Standard:
    """Read a standards file (the bundled GB 50180-2018 file by default).

    Parameters
    ----------
    path
        A TOML file with ``[meta]``, ``[walkable]``, ``[profiles]``, ``[[categories]]`` and
        ``[[tiers]]`` tables; see ``geo/gb50180.toml``.

    Returns
    -------
    Standard
    """
    source = Path(path) if path else DEFAULT_STANDARDS_FILE
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidParameter(f"cannot read standards file {source}: {exc}") from exc
    return _parse(raw)


def _parse(raw: dict[str, Any]) -> Standard:
    categories = tuple(_category(c) for c in raw["categories"])
    known = {c.id for c in categories}
    tiers = tuple(sorted((_tier(t, known) for t in raw["tiers"]), key=lambda t: t.minutes))
    profiles = parse_profiles(raw["profiles"])
    w = raw["walkable"]
    walkable = WalkableFilter(
        require=tuple(w["require"]),
        exclude=tuple((e["key"], e["pattern"]) for e in w["exclude"]),
        oneway_tag=w["oneway_tag"],
    )
    return Standard(
        name=raw["meta"]["name"],
        source=raw["meta"]["source"],
        categories=categories,
        tiers=tiers,
        profiles=profiles,
        walkable=walkable,
        status=parse_rules(raw.get("status", {}), known),
        _index={c.id: i for i, c in enumerate(categories)},
        groups=tuple(_group(g, known) for g in raw.get("groups", [])),
        closing_soon_minutes=_closing_soon(raw.get("display", {})),
        timezones=_timezones(raw.get("timezones", {})),
        supply=parse_supply(raw.get("supply", {}), raw.get("capacity", {}), known),
    )


def _group(raw: dict[str, Any], known: set[str]) -> Group:
    unknown = set(raw["categories"]) - known
    if unknown:
        raise UnknownCategory(sorted(unknown)[0], known)
    return Group(raw["id"], raw["label_en"], raw["label_zh"], tuple(raw["categories"]))


def _closing_soon(display: dict[str, Any]) -> int:
    minutes = display.get("closing_soon_minutes", config.CLOSING_SOON_MINUTES)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 <= minutes <= 1440:
        raise InvalidParameter(
            f"[display] closing_soon_minutes = {minutes!r} is out of range; "
            "allowed: whole minutes from 0 to 1440"
        )
    return minutes


def _timezones(raw: dict[str, Any]) -> dict[str, str]:
    for region, name in raw.items():
        try:
            ZoneInfo(str(name))
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidParameter(
                f"[timezones] {region} = {name!r} is not a time zone; allowed: an IANA name "
                "such as Asia/Shanghai or Europe/Helsinki"
            ) from None
    return {str(k): str(v) for k, v in raw.items()}


def _category(raw: dict[str, Any]) -> Category:
    rules = tuple(
        tuple((k, v if isinstance(v, str) else tuple(v)) for k, v in rule.items())
        for rule in raw["rules"]
    )
    return Category(raw["id"], raw["label_en"], raw["label_zh"], raw["color"], raw["icon"], rules)


def _tier(raw: dict[str, Any], known: set[str]) -> Tier:
    distance = float(raw["distance_m"])
    requirements = []
    for r in raw["requirements"]:
        unknown = set(r["categories"]) - known
        if unknown:
            raise UnknownCategory(sorted(unknown)[0], known)
        requirements.append(
            Requirement(
                r["id"],
                r["label_en"],
                r["label_zh"],
                tuple(r["categories"]),
                float(r.get("radius_m", distance)),
            )
        )
    return Tier(
        int(raw["minutes"]),
        distance,
        raw["label_en"],
        raw["label_zh"],
        raw["population"],
        tuple(requirements),
    )
