"""The errors livingcircle raises, each telling the user what was wrong and what is allowed.

Every error subclasses :class:`LivingCircleError` and, where one fits, a builtin
(``KeyError``, ``ValueError``, ``FileNotFoundError``) so callers can catch either. The CLI
turns them into a one-line message and a non-zero exit code; the API maps them to HTTP in one
place.
"""

from __future__ import annotations

from collections.abc import Iterable


class LivingCircleError(Exception):
    """Base class of every error livingcircle raises on purpose."""

    #: where and why a server-side fault happened, for the server log and the CLI only
    #: (never in an API answer); set by ``livingcircle.data.pg.errors.located``
    operator_detail: str | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


def _allowed(values: Iterable[str]) -> str:
    return ", ".join(sorted(values))


class UnknownCategory(LivingCircleError, KeyError):
    """A facility category that the standards file does not define."""

    def __init__(self, category: str, allowed: Iterable[str]) -> None:
        super().__init__(f"unknown category {category!r}; allowed: {_allowed(allowed)}")
        self.category = category


class UnknownProfile(LivingCircleError, KeyError):
    """A walking profile that the standards file does not define."""

    def __init__(self, profile: str, allowed: Iterable[str]) -> None:
        super().__init__(f"unknown walking profile {profile!r}; allowed: {_allowed(allowed)}")


class InvalidParameter(LivingCircleError, ValueError):
    """A parameter outside its allowed range (minutes, k, speed, coordinates...)."""


class InvalidText(InvalidParameter):
    """Text that cannot be stored: a NUL, a lone surrogate, a control character, or too long.

    ``field`` names it, ``problem`` says what is wrong and what to do, ``position`` is the
    offending character's (from 1; None for a length problem); ``where`` names the record.
    The rule is :mod:`livingcircle.geo.text`'s.
    """

    def __init__(self, field: str, problem: str, position: int | None, where: str = "") -> None:
        super().__init__(f"{where}: {field} {problem}" if where else f"{field} {problem}")
        self.field = field
        self.problem = problem
        self.position = position
        self.where = where

    def of(self, where: str) -> InvalidText:
        """The same problem, said of a record (``"facility 'osm:node/1'"``)."""
        return InvalidText(self.field, self.problem, self.position, where)


class RegionNotFound(LivingCircleError, KeyError):
    """A region name that is not loaded in the store."""

    def __init__(self, region: str, loaded: Iterable[str]) -> None:
        names = list(loaded)
        hint = f"loaded regions: {_allowed(names)}" if names else "no region is loaded yet"
        super().__init__(
            f"region {region!r} is not loaded ({hint}); load one with "
            "'livingcircle load FILE --region NAME' or run 'livingcircle demo'"
        )
        self.region = region


class PointOutsideRegion(LivingCircleError, ValueError):
    """A point that lies outside every loaded region."""


class AmbiguousRegion(InvalidParameter):
    """A point that lies in more than one loaded region while no region was named."""

    def __init__(self, lat: float, lon: float, candidates: Iterable[str]) -> None:
        names = sorted(candidates)
        super().__init__(
            f"point ({lat:.6f}, {lon:.6f}) lies in more than one loaded region; pass --region "
            f"NAME (region= in the API) to choose; allowed: {_allowed(names)}"
        )
        self.candidates = names


class PointTooFarFromNetwork(LivingCircleError, ValueError):
    """A point inside a region but too far from any walkable street to snap onto it."""


class NoWayForProfile(PointTooFarFromNetwork):
    """A point whose every nearby street the walking profile excludes (steps, raised kerbs).

    ``street`` and ``street_lonlat`` name the nearest street the profile can walk,
    ``distance_m`` away.
    """

    def __init__(
        self,
        message: str,
        *,
        profile: str,
        street: str,
        street_lonlat: tuple[float, float],
        distance_m: float,
    ) -> None:
        super().__init__(message)
        self.profile = profile
        self.street = street
        self.street_lonlat = street_lonlat
        self.distance_m = distance_m


class DEMError(LivingCircleError, ValueError):
    """A DEM (GeoTIFF) that cannot be read, has no CRS, or does not cover the region."""


class OSMFileError(LivingCircleError, ValueError):
    """An OSM file that is missing, unreadable or corrupt."""


class EmptyExtract(LivingCircleError, ValueError):
    """An OSM extract without a walkable street network."""


class StoreError(LivingCircleError, RuntimeError):
    """The store cannot be read or written (disk, database, lock)."""


class RegionBusy(StoreError):
    """Another process is loading the same region right now."""


class DatabaseUnavailable(StoreError):
    """The database server cannot be reached or refuses the login."""


class SchemaOutOfDate(StoreError):
    """The database lacks the livingcircle schema or has an older version of it."""


class FacilityNotFound(LivingCircleError, KeyError):
    """A facility id that the region does not have."""

    def __init__(self, region: str, facility_id: str) -> None:
        super().__init__(
            f"facility {facility_id!r} is not in region {region!r}; list facilities with "
            f"GET /v1/regions/{region}/facilities (ids look like 'osm:node/25502063')"
        )
        self.facility_id = facility_id


class FacilityExists(LivingCircleError, ValueError):
    """A new facility whose id is already taken."""


class NotSupportedByStore(StoreError):
    """The configured store cannot do this (yet)."""


class AccessDenied(LivingCircleError, PermissionError):
    """A change to facility data without the right to make it."""


class MissingApiKey(AccessDenied):
    """A write request without an API key."""


class WrongApiKey(AccessDenied):
    """An API key that is malformed, unknown or revoked."""


class WrongRole(AccessDenied):
    """A valid key whose role does not allow the request (a department key on a planner route)."""


class NotYourFacility(AccessDenied):
    """A valid key whose owner does not own the facility it tries to change."""


class RevokedApiKey(WrongApiKey):
    """A right key that was revoked ('livingcircle keys revoke')."""


class ExpiredApiKey(WrongApiKey):
    """A right key past its expiry date."""


class ReservedOwner(InvalidParameter):
    """A key owner that names a data source (``osm``, an imported list), which no key may own."""


class TooManyAuthFailures(AccessDenied):
    """Too many failed key checks from one address or for one key id; retry after a while."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthBusy(LivingCircleError):
    """More key checks at once than the server takes; retry in a moment."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class JobNotFound(LivingCircleError, KeyError):
    """A job id (or a layer of a job) that the store does not keep."""


class UnknownKiosk(LivingCircleError, KeyError):
    """A kiosk id that the kiosks file does not configure."""

    def __init__(self, kiosk: str, allowed: Iterable[str]) -> None:
        super().__init__(f"unknown kiosk {kiosk!r}; configured kiosks: {_allowed(allowed)}")


class ClusterUnavailable(LivingCircleError, ConnectionError):
    """A Dask scheduler that cannot be reached, or a local cluster that cannot start."""

    def __init__(self, address: str | None, reason: str) -> None:
        if address is None:
            message = (
                f"cannot start a local Dask cluster ({reason}); try fewer --workers, or name "
                "a running scheduler with --scheduler tcp://HOST:8786"
            )
        else:
            message = (
                f"cannot reach the Dask scheduler at {address} ({reason}); check the address "
                "(tcp://HOST:8786) and that the scheduler runs, or leave out --scheduler and "
                "LC_DASK_SCHEDULER to start a local cluster"
            )
        super().__init__(message)
        self.address = address


class WorkerCannotReach(LivingCircleError, OSError):
    """A Dask worker that cannot read the region or write the output a job needs."""

    def __init__(self, what: str, worker: str, reason: str) -> None:
        super().__init__(
            f"Dask worker {worker} cannot reach {what} ({reason}); every worker must see the "
            "same storage: a folder mounted on every machine, the PostGIS database, or an "
            "object store URL (s3://...) with its fsspec package installed on the workers"
        )
        self.what, self.worker = what, worker


class ClusterTaskFailed(LivingCircleError, RuntimeError):
    """A Dask task of a run that failed for a reason not in its data; the rest were cancelled."""

    def __init__(self, task: str, reason: str, cancelled: int) -> None:
        super().__init__(
            f"{task} failed on the Dask cluster ({reason}); the run stopped and its "
            f"{cancelled} unfinished task(s) were cancelled. Fix the cause (a worker out of "
            "memory, a file or package the workers do not have), then run again: with "
            "--resume (resume=True) the tiles already written are kept"
        )
        self.task, self.reason, self.cancelled = task, reason, cancelled


class BadOrigins(LivingCircleError, ValueError):
    """An origins file that cannot be used at all (no CRS, no point, unknown columns)."""


class OverpassError(LivingCircleError, RuntimeError):
    """The Overpass server failed, timed out or answered with something unusable."""


class ImportFileError(LivingCircleError, ValueError):
    """A facility list or mapping file that cannot be read as a whole."""


class AssetsMissing(LivingCircleError, FileNotFoundError):
    """The map assets were not installed."""


class PlaceNotFound(LivingCircleError, LookupError):
    """A place name that matches nothing in the region, or several things."""
