"""``livingcircle keys``: API keys for departments, planners and admins."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from livingcircle.cli_options import AsRecords, StoreChoice, command, command_group
from livingcircle.cli_output import err, out
from livingcircle.geo.config import DEFAULT_EXPIRY_DAYS

if TYPE_CHECKING:
    from livingcircle.geo.store import ApiKey

keys_app = command_group(
    "API keys for the HTTP API: departments change their own facilities, admins any, "
    "planners run analyses and read the audit log. Reading needs no key."
)
COLUMNS = ("key_id", "owner", "role", "created", "expires", "revoked", "last_use")
KeyId = Annotated[str, typer.Argument(help="The key id shown by 'livingcircle keys list'.")]


@keys_app.command("add")
@command
def keys_add(
    *,
    owner: Annotated[
        str,
        typer.Option(
            "--owner",
            help="Who the key is for, e.g. health-bureau; facilities it creates get ids "
            "'OWNER:...'. Source names (osm, and every imported list's source) are reserved.",
        ),
    ],
    role: Annotated[
        str,
        typer.Option(
            "--role",
            help="department (changes its own facilities), admin (changes any facility) or "
            "planner (runs analyses, reads the audit log, changes nothing).",
        ),
    ] = "department",
    expires: Annotated[
        str,
        typer.Option(
            "--expires",
            help=f"When the key stops working: a duration (90d, 12w, 1y), a date "
            f"(2027-06-30, end of that day UTC) or 'never'. Default: {DEFAULT_EXPIRY_DAYS}d.",
        ),
    ] = f"{DEFAULT_EXPIRY_DAYS}d",
    where: StoreChoice,
) -> None:
    """Make a key. It is printed once; only its hash is stored."""
    from livingcircle.geo.keys import new_key, parse_expiry  # noqa: PLC0415  (when it runs)

    token, record = new_key(owner, role, parse_expiry(expires))
    where.store().add_api_key(record)  # refuses owners that name an imported list
    print(token)
    until = f"until {_when(record.expires_at)} UTC" if record.expires_at else "with no expiry"
    err.print(
        f"{role} key {record.key_id} for {owner}, valid {until}: give it to them now, it "
        "cannot be shown again (send it as the X-API-Key header)",
        highlight=False,
    )


@keys_app.command("list")
@command
def keys_list(*, as_json: AsRecords = False, where: StoreChoice) -> None:
    """List the keys: role, owner, created, expires, revoked, last use (UTC; never secrets)."""
    now = datetime.now(UTC)
    rows = [_row(key, now) for key in where.store().api_keys()]
    if as_json:
        print(json.dumps(rows, indent=1))
        return
    table = Table(
        *(c.replace("_", " ") for c in COLUMNS),
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.columns[0].no_wrap = table.columns[2].no_wrap = True
    for column in table.columns[3:]:
        column.min_width = 10  # a date, with its time on the next line when narrow
    for row in rows:
        table.add_row(*(row[c] or "" for c in COLUMNS))
    out.print(table)


@keys_app.command("revoke")
@command
def keys_revoke(key_id: KeyId, where: StoreChoice) -> None:
    """Revoke a key: kept in the list, refused from now on (at once on every server)."""
    _revoke(key_id, where)


@keys_app.command("remove", help="The same as 'keys revoke' (the key stays listed, revoked).")
@command
def keys_remove(key_id: KeyId, where: StoreChoice) -> None:
    """Revoke a key (an alias of 'keys revoke')."""
    _revoke(key_id, where)


def _revoke(key_id: str, where: StoreChoice) -> None:
    key = where.store().revoke_api_key(key_id)
    err.print(
        f"key {key_id} of {key.owner} revoked at {_when(key.revoked_at)} UTC", highlight=False
    )


def _when(at: datetime | None, missing: str = "") -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if at else missing


def _row(key: ApiKey, now: datetime) -> dict[str, str | None]:
    return {
        "key_id": key.key_id,
        "owner": key.owner,
        "role": key.role,
        "created": _when(key.created_at),
        "expires": _expiry(key, now),
        "revoked": _when(key.revoked_at) or None,
        "last_use": _when(key.last_used_at) or None,
    }


def _expiry(key: ApiKey, now: datetime) -> str:
    if key.expires_at is None:
        return "never"
    return _when(key.expires_at) + (" (expired)" if key.expires_at <= now else "")
