"""Alerts reach a local SMTP sink and a webhook receiver once per incident, then recover."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from adapter.config import AlertsConfig, SmtpChannelConfig, WebhookChannelConfig
from adapter.service.alerts import AlertManager, channels_for, evaluate
from tests.fixtures.hub import free_port
from tests.unit.service.helpers import snapshot, source


class _Sink:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_sink() -> Iterator[tuple[int, _Sink]]:
    """An SMTP server on loopback that keeps what it receives."""
    sink = _Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, sink
    finally:
        controller.stop()


def test_a_failed_feed_is_announced_once_and_its_recovery_once(
    tmp_path: Path, smtp_sink: tuple[int, _Sink], webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    """feed failed: one e-mail and one webhook call over three checks, then one recovery each."""
    port, sink = smtp_sink
    url, hooks = webhook
    config = AlertsConfig(
        smtp=SmtpChannelConfig(host="127.0.0.1", port=port, recipients=["ict@example.org"]),
        webhook=WebhookChannelConfig(url=url, token="t0ken"),
    )
    manager = AlertManager(
        channels_for(config), tmp_path / "alerts.json", organisation="Test", la_code="891"
    )
    failing = snapshot(source(), source("raise", "failed"))
    for _ in range(3):
        manager.check(evaluate(failing, config))
    assert len(sink.messages) == 1
    assert sink.messages[0]["Subject"] == "[cpadapter 891] ALERT: feed failed: raise"
    assert [h["status"] for h in hooks] == ["firing"]
    assert hooks[0]["alert"] == "feed_failed:raise"
    assert hooks[0]["_auth"] == "Bearer t0ken"
    # A restarted service (new manager, same state file) does not announce it again.
    again = AlertManager(
        channels_for(config), tmp_path / "alerts.json", organisation="Test", la_code="891"
    )
    again.check(evaluate(failing, config))
    assert len(sink.messages) == 1 and len(hooks) == 1
    healthy = snapshot(source(), source("raise"))
    again.check(evaluate(healthy, config))
    again.check(evaluate(healthy, config))
    assert len(sink.messages) == 2
    assert sink.messages[1]["Subject"] == "[cpadapter 891] RESOLVED: feed failed: raise"
    assert [h["status"] for h in hooks] == ["firing", "resolved"]
    assert json.loads((tmp_path / "alerts.json").read_text()) == {}


def test_a_channel_that_was_down_gets_the_alert_later_without_repeating_the_other(
    tmp_path: Path, smtp_sink: tuple[int, _Sink], webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    """Webhook unreachable at first: e-mail once; the webhook gets it once it is back."""
    port, sink = smtp_sink
    url, hooks = webhook
    dead = WebhookChannelConfig(url=f"http://127.0.0.1:{free_port()}/hook", timeout_seconds=2)
    smtp = SmtpChannelConfig(host="127.0.0.1", port=port, recipients=["ict@example.org"])
    state = tmp_path / "alerts.json"
    parked = snapshot(parked={"REJECTED": 3})
    first = AlertsConfig(smtp=smtp, webhook=dead)
    AlertManager(channels_for(first), state, organisation="T", la_code="891").check(
        evaluate(parked, first)
    )
    assert len(sink.messages) == 1 and hooks == []
    second = AlertsConfig(smtp=smtp, webhook=WebhookChannelConfig(url=url))
    AlertManager(channels_for(second), state, organisation="T", la_code="891").check(
        evaluate(parked, second)
    )
    assert len(sink.messages) == 1
    assert [(h["alert"], h["status"]) for h in hooks] == [("parked", "firing")]
    assert "3 parked entries" in hooks[0]["detail"]
