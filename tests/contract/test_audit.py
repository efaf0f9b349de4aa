"""The audit log on both stores: complete (loads, imports, removals, keys), append-only and
hash-chained, with every edited, removed or reordered entry named by ``check_audit`` and
``livingcircle audit verify``."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import shapely
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from livingcircle.cli import app
from livingcircle.data.embedded import FileStore
from livingcircle.data.pg_schema import SCHEMA_REVISION
from livingcircle.data.postgis import PostgisStore, upgrade
from livingcircle.geo.audit import STORE_LOG, AuditTrail, ChainReport
from livingcircle.geo.keys import new_key
from livingcircle.geo.standards import Standard
from livingcircle.geo.status import FacilityStatus
from livingcircle.geo.store import FacilityRecord, RegionData, Store, with_facilities
from tests.contract.conftest import empty_postgis
from tests.data.test_departments import SOURCE, HelsinkiList, import_helsinki

REGION = "helsinki"
LON, LAT = 24.9414, 60.1712


def clinic(source_id: str = "c-1", name: str = "Terveysasema") -> FacilityRecord:
    return FacilityRecord(
        f"health-bureau:{source_id}",
        "health-bureau",
        source_id,
        "clinic",
        shapely.Point(LON, LAT),
        name=name,
    )


def status_of(facility_id: str, free: int) -> FacilityStatus:
    return FacilityStatus(
        facility_id, "clinic", datetime.now(UTC), spaces_free=free, spaces_total=5
    )


def trail(store: Store) -> Any:
    assert isinstance(store, AuditTrail)
    return store


def problems(report: ChainReport) -> str:
    return "\n".join(map(str, report.problems))


@pytest.fixture
def loaded(store: Store, sample_data: RegionData) -> Any:
    store.save_region(sample_data)
    return trail(store)


# -- complete: every path that changes data leaves an entry -------------------------------


def test_a_load_and_a_reload_are_recorded(loaded: Any, sample_data: RegionData) -> None:
    first = loaded.audit(REGION)
    assert [e.action for e in first] == ["load"]
    entry = first[0]
    n = len(sample_data.facilities)
    assert entry.after["counts"] == {"added": n, "changed": 0, "removed": 0}
    assert entry.after["source"] == sample_data.info.source and entry.before is None
    assert entry.actor.startswith("local:") and entry.seq == 1

    kept = sample_data.facilities.iloc[23:].copy()
    kept.loc[kept.index[0], "name"] = "Uusi nimi"
    loaded.save_region(with_facilities(sample_data, kept))
    reload = loaded.audit(REGION)[0]
    assert (reload.action, reload.seq) == ("load", 2)
    assert reload.after["counts"] == {"added": 0, "changed": 1, "removed": 23}
    assert reload.after["removed"] == sorted(sample_data.facilities["id"].iloc[:23])
    assert reload.after["changed"] == [kept["id"].iloc[0]]
    assert reload.before["n_facilities"] == n
    assert loaded.check_audit(REGION).intact


def test_an_import_that_removes_records_shows_them(
    loaded: Any, tmp_path: Path, sample_data: RegionData, standard: Standard
) -> None:
    listing = HelsinkiList(sample_data.facilities)
    report = import_helsinki(loaded, tmp_path, listing, standard)
    entry = loaded.audit(REGION)[0]
    assert (entry.action, entry.after["source"]) == ("import", SOURCE)
    assert entry.after["added"] == sorted(report.added)
    assert entry.after["changed"] == sorted(report.changed)
    # the same list without its two new clinics: the department's own records go
    fewer = [r for r in listing.rows if r["编号"] not in ("C9", "N0")]
    again = import_helsinki(loaded, tmp_path, listing, standard, rows=fewer)
    gone = loaded.audit(REGION)[0]
    assert gone.after["removed"] == sorted(again.removed) == [f"{SOURCE}:C9", f"{SOURCE}:N0"]
    assert gone.after["counts"]["removed"] == 2
    # an import that changes nothing writes nothing, and records nothing
    count = len(loaded.audit(REGION, limit=1000))
    import_helsinki(loaded, tmp_path, listing, standard, rows=fewer)
    assert len(loaded.audit(REGION, limit=1000)) == count
    assert [e.action for e in loaded.audit(REGION)] == ["import", "import", "load"]
    assert loaded.check_audit(REGION).intact


def test_keys_made_and_revoked_are_recorded_in_the_store_log(store: Store) -> None:
    keys = trail(store)
    _, one = new_key("health-bureau")
    _, two = new_key("parks", "planner")
    keys.add_api_key(one)
    keys.add_api_key(two)
    keys.revoke_api_key(one.key_id)
    keys.revoke_api_key(one.key_id)  # revoking again changes nothing, records nothing
    keys.remove_api_key(two.key_id)
    log = keys.audit(STORE_LOG)
    assert [(e.action, e.facility_id, e.seq) for e in log] == [
        ("key-revoke", two.key_id, 4),
        ("key-revoke", one.key_id, 3),
        ("key-add", two.key_id, 2),
        ("key-add", one.key_id, 1),
    ]
    assert log[1].before["revoked_at"] is None and log[1].after["revoked_at"] is not None
    assert log[0].after is None and log[3].after["owner"] == "health-bureau"
    assert one.digest not in json.dumps([e.after for e in log])  # never the hash
    assert STORE_LOG in keys.audit_logs()
    assert keys.check_audit(STORE_LOG).intact


def test_a_removed_region_keeps_its_log_with_the_removal(loaded: Any) -> None:
    loaded.save_facility(REGION, clinic(), "health-bureau", create=True)
    loaded.delete_region(REGION)
    assert [e.action for e in loaded.audit(REGION)] == ["region-remove", "create", "load"]
    assert REGION in loaded.audit_logs()
    report = loaded.check_audit(REGION)
    assert report.intact and report.entries == 3


def test_edits_and_statuses_are_chained(loaded: Any) -> None:
    made = loaded.save_facility(REGION, clinic(), "health-bureau", create=True)
    status = loaded.set_status(REGION, status_of(made.facility_id, 2), "health-bureau")
    log = loaded.audit(REGION)
    assert log[:2] == [status, made]
    assert (made.seq, status.seq, status.prev) == (2, 3, made.hash)
    assert loaded.check_audit(REGION).intact


def test_writers_at_once_never_fork_the_chain(loaded: Any) -> None:
    """Edits (region lock) and statuses (status lock) append to one log at the same time."""
    made = loaded.save_facility(REGION, clinic(), "health-bureau", create=True)
    errors: list[BaseException] = []

    def edits(tag: str) -> None:
        try:
            for i in range(6):
                loaded.save_facility(REGION, clinic(f"{tag}-{i}"), "health-bureau", create=True)
        except BaseException as exc:
            errors.append(exc)

    def statuses() -> None:
        try:
            for i in range(6):
                loaded.set_status(REGION, status_of(made.facility_id, i), "health-bureau")
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=edits, args=("a",)),
        threading.Thread(target=statuses),
        threading.Thread(target=edits, args=("b",)),
        threading.Thread(target=statuses),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    report = loaded.check_audit(REGION)
    assert report.intact, problems(report)
    assert [e.seq for e in loaded.audit(REGION, limit=100)] == list(range(26, 0, -1))


# -- tamper-evident: edited, removed and reordered entries are named -----------------------


def lines_of(store: FileStore, log: str = REGION) -> list[str]:
    return (store.root / "audit" / f"{log}.jsonl").read_text("utf-8").splitlines()


def write_lines(store: FileStore, lines: list[str], log: str = REGION) -> None:
    (store.root / "audit" / f"{log}.jsonl").write_text("\n".join(lines) + "\n", "utf-8")


def three_edits(store: Any) -> None:
    store.save_facility(REGION, clinic(), "health-bureau", create=True)
    store.save_facility(REGION, clinic(name="Toinen"), "health-bureau", create=False)
    store.delete_facility(REGION, "health-bureau:c-1", "health-bureau")


def tamper_file(store: FileStore, how: str) -> None:
    lines = lines_of(store)
    if how == "edited":
        raw = json.loads(lines[2])
        raw["actor"] = "someone-else"
        lines[2] = json.dumps(raw)
    elif how == "removed":
        del lines[2]
    else:
        lines[1], lines[2] = lines[2], lines[1]
    write_lines(store, lines)


def tamper_postgis(store: PostgisStore, how: str) -> None:
    """As the table's owner, who may switch the append-only triggers off."""
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE facility_audit DISABLE TRIGGER USER"))
        if how == "edited":
            conn.execute(
                text(
                    "UPDATE facility_audit SET actor = 'someone-else' WHERE region = :r AND seq = 3"
                ),
                {"r": REGION},
            )
        elif how == "removed":
            conn.execute(
                text("DELETE FROM facility_audit WHERE region = :r AND seq = 3"), {"r": REGION}
            )
        else:  # entries 2 and 3 swap places: their rows trade ids (the stored order)
            ids = (
                conn.execute(
                    text(
                        "SELECT id FROM facility_audit WHERE region = :r AND seq IN (2, 3) "
                        "ORDER BY seq"
                    ),
                    {"r": REGION},
                )
                .scalars()
                .all()
            )
            for old, new in ((ids[0], -1), (ids[1], ids[0]), (-1, ids[1])):
                conn.execute(
                    text("UPDATE facility_audit SET id = :new WHERE id = :old"),
                    {"old": old, "new": new},
                )
        conn.execute(text("ALTER TABLE facility_audit ENABLE TRIGGER USER"))


EXPECTED = {
    "edited": r"entry 3 \(.*\): its content does not match its hash: the entry was edited",
    "removed": r"entry 4 \(.*\): entry 3 before it is missing: removed",
    "reordered": r"entry 3 \(.*\): entry 2 \(at .*\) should come before it: reordered",
}


@pytest.mark.parametrize("how", ["edited", "removed", "reordered"])
def test_a_tampered_entry_is_found_and_named(loaded: Any, how: str) -> None:
    three_edits(loaded)
    assert loaded.check_audit(REGION).intact
    if isinstance(loaded, FileStore):
        tamper_file(loaded, how)
    else:
        tamper_postgis(loaded, how)
    report = loaded.check_audit(REGION)
    assert not report.intact
    assert any(re.search(EXPECTED[how], str(p)) for p in report.problems), problems(report)


def test_an_edited_file_log_stops_further_appends_from_hiding_it(tmp_path: Path) -> None:
    """Appends after an edit keep linking to the edited entry's stored hash: still named."""
    store = FileStore(tmp_path / "store")
    _, key = new_key("health-bureau")
    store.add_api_key(key)
    lines = lines_of(store, "_store")
    lines[0] = lines[0].replace("health-bureau", "police")
    write_lines(store, lines, "_store")
    _, other = new_key("parks")
    store.add_api_key(other)
    report = store.check_audit(STORE_LOG)
    assert [str(p).split(":")[0] for p in report.problems] == ["entry 1 (line 1)"]


def test_lines_from_before_the_chain_are_sealed_by_the_first_entry(
    tmp_path: Path, sample_data: RegionData
) -> None:
    store = FileStore(tmp_path / "store")
    (store.root / "audit").mkdir(parents=True)
    old = {
        "region": REGION,
        "facility_id": "health-bureau:c-0",
        "action": "create",
        "actor": "health-bureau",
        "at": "2026-11-30T10:00:00+00:00",
        "before": None,
        "after": {"name": "Vanha"},
    }
    write_lines(store, [json.dumps(old), json.dumps(old | {"action": "delete"})])
    store.save_region(sample_data)
    report = store.check_audit(REGION)
    assert report.intact and (report.unchained, report.entries) == (2, 1)
    assert [e.seq for e in store.audit(REGION)] == [3, 2, 1]
    lines = lines_of(store)
    write_lines(store, [lines[0].replace("Vanha", "Uusi"), *lines[1:]])
    assert "link to the entry before it is broken" in problems(store.check_audit(REGION))


def test_a_write_cut_short_is_told_not_taken_for_tampering(loaded: Any) -> None:
    if not isinstance(loaded, FileStore):
        pytest.skip("a torn append is a file store's matter (PostgreSQL's writes are atomic)")
    with open(loaded.root / "audit" / f"{REGION}.jsonl", "ab") as handle:
        handle.write(b'{"region": "helsinki", "seq": 2, "act')  # killed mid-append
    loaded.save_facility(REGION, clinic(), "health-bureau", create=True)
    report = loaded.check_audit(REGION)
    assert report.intact, problems(report)
    assert [str(w).split(":")[0] for w in report.warnings] == ["line 2"]
    assert [e.seq for e in loaded.audit(REGION)] == [2, 1]


# -- append-only on PostGIS ----------------------------------------------------------------


@pytest.mark.postgis
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE facility_audit SET actor = 'x'",
        "DELETE FROM facility_audit",
        "TRUNCATE facility_audit",
    ],
)
def test_the_app_role_cannot_change_or_delete_entries(
    postgis_url: str, sample_data: RegionData, statement: str
) -> None:
    pg = empty_postgis(postgis_url)
    pg.save_region(sample_data)
    conninfo = pg.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)
    assert [e.action for e in pg.audit(REGION)] == ["load"]
    assert pg.check_audit(REGION).intact


@pytest.mark.postgis
def test_the_migration_chains_the_rows_written_before_it(
    make_database: Callable[..., str],
) -> None:
    url = make_database(upgraded=False)
    upgrade(url, "0005")
    conninfo = url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(conninfo) as conn:
        for region, action in (("a", "create"), ("b", "create"), ("a", "update"), ("a", "status")):
            conn.execute(
                "INSERT INTO facility_audit (region, facility_id, action, actor, at, before, "
                "after) VALUES (%s, 'x:1', %s, 'x', now(), NULL, %s::jsonb)",
                [region, action, json.dumps({"n": 1.0, "z": -0.0, "big": 1e20, "f": 0.25})],
            )
    assert upgrade(url) == SCHEMA_REVISION
    pg = PostgisStore(url)
    assert pg.audit_logs() == ["a", "b"]
    assert [e.seq for e in pg.audit("a")] == [3, 2, 1]
    for log in ("a", "b"):
        assert pg.check_audit(log).intact, problems(pg.check_audit(log))
    with pytest.raises(DBAPIError, match="append-only"):
        with pg.engine.begin() as conn:
            conn.execute(text("DELETE FROM facility_audit"))


# -- livingcircle audit verify / list ------------------------------------------------------


def cli(where: str, *args: str) -> Any:
    option = "--data-dir" if not where.startswith("postgresql") else "--database"
    return CliRunner().invoke(app, ["audit", *args, option, where])


def test_audit_verify_and_list_on_the_command_line(
    open_store: tuple[str, Callable[[], Store]], sample_data: RegionData
) -> None:
    where, opener = open_store
    store = trail(opener())
    store.save_region(sample_data)
    three_edits(store)
    ok = cli(where, "verify")
    assert ok.exit_code == 0, ok.output
    assert "intact" in ok.output and "4 entries" in ok.output
    head = ok.output.split("helsinki ")[-1].split()[0]
    assert cli(where, "verify", "--head", head).exit_code == 0
    cut = cli(where, "verify", "--head", "0123456789abcdef")
    assert cut.exit_code == 1 and "not in any log" in cut.output
    listed = cli(where, "list", "--region", REGION, "--json")
    assert listed.exit_code == 0, listed.output
    assert [e["action"] for e in json.loads(listed.output)] == [
        "delete",
        "update",
        "create",
        "load",
    ]
    if isinstance(store, FileStore):
        tamper_file(store, "removed")
    else:
        tamper_postgis(store, "removed")
    broken = cli(where, "verify")
    assert broken.exit_code == 1
    assert "helsinki" in broken.output and "entry 3 before it is missing" in broken.output
