"""``livingcircle audit``: check the audit log's hash chain, and list its entries.

``audit verify`` checks every log of the store (each region's, and the store's log of API
keys) from its first entry to its last, and names any entry that was edited, removed or
moved. Exit code 0 and one summary line when every chain is intact, 1 when one is broken.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from livingcircle.cli_options import AsRecords, StoreChoice, command, command_group, region_option

if TYPE_CHECKING:
    from livingcircle.geo.audit import ChainReport

audit_app = command_group(
    "The audit log: check that no entry was edited, removed or moved (verify), or list "
    "entries (list)."
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
OneLog = Annotated[str | None, region_option("Check this region's log only; default: every log.")]
LogShown = Annotated[str | None, region_option("The region's log; default: the store's API keys.")]


@audit_app.command("verify")
@command
def verify(
    *,
    region: OneLog = None,
    head: Annotated[
        list[str] | None,
        typer.Option(
            "--head",
            help="A head printed by an earlier verify (16 or more hex digits, repeatable): "
            "fails unless it is still in the chain, so a cut at the end shows too.",
        ),
    ] = None,
    where: StoreChoice,
) -> None:
    """Check the hash chain of every audit log; name each edited, removed or moved entry."""
    store = where.store()
    logs = [region] if region is not None else store.audit_logs()
    reports = [store.check_audit(log) for log in logs]
    lost = [h for h in head or [] if not _kept(h, reports)]
    for report in reports:
        for warning in report.warnings:
            err.print(f"warning: {report.name}: {warning}")
        for problem in report.problems:
            out.print(f"{report.name}: {problem}")
    for h in lost:
        out.print(f"head {h[:16]}… is not in any log: entries after it were cut, or it is wrong")
    broken = [r for r in reports if not r.intact]
    if broken or lost:
        count = sum(len(r.problems) for r in reports) + len(lost)
        out.print(
            f"audit log BROKEN: {count} problem{'' if count == 1 else 's'} in {len(broken)} of "
            f"{len(reports)} logs"
        )
        raise typer.Exit(1)
    out.print(_summary(reports))


def _kept(head: str, reports: list[ChainReport]) -> bool:
    """Whether an entry of the logs has the hash ``head`` begins (16 hex digits at least)."""
    head = head.strip().lower()
    return len(head) >= 16 and any(h.startswith(head) for r in reports for h in r.hashes)


def _summary(reports: list[ChainReport]) -> str:
    entries = sum(r.entries for r in reports)
    heads = ", ".join(f"{r.name} {r.head[:16]}" for r in reports)
    sealed = sum(r.unchained for r in reports)
    older = f" (and {sealed} older lines sealed)" if sealed else ""
    return (
        f"audit log intact: {entries} entries{older} in {len(reports)} logs; heads: "
        f"{heads or 'none'}"
    )


@audit_app.command("list")
@command
def list_entries(
    *,
    region: LogShown = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 20,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Entries to skip.")] = 0,
    as_json: AsRecords = False,
    where: StoreChoice,
) -> None:
    """List audit entries, newest first: sequence, time, actor, action, what changed."""
    from livingcircle.geo.audit import STORE_LOG, entry_record  # noqa: PLC0415  (when it runs)

    store = where.store()
    entries = store.audit(STORE_LOG if region is None else region, limit, offset)
    if as_json:
        print(json.dumps([entry_record(e) for e in entries], ensure_ascii=False, indent=2))
        return
    table = Table("seq", "at (UTC)", "actor", "action", "subject", "what", "hash")
    for e in entries:
        table.add_row(
            str(e.seq),
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            e.actor,
            e.action,
            e.facility_id,
            _what(e.after if e.after is not None else e.before),
            e.hash[:12],
        )
    out.print(table)


def _what(value: dict[str, object] | None) -> str:
    if not value:
        return ""
    counts = value.get("counts")
    if isinstance(counts, dict):
        return ", ".join(f"{v} {k}" for k, v in counts.items())
    return ", ".join(f"{k}={value[k]}" for k in ("name", "owner", "role") if k in value)
