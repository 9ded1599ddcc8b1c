"""Session-wide fixtures shared by unit and integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.databases", "tests.fixtures.sshd", "tests.fixtures.hub"]

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_TESTDATA = (REPO_ROOT.parent / "shared" / "testdata").resolve()


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    """The read-only third-party samples in ../shared/testdata (CIN, SSDA903, identifiers)."""
    if not SHARED_TESTDATA.is_dir():
        pytest.fail(
            f"third-party test data not found at {SHARED_TESTDATA}; CI clones it beside main"
        )
    return SHARED_TESTDATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root, for bundled examples and config."""
    return REPO_ROOT
