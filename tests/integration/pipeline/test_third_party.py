"""Third-party CIN census and SSDA903 returns (../shared/testdata) through the whole feed.

Each record maps to schema-valid LDI or is held with a rule id, and no value from a
case-information element of those files (need codes, referral sources, assessments, placement
type, provider and postcode, reasons, reviews) appears in anything the feed produced.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import structlog
import yaml
from lxml import etree

from adapter.config import load_config
from adapter.held import list_held
from adapter.pipeline import run_sources
from ldi.safexml import parse_bytes
from ldi.schema import validate_tree
from outbox import migrations
from outbox.service import open_outbox, store_engine
from tests.integration.pipeline.conftest import REPO, Feed, write_config

CIN_CASE_ELEMENTS = (
    "ReferralSource",
    "PrimaryNeedCode",
    "ReasonForClosure",
    "AssessmentFactors",
    "InitialCategoryOfAbuse",
    "LatestCategoryOfAbuse",
    "Disability",
    "Ethnicity",
    "AssessmentActualStartDate",
    "AssessmentAuthorisationDate",
    "S47ActualStartDate",
    "CPPstartDate",
    "CPPreviewDate",
    "DateOfInitialCPC",
)
SSDA903_CASE_COLUMNS = ("PL_POST", "PLACE_PROVIDER", "REASON_PLACE_CHANGE", "URN")


def _cin_case_values(shared: Path) -> set[str]:
    values: set[str] = set()
    for path in (shared / "cin").glob("*.xml"):
        for element in etree.parse(str(path)).iter():
            named = isinstance(element.tag, str) and etree.QName(element).localname
            if named in CIN_CASE_ELEMENTS and element.text and len(element.text.strip()) >= 3:
                values.add(element.text.strip())
    return values


def _ssda903_case_values(shared: Path) -> set[str]:
    with (shared / "ssda903" / "episodes.csv").open(newline="") as handle:
        return {
            row[c].strip()
            for row in csv.DictReader(handle)
            for c in SSDA903_CASE_COLUMNS
            if row[c] and len(row[c].strip()) >= 5
        }


def _named_variant(mapping: Path, target: Path) -> Path:
    """The shipped mapping plus a placeholder name, so records reach the gate and the XML."""
    spec = yaml.safe_load(mapping.read_text())
    spec["items"]["Child.Name.GivenName"] = {"const": "Unnamed"}
    spec["items"]["Child.Name.FamilyName"] = {"const": "Child"}
    target.write_text(yaml.safe_dump(spec))
    return target


def _feed(tmp: Path, shared: Path, *, named: bool) -> Feed:
    drop = tmp / "drop"
    (drop / "cin").mkdir(parents=True)
    (drop / "903").mkdir(parents=True)
    for path in (shared / "cin").glob("*.xml"):
        shutil.copy(path, drop / "cin" / path.name)
    for name in ("header.csv", "episodes.csv"):
        shutil.copy(shared / "ssda903" / name, drop / "903" / name)
    cin_map = REPO / "mappings" / "cin-census.yaml"
    lac_map = REPO / "mappings" / "ssda903.yaml"
    if named:
        cin_map = _named_variant(cin_map, tmp / "cin-named.yaml")
        lac_map = _named_variant(lac_map, tmp / "903-named.yaml")
    sources = [
        {
            "name": "cin",
            "kind": "localdir",
            "source_system": "CIN891",
            "mapping": str(cin_map),
            "snapshot": "incremental",
            "options": {"path": str(drop / "cin"), "format": "cin", "stable_seconds": 0},
        },
        {
            "name": "lac",
            "kind": "localdir",
            "source_system": "LAC891",
            "mapping": str(lac_map),
            "snapshot": "incremental",
            "options": {"path": str(drop / "903"), "format": "ssda903", "stable_seconds": 0},
        },
    ]
    config = load_config(write_config(tmp, sources))
    engine = store_engine(config.store, base=tmp)
    migrations.upgrade(engine)
    engine.dispose()
    return Feed(config, tmp, open_outbox(config.store, base=tmp), drop)


def _everything_produced(feed: Feed, runs: list[object]) -> bytes:
    held = list_held(feed.outbox.engine)
    parts = [xml for _, xml in feed.queued()]
    parts.append(json.dumps([r.as_dict() for r in runs]).encode())  # type: ignore[attr-defined]
    parts.extend(json.dumps([h.provenance, [b.message for b in h.breaches]]).encode() for h in held)
    return b"\n".join(parts)


def test_shipped_mappings_hold_nameless_returns_with_rule_ids(
    tmp_path: Path, shared_testdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CIN and SSDA903 carry no names: every record is held with LDI-MSG-01 (or BR-*), none lost."""
    monkeypatch.chdir(tmp_path)
    feed = _feed(tmp_path, shared_testdata, named=False)
    try:
        runs = run_sources(feed.config, feed.outbox, base=feed.base)
        assert [r.status for r in runs] == ["ok", "ok"]
        for run in runs:
            assert run.counts.read > 0 and run.counts.balanced
            assert run.counts.held == run.counts.read
        cin = runs[0]
        assert cin.counts.quarantined == 1  # CIN_Census_2024.xml: a faulty Child set aside
        held = list_held(feed.outbox.engine)
        assert all("LDI-MSG-01" in h.rules for h in held)
        assert all(h.provenance for h in held)
        with (shared_testdata / "ssda903" / "header.csv").open(newline="") as handle:
            children = {row["CHILD"] for row in csv.DictReader(handle)}
        assert runs[1].counts.read == len(children)
    finally:
        feed.outbox.close()
        structlog.reset_defaults()


def test_named_variant_produces_valid_ldi_without_case_information(
    tmp_path: Path, shared_testdata: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a placeholder name, records are queued schema-valid or held; no case value leaks."""
    monkeypatch.chdir(tmp_path)
    feed = _feed(tmp_path, shared_testdata, named=True)
    try:
        runs = run_sources(feed.config, feed.outbox, base=feed.base)
        assert all(r.counts.balanced for r in runs)
        queued = feed.queued()
        # Most sample UPNs are random (they fail the DfE check letter, BR-05) and many of the
        # children are adults by now (BR-02): a few dozen remain sendable.
        assert len(queued) == sum(r.counts.upserts for r in runs) > 20
        wrapper = (
            b'<SubmissionBatch xmlns="urn:contactpoint:ldi:1" batchId="00000000-0000-4000-8000-'
            b'000000000000" schemaVersion="1.0" accountableBody="891" sourceSystem="LAC891" '
            b'createdAt="2026-11-21T02:00:00+00:00">%s</SubmissionBatch>'
        )
        for _, xml in queued:
            assert validate_tree(parse_bytes(wrapper % xml)) == []
        produced = _everything_produced(feed, runs)
        case_values = _cin_case_values(shared_testdata) | _ssda903_case_values(shared_testdata)
        assert len(case_values) > 50
        leaked = sorted(v for v in case_values if v.encode() in produced)
        assert leaked == []
        held_rules = {rule for h in list_held(feed.outbox.engine) for rule in h.rules}
        assert held_rules <= {"BR-02", "BR-05", "BR-06", "LDI-MSG-01"}
    finally:
        feed.outbox.close()
        structlog.reset_defaults()
