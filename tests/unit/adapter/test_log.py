"""Logging: JSON lines, and personal data never reaches the output (TA-SEC-01)."""

from __future__ import annotations

import io
import json

from hypothesis import given
from hypothesis import strategies as st

from adapter.log import REDACTED, configure_logging, get_logger, redact_personal_data


def test_json_lines_keep_ids_and_redact_everything_else() -> None:
    """Allow-listed keys pass; a name logged by mistake is replaced by [redacted]."""
    out = io.StringIO()
    configure_logging(fmt="json", stream=out)
    get_logger("test").info("record.held", message_id="ab" * 16, rule="BR-05", given_name="Amelia")
    line = json.loads(out.getvalue())
    assert line["event"] == "record.held"
    assert line["message_id"] == "ab" * 16 and line["rule"] == "BR-05"
    assert line["given_name"] == REDACTED
    assert "Amelia" not in out.getvalue()


def test_level_filter_drops_debug() -> None:
    """At level info, debug events are not written."""
    out = io.StringIO()
    configure_logging(level="info", fmt="json", stream=out)
    get_logger("test").debug("noise", count=1)
    assert out.getvalue() == ""


@given(key=st.text(min_size=1, max_size=20), value=st.text(min_size=4, max_size=30))
def test_unknown_keys_never_pass(key: str, value: str) -> None:
    """For any key not on the allow-list, its value never survives redaction."""
    from adapter.log import SAFE_KEYS

    event = {"event": "x", key: value}
    result = redact_personal_data(None, "info", event)
    if key not in SAFE_KEYS:
        assert result[key] == REDACTED


def test_logger_created_before_configuration_follows_it() -> None:
    """A module-level logger made before configure_logging still redacts and writes JSON."""
    import structlog

    structlog.reset_defaults()
    early = get_logger("early.module")
    out = io.StringIO()
    configure_logging(fmt="json", stream=out)
    early.info("late.event", count=2, surname="Smith")
    line = json.loads(out.getvalue())
    assert line["module"] == "early.module"
    assert line["surname"] == REDACTED
