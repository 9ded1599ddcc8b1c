"""The SQL connector on real SQLite, PostgreSQL and MariaDB databases holding the demo systems.

The demo Frameworki-like and Raise-like databases are read with the options of
examples/sources-sql.yaml, so these tests also prove the shipped example configuration.
Expected values come from the demo population, not from the databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from connectors.base import ReadReport, SourceRecord
from connectors.sql import SqlConnector, watermark_text
from demo import frameworki, raise_db
from demo.sqlload import REFERENCE_TIME
from ldi.errors import SourceError
from tests.fixtures.databases import DatabaseFactory, DemoDatabases
from tests.integration.connectors.sql_support import CASE_COLUMNS, example_options, sql_connector


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """A private state directory for the connector."""
    return tmp_path / "state"


def _read(connector: SqlConnector, since: str | None = None) -> list[SourceRecord]:
    try:
        return list(connector.read(ReadReport(), since=since))
    finally:
        connector.close()


@pytest.fixture
def engine_of() -> Iterator[list[Engine]]:
    """Collects plain engines opened by a test and disposes them."""
    engines: list[Engine] = []
    yield engines
    for engine in engines:
        engine.dispose()


def test_frameworki_children_with_related_rows_and_provenance(
    demo_databases: DemoDatabases, state_dir: Path
) -> None:
    """Every client is read once with its carers, involvements, schools, consents, provenance."""
    records = _read(
        sql_connector(demo_databases.frameworki_url, example_options("frameworki"), state_dir)
    )
    social = [c for c in demo_databases.children if c.in_social_care]
    duplicates = [c for c in social if "duplicate_in_source" in c.traits]
    assert len(records) == len(social) + len(duplicates)
    keys = [int(r.key) for r in records]
    assert keys == sorted(keys)
    by_key = {r.key: r for r in records}
    for child in social:
        record = by_key[str(frameworki.person_id_for(child))]
        assert str(record.provenance) == f"person key={frameworki.person_id_for(child)}"
        assert record.fields["forename"] == child.given_name
        assert record.fields["postcode"] in {
            child.postcode,
            None if child.postcode is None else child.postcode.replace(" ", "").lower(),
        }
        carers = record.related["carers"]
        assert sorted(c["forename"] for c in carers) == sorted(c.given_name for c in child.carers)
        involvements = record.related["involvements"]
        assert len(involvements) == 1 + (child.sensitive_service is not None)
        assert len(record.related["schools"]) == (child.school is not None)
        assert len(record.related["consents"]) == (child.participation_consent is not None)
    for child in duplicates:
        twin = by_key[str(frameworki.duplicate_id_for(child))]
        assert twin.fields["surname"] == child.family_name.upper()
        assert twin.related["carers"] == []


def test_raise_young_people_with_keyworkers_and_contacts(
    demo_databases: DemoDatabases, state_dir: Path
) -> None:
    """Raise is read by table + columns with text keys; contacts and keyworkers are attached."""
    records = _read(
        sql_connector(demo_databases.raise_url, example_options("raise"), state_dir, "raise")
    )
    youth = [c for c in demo_databases.children if c.in_youth_service]
    assert len(records) == len(youth) == demo_databases.raise_rows["young_person"]
    assert [r.key for r in records] == sorted(r.key for r in records)
    by_key = {r.key: r for r in records}
    for child in youth:
        record = by_key[raise_db.yp_id_for(child)]
        assert str(record.provenance) == f"young_person key={raise_db.yp_id_for(child)}"
        assert record.fields["first_name"] == (child.variant_given_name or child.given_name)
        assert len(record.related["contacts"]) == len(child.carers)
        sensitive_here = child.sensitive_service is not None and not child.in_social_care
        assert len(record.related["keyworkers"]) == 1 + sensitive_here


def test_case_information_is_never_read(demo_databases: DemoDatabases, state_dir: Path) -> None:
    """No case-information column reaches a record, its fields or its related rows."""
    for url, source in (
        (demo_databases.frameworki_url, "frameworki"),
        (demo_databases.raise_url, "raise"),
    ):
        for record in _read(sql_connector(url, example_options(source), state_dir, source)):
            assert not CASE_COLUMNS & set(record.fields)
            for rows in record.related.values():
                for row in rows:
                    assert not CASE_COLUMNS & set(row)


def test_deleted_flag_and_watermark_marker(
    demo_databases: DemoDatabases, state_dir: Path, engine_of: list[Engine]
) -> None:
    """deleted_flag='Y' rows are marked deleted and the change marker is the watermark."""
    records = _read(
        sql_connector(demo_databases.frameworki_url, example_options("frameworki"), state_dir)
    )
    engine = create_engine(demo_databases.frameworki_url)
    engine_of.append(engine)
    with engine.connect() as connection:
        flagged = {
            str(pid)
            for (pid,) in connection.execute(
                text(
                    "SELECT person_id FROM person "
                    "WHERE deleted_flag = 'Y' AND person_type = 'CLIENT'"
                )
            )
        }
    assert flagged, "the demo population should contain deleted records"
    assert {r.key for r in records if r.deleted} == flagged
    for record in records:
        assert record.change_marker == watermark_text(record.fields["last_modified"])


def test_raise_archived_flag_is_deleted(demo_databases: DemoDatabases, state_dir: Path) -> None:
    """An integer flag (is_archived = 1) maps to SourceRecord.deleted."""
    records = _read(
        sql_connector(demo_databases.raise_url, example_options("raise"), state_dir, "raise")
    )
    assert {r.key for r in records if r.deleted} == {
        r.key for r in records if r.fields["is_archived"] == 1
    }
    assert any(r.deleted for r in records) and not all(r.deleted for r in records)


def test_sessions_are_read_only(demo_databases: DemoDatabases, state_dir: Path) -> None:
    """A write through the connector's session fails, in the first and in a later transaction."""
    connector = sql_connector(
        demo_databases.frameworki_url, example_options("frameworki"), state_dir
    )
    try:
        with connector.read_only_connection() as connection:
            for _ in range(2):
                with pytest.raises(DBAPIError):
                    connection.execute(text("UPDATE person SET forename = 'Written'"))
                connection.rollback()
            with pytest.raises(DBAPIError):
                connection.execute(text("CREATE TABLE intruder (x INTEGER)"))
    finally:
        connector.close()
    records = _read(
        sql_connector(demo_databases.frameworki_url, example_options("frameworki"), state_dir)
    )
    assert all(r.fields["forename"] != "Written" for r in records)


def test_incremental_read_returns_only_changed_children(
    fresh_demo_databases: DemoDatabases, state_dir: Path, engine_of: list[Engine]
) -> None:
    """With a watermark, a read since the last value returns exactly the changed children."""
    url = fresh_demo_databases.frameworki_url
    first = _read(sql_connector(url, example_options("frameworki"), state_dir))
    since = max(r.change_marker for r in first)
    assert _read(sql_connector(url, example_options("frameworki"), state_dir), since) == []
    with_carers = next(r for r in first if r.related["carers"] and not r.deleted)
    closed = next(r for r in first if not r.deleted and r.key != with_carers.key)
    later = REFERENCE_TIME + timedelta(days=1)
    engine = create_engine(url)
    engine_of.append(engine)
    carer_id = next(c["relationship_id"] for c in with_carers.related["carers"])
    with engine.begin() as connection:
        connection.execute(
            update(frameworki.person)
            .where(frameworki.person.c.person_id == int(closed.key))
            .values(deleted_flag="Y", last_modified=later)
        )
        connection.execute(
            update(frameworki.person_relationship)
            .where(frameworki.person_relationship.c.relationship_id == carer_id)
            .values(lives_with="N", last_modified=later)
        )
        adult = connection.execute(
            text("SELECT related_person_id FROM person_relationship WHERE relationship_id = :r"),
            {"r": carer_id},
        ).scalar_one()
        connection.execute(
            update(frameworki.person)
            .where(frameworki.person.c.person_id.in_([adult, int(with_carers.key)]))
            .values(phone="0115 496 0999", last_modified=later)
        )
    changed = _read(sql_connector(url, example_options("frameworki"), state_dir), since)
    assert sorted(r.key for r in changed) == sorted([closed.key, with_carers.key])
    by_key = {r.key: r for r in changed}
    assert by_key[closed.key].deleted
    assert not by_key[with_carers.key].deleted
    phones = {c["phone"] for c in by_key[with_carers.key].related["carers"]}
    assert "0115 496 0999" in phones
    assert len(by_key[with_carers.key].related["carers"]) == len(with_carers.related["carers"])
    assert all(r.change_marker > since for r in changed)


def test_content_hash_marks_changes_without_a_watermark(
    fresh_demo_databases: DemoDatabases, state_dir: Path, engine_of: list[Engine]
) -> None:
    """Without a watermark: content-hash markers, stable, moved by a related change; full reads."""
    options = example_options("frameworki")
    del options["watermark"]
    url = fresh_demo_databases.frameworki_url
    first = {r.key: r.change_marker for r in _read(sql_connector(url, options, state_dir))}
    again = {r.key: r.change_marker for r in _read(sql_connector(url, options, state_dir))}
    assert first == again
    assert all(len(m) == 64 for m in first.values())
    ignored_since = _read(sql_connector(url, options, state_dir), since="2999-01-01")
    assert len(ignored_since) == len(first)  # no watermark: since cannot filter, read is full
    engine = create_engine(url)
    engine_of.append(engine)
    with engine.begin() as connection:
        row = connection.execute(
            text("SELECT person_id, related_person_id FROM person_relationship ORDER BY 1")
        ).first()
        assert row is not None
        connection.execute(
            text("UPDATE person SET email = 'new@example.org.uk' WHERE person_id = :p"),
            {"p": row.related_person_id},
        )
    after = {r.key: r.change_marker for r in _read(sql_connector(url, options, state_dir))}
    assert {k for k in first if first[k] != after[k]} == {str(row.person_id)}


def test_duplicate_child_keys_are_quarantined(
    demo_databases: DemoDatabases, state_dir: Path
) -> None:
    """A child query returning a key twice keeps the first row and quarantines the repeat."""
    options = {
        "name": "person_addresses",
        "query": "SELECT p.person_id, a.address_type FROM person p "
        "JOIN person_address a ON a.person_id = p.person_id",
        "key": "person_id",
        "key_type": "integer",
    }
    connector = sql_connector(demo_databases.frameworki_url, options, state_dir)
    report = ReadReport()
    try:
        records = list(connector.read(report))
    finally:
        connector.close()
    assert len({r.key for r in records}) == len(records)
    assert report.quarantined
    assert (
        len(records) + len(report.quarantined) == demo_databases.frameworki_rows["person_address"]
    )
    item = report.quarantined[0]
    assert item.code == "SRC-DUPLICATE-KEY"
    assert item.origin.startswith("person_addresses key=")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_text_keys_join_whatever_the_database_collation(
    backend: str, database_factory: DatabaseFactory, state_dir: Path, engine_of: list[Engine]
) -> None:
    """Mixed-case, accented and numeric text keys join correctly (code-point order everywhere)."""
    url = database_factory.create(backend, f"collation_{backend}")
    engine = create_engine(url)
    engine_of.append(engine)
    keys = ["a", "B", "c", "Z", "é", "Ö", "10", "9", "_x"]  # distinct even case-insensitively
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE kid (k VARCHAR(10) PRIMARY KEY, n INTEGER)"))
        connection.execute(text("CREATE TABLE rel (k VARCHAR(10), v VARCHAR(20))"))
        for i, key in enumerate(keys):
            connection.execute(text("INSERT INTO kid VALUES (:k, :n)"), {"k": key, "n": i})
            for j in range(i % 3):
                connection.execute(
                    text("INSERT INTO rel VALUES (:k, :v)"), {"k": key, "v": f"{key}{j}"}
                )
    options = {
        "table": "kid",
        "columns": ["k", "n"],
        "key": "k",
        "related": {"rel": {"table": "rel", "columns": ["k", "v"], "key": "k"}},
    }
    records = _read(sql_connector(url, options, state_dir))
    assert [r.key for r in records] == sorted(keys)
    for record in records:
        i = keys.index(record.key)
        assert sorted(row["v"] for row in record.related["rel"]) == [
            f"{record.key}{j}" for j in range(i % 3)
        ]


def test_integer_key_type_on_text_keys_is_a_clear_error(
    demo_databases: DemoDatabases, state_dir: Path
) -> None:
    """key_type integer on non-numeric keys fails with SRC-KEY, naming the source, no value."""
    options = example_options("raise") | {"key_type": "integer"}
    with pytest.raises(SourceError) as caught:
        _read(sql_connector(demo_databases.raise_url, options, state_dir, "raise"))
    assert caught.value.code == "SRC-KEY"
    assert "source 'raise'" in str(caught.value)
    assert "RY0" not in str(caught.value)


def test_sample_reads_the_first_children_only(
    demo_databases: DemoDatabases, state_dir: Path
) -> None:
    """sample(n) returns the first n children by key, related rows attached."""
    connector = sql_connector(
        demo_databases.frameworki_url, example_options("frameworki"), state_dir
    )
    try:
        sample = connector.sample(3)
        assert len(sample) == 3
        everything = list(connector.read(ReadReport()))
    finally:
        connector.close()
    assert [r.key for r in sample] == [r.key for r in everything[:3]]
    assert sample[0].related == everything[0].related
