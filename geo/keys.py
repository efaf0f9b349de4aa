"""API keys and what each may do: made once, kept only as a hash, checked at a fixed cost.

A key reads ``lc_<key id>_<secret>``. The store keeps the key id, the owner, the role, a
random salt and the scrypt hash of the secret, with its creation, expiry, revocation and
last use; the secret is shown once, when the key is made, and cannot be recovered.

Who may do what (one place, used by the API, the CLI and importers):

- ``admin`` edits any facility, whatever its source;
- ``department`` creates facilities under its own name and edits only those
  (``source`` is the key's owner);
- ``planner`` runs analyses and reads the audit log, and edits nothing;
- reading needs no key.

Owners are names, and the names of data sources are reserved: ``osm`` (and its spellings
below) and every imported department list (``source`` in its mapping file) cannot own a
key, or that key could change every record of the source. A department that imports a list
and also edits through the API takes a key under another name (``health-bureau-desk``).

Checking a key costs the same whether its id is known or not: an unknown id is hashed
against a fixed dummy salt, so the time of a refusal does not tell whether an id exists.
Only a token that does not even have the shape of a key (which is public) is refused
without hashing. Revocation and expiry are told only to a caller who proved the secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from livingcircle.geo import config
from livingcircle.geo.errors import (
    ExpiredApiKey,
    InvalidParameter,
    MissingApiKey,
    NotYourFacility,
    ReservedOwner,
    RevokedApiKey,
    WrongApiKey,
    WrongRole,
)
from livingcircle.geo.store import ApiKey

_TOKEN = re.compile(r"^lc_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_OWNER = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_EXPIRY = re.compile(r"^(\d{1,5})([dwy])$")
#: What each role may do.
ROLES = {
    "admin": "change any facility, whatever its source",
    "department": "change its own facilities and statuses",
    "planner": "run analyses and read the audit log; change nothing",
}
#: Roles that may change facility data.
EDITING_ROLES = ("department", "admin")
#: Roles that may run analyses and read the audit log.
PLANNING_ROLES = ("planner", "admin")
#: Names of OpenStreetMap as a source; ``osm-*``, ``osm_*`` and ``osm.*`` are reserved too.
OSM_SOURCES = frozenset({"osm", "openstreetmap", "overpass"})
#: The tag where imports list the department records behind a facility.
SOURCES_KEY = "lc:sources"
#: Days a new key lasts unless told otherwise (kept in :mod:`~livingcircle.geo.config`).
DEFAULT_EXPIRY_DAYS = config.DEFAULT_EXPIRY_DAYS
# scrypt cost: about 70 ms per check on one core, 16 MiB of memory
_N, _R, _P = 2**14, 8, 1
# what an unknown id is checked against: the same work as a known one
_DUMMY_SALT = bytes(16)
_DUMMY_DIGEST = bytes(32)
_BAD_KEY = (
    "the API key is not valid (unknown or mistyped); keys look like "
    "'lc_<12 hex digits>_<43 characters>' (ask the administrator: 'livingcircle keys list')"
)


# -- names, roles and expiry -------------------------------------------------------------


def is_reserved(owner: str, sources: Iterable[str] = ()) -> bool:
    """Whether ``owner`` names a data source: OpenStreetMap or one of ``sources``."""
    head = re.split(r"[-_.]", owner, maxsplit=1)[0]
    return owner in OSM_SOURCES or head == "osm" or owner in set(sources)


def sources_in_tags(tags: Iterable[str]) -> set[str]:
    """The sources named in the ``lc:sources`` of facility ``tags`` (JSON texts)."""
    found: set[str] = set()
    for text in tags:
        try:
            entries = json.loads(text).get(SOURCES_KEY, [])
        except (ValueError, AttributeError):
            continue
        if isinstance(entries, list):
            found |= {str(e["source"]) for e in entries if isinstance(e, dict) and "source" in e}
    return found


def check_owner(owner: str, sources: Iterable[str] = ()) -> str:
    """Validate an owner name: its shape, and that it names no data source.

    Parameters
    ----------
    owner
        1 to 63 lowercase letters, digits, ``.``, ``_``, ``-``.
    sources
        The sources of the lists imported into the store (reserved like ``osm``).

    Raises
    ------
    InvalidParameter
        The name has the wrong shape.
    ReservedOwner
        The name is a data source's.
    """
    if not _OWNER.match(owner):
        raise InvalidParameter(
            f"owner {owner!r} is not allowed; use 1 to 63 lowercase letters, digits, '.', '_' "
            "or '-', starting with a letter or digit (e.g. 'health-bureau')"
        )
    if is_reserved(owner, sources):
        imported = owner in set(sources)
        what = "an imported department list" if imported else "OpenStreetMap"
        other = f"{owner}-desk" if imported else "mapping-team"
        raise ReservedOwner(
            f"owner {owner!r} is the name of a data source ({what}); a key under that name "
            "could change every record of the source, so source names are reserved. Choose "
            f"another name (e.g. '{other}'); source data changes by re-importing or "
            "reloading it, and an admin key ('--role admin') may correct single records"
        )
    return owner


def check_role(role: str) -> str:
    """Validate a key's role: one of :data:`ROLES`."""
    if role not in ROLES:
        raise InvalidParameter(f"role {role!r} is not allowed; allowed: {', '.join(ROLES)}")
    return role


def parse_expiry(text: str, now: datetime | None = None) -> datetime | None:
    """When a key made ``now`` expires: ``90d``, ``12w``, ``2y``, a date, or ``never`` (None).

    A date (``2027-06-30``) means the end of that day, UTC.
    """
    now = now or datetime.now(UTC)
    text = text.strip().lower()
    if text == "never":
        return None
    if match := _EXPIRY.match(text):
        count, unit = int(match.group(1)), match.group(2)
        days = count * {"d": 1, "w": 7, "y": 365}[unit]
        if days == 0:
            raise InvalidParameter("--expires must be at least 1d; or 'never'")
        return now + timedelta(days=days)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(
            f"--expires {text!r} is not understood; use a duration (90d, 12w, 1y), a date "
            "(2027-06-30, UTC) or 'never'"
        ) from None
    ends = datetime.combine(day + timedelta(days=1), time(), UTC)
    if ends <= now:
        raise InvalidParameter(f"--expires {text} is in the past; give a later date")
    return ends


def new_key(
    owner: str,
    role: str = "department",
    expires_at: datetime | str | None = "default",
    sources: Iterable[str] = (),
) -> tuple[str, ApiKey]:
    """A fresh key for ``owner`` with ``role``: the token to hand out (once) and the record.

    ``expires_at`` is a time, None (never) or ``"default"`` (:data:`DEFAULT_EXPIRY_DAYS`
    from now); ``sources`` are the reserved names of imported lists.
    """
    now = datetime.now(UTC)
    if isinstance(expires_at, str):
        expires_at = now + timedelta(days=DEFAULT_EXPIRY_DAYS)
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    record = ApiKey(
        key_id,
        check_owner(owner, sources),
        salt.hex(),
        hash_secret(secret, salt).hex(),
        now,
        check_role(role),
        expires_at=expires_at,
    )
    return f"lc_{key_id}_{secret}", record


def revoked(key: ApiKey, at: datetime | None = None) -> ApiKey:
    """``key`` marked revoked at ``at`` (now); a revoked key keeps its first time."""
    return key if key.revoked_at else replace(key, revoked_at=at or datetime.now(UTC))


# -- permissions ---------------------------------------------------------------------------


def require_any_role(key: ApiKey, roles: Iterable[str], doing: str) -> ApiKey:
    """``key`` if its role is one of ``roles``, else :class:`WrongRole` naming them."""
    allowed = tuple(roles)
    if key.role not in allowed:
        names = " or ".join(allowed)
        article = "an" if names[0] in "aeiou" else "a"
        raise WrongRole(
            f"{doing} needs {article} {names} key; the key of {key.owner!r} is a {key.role} "
            "key (ask the administrator for one: 'livingcircle keys add --owner NAME --role "
            f"{allowed[0]}')"
        )
    return key


def require_role(key: ApiKey, role: str, doing: str) -> ApiKey:
    """``key`` if its role is ``role``, else :class:`WrongRole` saying which role is needed."""
    return require_any_role(key, (role,), doing)


def may_edit(key: ApiKey, facility_source: str) -> bool:
    """Whether ``key`` may change or delete a facility whose ``source`` is ``facility_source``.

    An admin may change any; a department only its own (``source`` is its owner); a
    planner none.
    """
    if key.role == "admin":
        return True
    return key.role == "department" and facility_source == key.owner


def require_edit(key: ApiKey, facility_id: str, facility_source: str) -> ApiKey:
    """``key`` if it may change facility ``facility_id`` (see :func:`may_edit`), else an error.

    Raises
    ------
    WrongRole
        The key's role changes nothing (a planner).
    NotYourFacility
        A department's key and someone else's facility.
    """
    require_any_role(key, EDITING_ROLES, "changing facility data")
    if not may_edit(key, facility_source):
        raise NotYourFacility(
            f"facility {facility_id!r} belongs to {facility_source!r}; the key of "
            f"{key.owner!r} may change only facilities whose id starts with '{key.owner}:' "
            "(an admin key may change any)"
        )
    return key


# -- checking a token ------------------------------------------------------------------------


def hash_secret(secret: str, salt: bytes) -> bytes:
    """The scrypt hash of a key's secret."""
    return hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)


def key_id_of(token: str | None) -> str | None:
    """The key id a token claims, if it has the shape of a key."""
    match = _TOKEN.match(token or "")
    return match.group(1) if match else None


def token_digest(token: str) -> bytes:
    """A fast fingerprint of a whole token (for a cache of tokens already verified)."""
    return hashlib.sha256(token.encode()).digest()


def check_secret(token: str | None, lookup: Callable[[str], ApiKey | None]) -> ApiKey:
    """The stored key whose secret ``token`` proves, at the same cost for unknown ids.

    Revocation and expiry are not checked here (see :func:`check_usable`).

    Raises
    ------
    MissingApiKey
        No token was sent.
    WrongApiKey
        The token is malformed, its id unknown or its secret wrong.
    """
    if not token:
        raise MissingApiKey(
            "this needs an API key in the X-API-Key header; ask the administrator for one "
            "('livingcircle keys add --owner DEPARTMENT')"
        )
    match = _TOKEN.match(token)
    if match is None:  # the shape of a key is public: refusing it early tells nothing
        raise WrongApiKey(_BAD_KEY)
    key = lookup(match.group(1))
    salt, digest = (
        (bytes.fromhex(key.salt), bytes.fromhex(key.digest))
        if key
        else (_DUMMY_SALT, _DUMMY_DIGEST)
    )
    proven = hmac.compare_digest(hash_secret(match.group(2), salt), digest)
    if key is None or not proven:
        raise WrongApiKey(_BAD_KEY)
    return key


def check_usable(key: ApiKey, now: datetime | None = None) -> ApiKey:
    """``key`` if it is neither revoked nor expired at ``now``.

    Raises
    ------
    RevokedApiKey, ExpiredApiKey
        Saying when, and what to do.
    """
    now = now or datetime.now(UTC)
    if key.revoked_at is not None:
        raise RevokedApiKey(
            f"the API key {key.key_id} of {key.owner!r} was revoked on "
            f"{key.revoked_at:%Y-%m-%d %H:%M} UTC; ask the administrator for a new one "
            "('livingcircle keys add')"
        )
    if key.expires_at is not None and key.expires_at <= now:
        raise ExpiredApiKey(
            f"the API key {key.key_id} of {key.owner!r} expired on "
            f"{key.expires_at:%Y-%m-%d %H:%M} UTC; ask the administrator for a new one "
            "('livingcircle keys add --expires 365d')"
        )
    return key


def verify_key(
    token: str | None, lookup: Callable[[str], ApiKey | None], now: datetime | None = None
) -> ApiKey:
    """The usable stored key that ``token`` proves, or an error that says why not.

    Parameters
    ----------
    token
        What the client sent (None or empty when it sent nothing).
    lookup
        The stored key with a given key id, or None.
    now
        The time to check expiry against (default: now).

    Raises
    ------
    MissingApiKey
        No token was sent.
    WrongApiKey
        The token is malformed, unknown or does not match; or (subclasses) the key was
        revoked or has expired.
    """
    return check_usable(check_secret(token, lookup), now)
