"""Alerts by e-mail (SMTP) and a generic JSON webhook: once per incident, then a recovery.

:func:`evaluate` turns a :class:`Snapshot` into the set of open incidents, each with a stable
key (``feed_failed:frameworki``, ``parked``, ``quiet:schools``, ``certificate``,
``unauthorised``). :class:`AlertManager` compares that set with the incidents it already told
people about (a JSON file, ``alerts.state_file``, so a restart does not repeat them): a new key
is announced once per channel, a key that disappears gets one recovery message. A channel that
fails is tried again at the next check, without repeating the message on the channels that
already had it. Messages carry source names, codes and counts only.
"""

from __future__ import annotations

import json
import smtplib
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from adapter.config import AlertsConfig, SmtpChannelConfig, WebhookChannelConfig
from adapter.log import get_logger
from adapter.service.snapshot import Snapshot

log = get_logger(__name__)


@dataclass(frozen=True)
class Incident:
    key: str
    title: str
    detail: str


def evaluate(
    snap: Snapshot, config: AlertsConfig, *, halted: str | None = None
) -> dict[str, Incident]:
    """The incidents open in ``snap`` (``halted``: why the delivery worker stopped, if it did)."""
    now = snap.taken_at
    found: list[Incident] = []
    for source in snap.sources:
        last = source.last_run
        if last is not None and last["status"] == "failed":
            found.append(
                Incident(
                    f"feed_failed:{source.name}",
                    f"feed failed: {source.name}",
                    f"the last run of {source.name} failed ({last['error_code'] or 'error'})",
                )
            )
        hours = config.quiet_hours_by_source.get(source.name, config.quiet_hours)
        reference = source.last_read_at or source.first_run_at
        if (
            source.enabled
            and source.schedule
            and reference is not None
            and now - reference > timedelta(hours=hours)
        ):
            found.append(
                Incident(
                    f"quiet:{source.name}",
                    f"no records from {source.name}",
                    f"{source.name} has read no records for more than {hours:g} hours",
                )
            )
    parked = sum(snap.outbox["parked_by_reason"].values())
    if parked > config.parked_threshold:
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(snap.outbox["parked_by_reason"].items()))
        found.append(
            Incident(
                "parked",
                "parked entries above threshold",
                f"{parked} parked entries (threshold {config.parked_threshold}; {reasons})",
            )
        )
    days = snap.certificate.days_left(now)
    if days is None or days < config.certificate_days:
        detail = snap.certificate.error or f"the client certificate expires in {days:.0f} days"
        found.append(Incident("certificate", "client certificate expiring", detail))
    unauthorised = snap.unauthorised_at is not None and (
        snap.completed_at is None or snap.unauthorised_at >= snap.completed_at
    )
    if halted or unauthorised:
        found.append(
            Incident(
                "unauthorised",
                "the hub rejected the adapter",
                halted or "the hub answered UNAUTHORISED; check the certificate and the register",
            )
        )
    return {incident.key: incident for incident in found}


class Channel(Protocol):
    name: str

    def send(self, status: str, incident: Incident, context: dict[str, Any]) -> None: ...


class SmtpChannel:
    name = "smtp"

    def __init__(self, config: SmtpChannelConfig) -> None:
        self.config = config

    def send(self, status: str, incident: Incident, context: dict[str, Any]) -> None:
        message = EmailMessage()
        word = "RESOLVED" if status == "resolved" else "ALERT"
        message["Subject"] = f"[cpadapter {context['la_code']}] {word}: {incident.title}"
        message["From"] = self.config.sender
        message["To"] = ", ".join(self.config.recipients)
        message.set_content(
            f"{word}: {incident.title}\n\n{incident.detail}\n\n"
            f"organisation: {context['organisation']} ({context['la_code']})\n"
            f"incident: {incident.key}\nsince: {context['since']}\nat: {context['at']}\n"
        )
        with smtplib.SMTP(
            self.config.host, self.config.port, timeout=self.config.timeout_seconds
        ) as smtp:
            if self.config.starttls:
                smtp.starttls()
            if self.config.user and self.config.password is not None:
                smtp.login(self.config.user, self.config.password.get_secret_value())
            smtp.send_message(message)


class WebhookChannel:
    name = "webhook"

    def __init__(self, config: WebhookChannelConfig) -> None:
        self.config = config

    def send(self, status: str, incident: Incident, context: dict[str, Any]) -> None:
        body = json.dumps(
            {
                "status": status,
                "alert": incident.key,
                "title": incident.title,
                "detail": incident.detail,
                **context,
            }
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self.config.token is not None:
            headers["Authorization"] = f"Bearer {self.config.token.get_secret_value()}"
        request = urllib.request.Request(  # noqa: S310 - scheme is checked by the config model
            self.config.url, data=body, headers=headers, method="POST"
        )
        with urllib.request.urlopen(  # noqa: S310
            request, timeout=self.config.timeout_seconds
        ) as reply:
            reply.read()


def channels_for(config: AlertsConfig) -> list[Channel]:
    found: list[Channel] = []
    if config.smtp is not None:
        found.append(SmtpChannel(config.smtp))
    if config.webhook is not None:
        found.append(WebhookChannel(config.webhook))
    return found


class AlertManager:
    """Remembers which incidents were announced on which channel (``state_file``)."""

    def __init__(
        self, channels: list[Channel], state_file: Path, *, organisation: str, la_code: str
    ) -> None:
        self.channels = channels
        self.state_file = state_file
        self.organisation = organisation
        self.la_code = la_code

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self, state: dict[str, dict[str, Any]]) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
        temporary.replace(self.state_file)

    def _deliver(
        self, status: str, incident: Incident, since: str, channels: list[Channel]
    ) -> list[str]:
        context = {
            "organisation": self.organisation,
            "la_code": self.la_code,
            "since": since,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        done = []
        for channel in channels:
            try:
                channel.send(status, incident, context)
            except (OSError, smtplib.SMTPException) as exc:
                log.warning(
                    "alert.channel_failed",
                    kind=channel.name,
                    key=incident.key,
                    error=exc.__class__.__name__,
                )
                continue
            log.info("alert.sent", kind=channel.name, key=incident.key, status=status)
            done.append(channel.name)
        return done

    def check(self, active: dict[str, Incident]) -> None:
        """Announce new incidents and recoveries (each once per channel)."""
        state = self._load()
        now = datetime.now(UTC).isoformat(timespec="seconds")
        for key, incident in active.items():
            entry = state.setdefault(
                key,
                {"since": now, "title": incident.title, "detail": incident.detail, "told": []},
            )
            if entry.get("resolved"):  # came back before every recovery was delivered
                entry.update(resolved=False, recovered=[])
            pending = [c for c in self.channels if c.name not in entry["told"]]
            entry["told"] = entry["told"] + self._deliver(
                "firing", incident, entry["since"], pending
            )
        for key in [k for k in state if k not in active]:
            entry = state[key]
            entry["resolved"] = True
            recovered = entry.setdefault("recovered", [])
            pending = [
                c for c in self.channels if c.name in entry["told"] and c.name not in recovered
            ]
            incident = Incident(key, entry["title"], f"recovered: {entry['detail']}")
            recovered += self._deliver("resolved", incident, entry["since"], pending)
            if set(entry["told"]) <= set(recovered):
                del state[key]
        self._save(state)
