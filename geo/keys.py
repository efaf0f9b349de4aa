"""API keys for the departments that change facility data: made once, kept only as a hash.

A key reads ``lc_<key id>_<secret>``. The store keeps the key id, the owner, a random salt and
the scrypt hash of the secret; the secret is shown once, when the key is made, and cannot be
recovered. Checking a key hashes the offered secret with the stored salt and compares in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from livingcircle.geo.errors import InvalidParameter, MissingApiKey, WrongApiKey, WrongRole
from livingcircle.geo.store import ApiKey

_TOKEN = re.compile(r"^lc_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_OWNER = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
#: What each role may do; a department key is today's key (changes its own facilities).
ROLES = {
    "department": "change its own facilities and statuses",
    "planner": "also run analyses and read their results",
}
# scrypt cost: about 70 ms per check on one core, 16 MiB of memory
_N, _R, _P = 2**14, 8, 1


def check_owner(owner: str) -> str:
    """Validate an owner name: lowercase letters, digits, ``.``, ``_``, ``-``, at most 63."""
    if not _OWNER.match(owner):
        raise InvalidParameter(
            f"owner {owner!r} is not allowed; use 1 to 63 lowercase letters, digits, '.', '_' "
            "or '-', starting with a letter or digit (e.g. 'health-bureau')"
        )
    return owner


def check_role(role: str) -> str:
    """Validate a key's role: one of :data:`ROLES`."""
    if role not in ROLES:
        raise InvalidParameter(f"role {role!r} is not allowed; allowed: {', '.join(ROLES)}")
    return role


def require_role(key: ApiKey, role: str, doing: str) -> ApiKey:
    """``key`` if its role is ``role``, else :class:`WrongRole` saying which role is needed."""
    if key.role != role:
        raise WrongRole(
            f"{doing} needs a {role} key; the key of {key.owner!r} is a {key.role} key (ask "
            f"the administrator for one: 'livingcircle keys add --owner NAME --role {role}')"
        )
    return key


def hash_secret(secret: str, salt: bytes) -> bytes:
    """The scrypt hash of a key's secret."""
    return hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)


def new_key(owner: str, role: str = "department") -> tuple[str, ApiKey]:
    """A fresh key for ``owner`` with ``role``: the token to hand out (once) and the record."""
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    record = ApiKey(
        key_id,
        check_owner(owner),
        salt.hex(),
        hash_secret(secret, salt).hex(),
        datetime.now(UTC),
        check_role(role),
    )
    return f"lc_{key_id}_{secret}", record


def verify_key(token: str | None, lookup: Callable[[str], ApiKey | None]) -> ApiKey:
    """The stored key that ``token`` proves, or an error that says why not.

    Parameters
    ----------
    token
        What the client sent (None or empty when it sent nothing).
    lookup
        The stored key with a given key id, or None.

    Raises
    ------
    MissingApiKey
        No token was sent.
    WrongApiKey
        The token is malformed, unknown or does not match.
    """
    if not token:
        raise MissingApiKey(
            "changing facility data needs an API key in the X-API-Key header; ask the "
            "administrator for one ('livingcircle keys add --owner DEPARTMENT')"
        )
    match = _TOKEN.match(token)
    # unknown ids are refused without hashing, so junk keys cost no CPU; an id is no secret
    key = lookup(match.group(1)) if match else None
    if (
        match is None
        or key is None
        or not hmac.compare_digest(
            hash_secret(match.group(2), bytes.fromhex(key.salt)), bytes.fromhex(key.digest)
        )
    ):
        raise WrongApiKey(
            "the API key is not valid (unknown, revoked or mistyped); keys look like "
            "'lc_<12 hex digits>_<43 characters>'"
        )
    return key
