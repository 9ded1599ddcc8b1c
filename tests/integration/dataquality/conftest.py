"""A seeded demo authority (300 children, SQL + CTF sources) and its data quality report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapter.config import AdapterConfig, load_config
from adapter.dataquality import QualityReport, assess
from demo.seed import seed_demo

REPO = Path(__file__).resolve().parents[3]
CHILDREN = 300
RUN_AT = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # the day after the demo's reference date


@dataclass(frozen=True)
class Demo:
    """The seeded folder, the config over it and the report of every source."""

    base: Path
    config_path: Path
    config: AdapterConfig
    report: QualityReport

    @property
    def demo(self) -> Path:
        return self.base / "var" / "demo"


def sources(demo: Path) -> list[dict[str, Any]]:
    """The committed config's SQL and school sources, reading ``demo`` by absolute path."""
    committed = yaml.safe_load((REPO / "config.yaml").read_text())["sources"]
    chosen = [s for s in committed if s["name"] in ("frameworki", "raise", "schools")]
    for source in chosen:
        source["mapping"] = str(REPO / source["mapping"])
        options = source["options"]
        if source["kind"] == "sql":
            options["url"] = options["url"].replace("sqlite:///var/demo", f"sqlite:///{demo}")
        else:
            options["path"] = str(demo / "ctf")
    return chosen


def write_config(base: Path, demo: Path, quality: dict[str, Any] | None = None) -> Path:
    """A config.yaml in ``base`` over the demo, with optional ``quality`` settings."""
    config: dict[str, Any] = {
        "organisation": {"la_code": "891", "name": "Test authority"},
        "sources": sources(demo),
    }
    if quality is not None:
        config["quality"] = quality
    path = base / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo seeded once per session, assessed once with every failing row kept."""
    base = tmp_path_factory.mktemp("dq")
    demo = base / "var" / "demo"
    seed_demo(demo, children=CHILDREN)
    path = write_config(base, demo, {"max_failing_rows": 100_000})
    config = load_config(path)
    report = assess(config, base=base, run_at=RUN_AT)
    return Demo(base, path, config, report)
