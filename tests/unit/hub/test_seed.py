"""Seeding the national index: the JSON-lines format, and the synthetic generator."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from adapter.cli import main
from hub.matching import normalise_name
from hub.national import NationalChild
from hub.seed import SeedFileError, read_seed_file, to_seed_line
from hub.synthetic import national_children, record_for
from ldi import identifiers as ids
from ldi.rules import check_record
from tests.fixtures.hub import CASES, TODAY


def test_seed_lines_round_trip() -> None:
    """A record written as a seed line reads back equal."""
    for child in CASES.values():
        assert NationalChild.model_validate_json(to_seed_line(child)) == child


def test_bad_lines_are_reported_by_number_and_field_without_values(tmp_path: Path) -> None:
    """Each bad line is named with its field; the offending value is never quoted."""
    good = to_seed_line(CASES["by_nhs"])
    bad_nhs = json.loads(good) | {"nhsNumber": "9434765918", "contactPointId": None}
    path = tmp_path / "seed.jsonl"
    path.write_text(
        "\n".join([good, "# a comment", "", json.dumps(bad_nhs), "{not json", '{"givenName": "X"}'])
    )
    with pytest.raises(SeedFileError) as caught:
        read_seed_file(path)
    problems = caught.value.problems
    assert any(p.startswith("line 4: nhsNumber") for p in problems)
    assert any(p.startswith("line 5:") for p in problems)
    assert any(p.startswith("line 6: accountableBody") for p in problems)
    assert "9434765918" not in str(caught.value)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**31), la=st.sampled_from(["891", "815", "886"]))
def test_synthetic_children_are_valid_and_reproducible(seed: int, la: str) -> None:
    """Every generated identifier passes its check; the same seed gives the same children."""
    children = national_children(60, seed=seed, la_code=la, on=TODAY)
    assert children == national_children(60, seed=seed, la_code=la, on=TODAY)
    for child in children:
        assert child.nhs_number is None or ids.is_valid_nhs_number(child.nhs_number)
        assert child.upn is None or ids.is_valid_upn(child.upn)
        assert child.postcode is not None
        assert ids.is_valid_postcode(child.postcode)
        assert child.accountable_body == la
        assert 0 <= (TODAY - child.birth_date).days <= 18 * 365
    records = [
        record_for(c, message_id=f"{i:032x}", source_record_id=f"S{i}")
        for i, c in enumerate(children)
    ]
    assert all(check_record(r, TODAY) == [] for r in records), "generated records break no rule"


def test_synthetic_population_has_twins_and_former_names() -> None:
    """Enough twins (MultipleMatch material) and former names (step-3 through OtherName)."""
    children = national_children(2000, seed=5, on=TODAY)
    keys = Counter(
        (c.birth_date, normalise_name(c.family_name), normalise_name(c.given_name)[0])
        for c in children
    )
    assert sum(1 for n in keys.values() if n > 1) >= 20
    assert sum(1 for c in children if c.other_names) >= 80


def test_seed_command_from_file_and_synthetic(tmp_path: Path) -> None:
    """`cpadapter hub seed` fills the store from a file or the generator; bad input exits 2."""
    config = tmp_path / "hub.yaml"
    config.write_text(
        "tls: {certificate: hub.pem, key: hub.key, client_ca: ca.pem}\n"
        f"store: {{url: 'sqlite:///{tmp_path / 'hub.db'}'}}\nlog_level: warning\n"
    )
    seed = tmp_path / "seed.jsonl"
    seed.write_text("\n".join(to_seed_line(c) for c in CASES.values()))
    runner = CliRunner()
    result = runner.invoke(main, ["hub", "seed", "--config", str(config), "--from", str(seed)])
    assert result.exit_code == 0, result.output
    assert f"seeded {len(CASES)} national records" in result.stdout
    result = runner.invoke(
        main, ["hub", "seed", "--config", str(config), "--synthetic", "50", "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    status = runner.invoke(main, ["hub", "status", "--config", str(config), "--json"])
    assert json.loads(status.stdout)["nationalRecords"] == len(CASES) + 50
    seed.write_text('{"givenName": "X"}\n')
    bad = runner.invoke(main, ["hub", "seed", "--config", str(config), "--from", str(seed)])
    assert bad.exit_code == 2
    both = runner.invoke(main, ["hub", "seed", "--config", str(config)])
    assert both.exit_code == 2
