"""`cpadapter preview`: source fields beside the LDI XML, masked by default; changes nothing."""

from __future__ import annotations

import json

from click.testing import CliRunner

from adapter.cli import main
from tests.integration.pipeline.conftest import Feed


def _preview(feed: Feed, *arguments: str) -> list[dict[str, object]]:
    config = str(feed.base / "config.yaml")
    result = CliRunner().invoke(main, ["preview", *arguments, "--config", config, "--json"])
    assert result.exit_code == 0, result.output
    # The JSON is the last line; log lines, if the command logs anything, come before it.
    shown: list[dict[str, object]] = json.loads(result.output.strip().splitlines()[-1])
    return shown


def test_preview_masks_personal_data_unless_asked(feed: Feed) -> None:
    """By default no source value or XML text appears; --show-personal-data shows them."""
    masked = _preview(feed, "frameworki", "--limit", "3")
    shown = _preview(feed, "frameworki", "--limit", "3", "--show-personal-data")
    assert [m["key"] for m in masked] == [s["key"] for s in shown]
    sent = [s for s in shown if s["verdict"] == "send"]
    assert sent, "the demo's first children include one that is sent"
    for plain, hidden in zip(shown, masked, strict=True):
        assert plain["fields"] != hidden["fields"]
        surname = plain["fields"]["surname"]  # type: ignore[index]
        assert surname not in json.dumps(hidden)
        if plain["xml"]:
            assert surname in str(plain["xml"])
            assert "***" in str(hidden["xml"])


def test_preview_of_one_record_from_a_file_drop_moves_no_file(feed: Feed) -> None:
    """--record reads the whole drop to find the key, and archives and remembers nothing."""
    drop = feed.demo / "ctf"
    files = sorted(p.name for p in drop.glob("*.xml"))
    first = _preview(feed, "schools", "--limit", "1", "--show-personal-data")[0]
    found = _preview(feed, "schools", "--record", str(first["key"]))
    assert [f["key"] for f in found] == [first["key"]]
    assert sorted(p.name for p in drop.glob("*.xml")) == files
    assert not list(drop.glob("archive/*.xml"))
