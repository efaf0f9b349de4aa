"""Every error class lives in geo/errors.py or is in the API's status table, at the right status."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import livingcircle
from livingcircle import public
from livingcircle.api.errors import STATUS, status_of
from livingcircle.data import departments, fetch
from livingcircle.geo import errors
from livingcircle.maps import offline

SKIP = ("livingcircle.__main__", "livingcircle.data.migrations")


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_error_class_lives_in_geo_errors_or_has_a_status() -> None:
    for info in pkgutil.walk_packages(livingcircle.__path__, "livingcircle."):
        if not info.name.startswith(SKIP):
            importlib.import_module(info.name)
    strays = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _subclasses(errors.LivingCircleError)
        if cls.__module__.startswith("livingcircle.")
        and cls.__module__ != errors.__name__
        and cls not in STATUS
    ]
    assert strays == []


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.AssetsMissing("no assets"), 503),
        (errors.OverpassError("Overpass timed out"), 502),
        (errors.ClusterUnavailable(None, "no memory"), 503),
        (errors.WorkerCannotReach("the region", "tcp://w:1", "no such folder"), 503),
        (errors.ClusterTaskFailed("tile a/1", "KilledWorker: too many deaths", 3), 503),
        (errors.ImportFileError("no header row"), 422),
        (errors.PlaceNotFound("no place 'x'"), 404),
        (
            errors.NoWayForProfile(
                "no step-free way",
                profile="step-free",
                street="AB",
                street_lonlat=(0, 0),
                distance_m=1,
            ),
            422,
        ),
    ],
)
def test_status_of_the_moved_and_server_side_errors(error: Exception, status: int) -> None:
    assert status_of(error) == status


def test_the_moved_errors_keep_their_old_names() -> None:
    assert fetch.OverpassError is errors.OverpassError
    assert departments.ImportFileError is errors.ImportFileError
    assert offline.AssetsMissing is errors.AssetsMissing
    assert public.PlaceNotFound is errors.PlaceNotFound
