"""Helpers for the SQL connector tests: the example options pointed at a test database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from connectors.base import ConnectorContext
from connectors.sql import SqlConnector
from connectors.sql_config import SqlConfig

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sources-sql.yaml"

#: Case information columns of the demo databases: they must never be read.
CASE_COLUMNS = frozenset(
    {
        "case_notes",
        "referral_reason",
        "involvement_reason",
        "assessment_outcome",
        "identified_needs",
        "needs_notes",
        "risk_assessment",
        "session_notes",
    }
)


def example_options(source: str) -> dict[str, Any]:
    """The ``options`` of ``source`` in examples/sources-sql.yaml, as a fresh dict."""
    sources = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["sources"]
    options: dict[str, Any] = next(s["options"] for s in sources if s["name"] == source)
    return options


def sql_connector(
    url: str, options: dict[str, Any], state_dir: Path, name: str = "frameworki"
) -> SqlConnector:
    """A connector on ``url`` with ``options`` (the example's url replaced)."""
    config = SqlConfig.model_validate({**options, "url": url})
    return SqlConnector(config, ConnectorContext(name, state_dir))
