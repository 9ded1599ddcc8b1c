"""The SOAP connector against the demo child health service, over HTTP and HTTPS on loopback."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import demo.soap_service as soap_service
from adapter.pki import (
    CA_CERT,
    CLIENT_CERT,
    CLIENT_KEY,
    HUB_CERT,
    HUB_KEY,
    HUB_WRONGHOST_CERT,
    HUB_WRONGHOST_KEY,
    ROGUE_HUB_CERT,
    ROGUE_HUB_KEY,
    PkiResult,
    init_dev_pki,
)
from connectors.base import SourceRecord
from demo.health_records import HealthRecord, child_id, health_records
from demo.population import DemoChild, generate_population
from demo.soap_service import HealthService, ServerTls, SoapFault, serve_health_service
from ldi.errors import SourceError
from tests.integration.connectors.soap_support import (
    CASE_FIELDS,
    INVOLVEMENT_FIELDS,
    SOURCE,
    closed_port,
    connector,
    packaged_wsdl,
    read_all,
    silent_listener,
    soap_config,
)

USER = "adapter"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PkiResult:
    """A development PKI (CA, hub, client, rogue CA) for the whole session."""
    return init_dev_pki(tmp_path_factory.mktemp("soap-pki"), rogue_ca=True)


@pytest.fixture(scope="module")
def population() -> list[DemoChild]:
    """A small demo population; about a quarter of it is known to health."""
    return generate_population(200, seed=891)


@pytest.fixture(scope="module")
def records(population: list[DemoChild]) -> list[HealthRecord]:
    """What the demo CHIS holds for that population."""
    return health_records(population)


@pytest.fixture(scope="module")
def http_service(population: list[DemoChild]) -> Iterator[HealthService]:
    """The demo service over plain HTTP."""
    with serve_health_service(children=population) as service:
        yield service


@pytest.fixture(scope="module")
def https_service(population: list[DemoChild], pki: PkiResult) -> Iterator[HealthService]:
    """The demo service over HTTPS with the dev hub certificate, WS-Security required."""
    tls = ServerTls(pki.path(HUB_CERT), pki.path(HUB_KEY))
    with serve_health_service(
        children=population, tls=tls, username=USER, password=PASSWORD
    ) as service:
        yield service


def _keys(found: list[SourceRecord]) -> list[str]:
    return [r.key for r in found]


def _https(service: HealthService, pki: PkiResult, **overrides: object) -> dict[str, object]:
    options: dict[str, object] = {
        "ca_bundle": pki.path(CA_CERT),
        "username": USER,
        "password": PASSWORD,
    }
    options.update(overrides)
    return options


def test_http_read_yields_every_health_child_once(
    http_service: HealthService, population: list[DemoChild], tmp_path: Path
) -> None:
    """Over HTTP the connector yields one record per in_health child, keyed by the CHIS id."""
    found, report = read_all(soap_config(http_service.wsdl_url), tmp_path)
    expected = {child_id(c.person_id) for c in population if c.in_health}
    assert len(found) == len(expected)
    assert set(_keys(found)) == expected
    assert report.quarantined == []


def test_https_read_with_ws_security_yields_every_health_child(
    https_service: HealthService, population: list[DemoChild], pki: PkiResult, tmp_path: Path
) -> None:
    """Over HTTPS (dev CA) with a UsernameToken the counts equal the in_health children."""
    config = soap_config(https_service.wsdl_url, **_https(https_service, pki))
    found, _ = read_all(config, tmp_path)
    assert sorted(_keys(found)) == sorted(child_id(c.person_id) for c in population if c.in_health)


def test_password_digest_is_accepted(
    https_service: HealthService, records: list[HealthRecord], pki: PkiResult, tmp_path: Path
) -> None:
    """A PasswordDigest UsernameToken (nonce + created) authenticates as well as PasswordText."""
    config = soap_config(https_service.wsdl_url, **_https(https_service, pki, password_digest=True))
    found, _ = read_all(config, tmp_path)
    assert len(found) == len(records)


def test_small_pages_cover_everything_with_one_request_per_page(
    http_service: HealthService, records: list[HealthRecord], tmp_path: Path
) -> None:
    """With page size 7 the read takes ceil(n/7) requests and still yields each child once."""
    before = http_service.soap_requests
    found, report = read_all(soap_config(http_service.wsdl_url, page_size=7), tmp_path)
    pages = math.ceil(len(records) / 7)
    assert report.units_read == pages
    assert http_service.soap_requests - before == pages
    assert len(set(_keys(found))) == len(found) == len(records)
    assert [r.provenance.locator.split(" ")[1] for r in found][-1] == str(pages)


def test_since_returns_exactly_the_children_changed_at_or_after_it(
    http_service: HealthService, records: list[HealthRecord], tmp_path: Path
) -> None:
    """A since watermark yields only children modified at or after it, across page breaks."""
    ordered = sorted(r.last_modified for r in records)
    since = ordered[len(ordered) // 2]
    config = soap_config(http_service.wsdl_url, page_size=3)
    found, _ = read_all(config, tmp_path, since=since.isoformat())
    expected = {r.child_id for r in records if r.last_modified >= since}
    assert 0 < len(expected) < len(records)
    assert set(_keys(found)) == expected
    assert len(found) == len(expected)


def test_bulk_update_ties_are_not_lost_at_the_watermark(
    records: list[HealthRecord], tmp_path: Path
) -> None:
    """Children stamped in the same second as the watermark are all returned (inclusive since)."""
    tie = datetime(2026, 10, 25, 2, 0, tzinfo=UTC)
    tied = [replace(r, last_modified=tie) for r in records[:6]]
    with serve_health_service(records=[*tied, *records[6:]]) as service:
        found, _ = read_all(
            soap_config(service.wsdl_url, page_size=4), tmp_path, since=tie.isoformat()
        )
    assert {r.child_id for r in tied} <= set(_keys(found))
    assert all(r.change_marker >= tie.isoformat() for r in found)


def test_watermark_from_a_read_picks_up_a_later_change(
    records: list[HealthRecord], tmp_path: Path
) -> None:
    """The greatest change marker of one read, used as since, finds a child changed later."""
    with serve_health_service(records=records) as service:
        config = soap_config(service.wsdl_url)
        first, _ = read_all(config, tmp_path)
        watermark = max(r.change_marker for r in first)
        changed = replace(
            records[5],
            family_name="Renamed",
            last_modified=datetime.now(UTC).replace(microsecond=0),
        )
        service.replace_records([*records[:5], changed, *records[6:]])
        second, _ = read_all(config, tmp_path, since=watermark)
    assert changed.child_id in _keys(second)
    assert all(r.change_marker >= watermark for r in second)
    assert len(second) < len(first)


def test_without_a_last_modified_field_markers_are_hashes_and_reads_full(
    http_service: HealthService, records: list[HealthRecord], tmp_path: Path
) -> None:
    """With no change_marker_field every record gets a content hash and since is not sent."""
    config = soap_config(http_service.wsdl_url, change_marker_field=None)
    found, _ = read_all(config, tmp_path, since=max(r.last_modified for r in records).isoformat())
    assert len(found) == len(records)
    assert all(r.change_marker.startswith("sha256:") for r in found)
    again, _ = read_all(config, tmp_path)
    assert [r.change_marker for r in again] == [r.change_marker for r in found]


def test_debug_logging_carries_no_record_data(
    http_service: HealthService,
    records: list[HealthRecord],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Even with every logger at DEBUG, a read logs no NHS number or clinical note (TA-SEC-01)."""
    caplog.set_level(logging.DEBUG)
    read_all(soap_config(http_service.wsdl_url), tmp_path)
    assert "127.0.0.1" in caplog.text  # the HTTP layer did log at DEBUG
    values = {r.nhs_number for r in records} | {r.clinical_notes for r in records}
    assert [v for v in values if v and v in caplog.text] == []


def test_case_information_never_enters_a_source_record(
    http_service: HealthService, records: list[HealthRecord], tmp_path: Path
) -> None:
    """Clinical notes, safeguarding concerns and referral reasons appear in no record."""
    found, _ = read_all(soap_config(http_service.wsdl_url), tmp_path)
    secrets: set[str | None] = {r.clinical_notes for r in records if r.clinical_notes}
    secrets |= {r.safeguarding.summary for r in records if r.safeguarding}
    secrets |= {i.reason_for_referral for r in records for i in r.involvements}
    secrets.discard(None)
    assert secrets, "the demo data should hold case information to leak"
    dumped = repr([(r.fields, r.related) for r in found])
    assert [s for s in secrets if s and s in dumped] == []
    assert [name for name in CASE_FIELDS if name in dumped] == []


def test_records_are_plain_data_with_provenance_and_utc_markers(
    http_service: HealthService, records: list[HealthRecord], tmp_path: Path
) -> None:
    """Fields are plain dicts, involvements related rows, markers UTC ISO, provenance exact."""
    found, _ = read_all(soap_config(http_service.wsdl_url, page_size=10), tmp_path)
    by_id = {r.child_id: r for r in records}
    for index, record in enumerate(found):
        source = by_id[record.key]
        assert type(record.fields) is dict
        assert record.fields["NHSNumber"] == source.nhs_number
        assert record.change_marker == source.last_modified.isoformat()
        assert record.provenance.origin == "GetChildrenChangedSince"
        page, item = divmod(index, 10)
        assert record.provenance.locator == f"page {page + 1} item {item + 1} ChildId={record.key}"
        rows = record.related["involvements"]
        assert len(rows) == len(source.involvements)
        assert all(set(row) == set(INVOLVEMENT_FIELDS) for row in rows)


def test_sample_reads_one_page_only(http_service: HealthService, tmp_path: Path) -> None:
    """sample(5) returns five records from a single request."""
    conn = connector(soap_config(http_service.wsdl_url), tmp_path)
    before = http_service.soap_requests
    try:
        sample = conn.sample(5)
    finally:
        conn.close()
    assert len(sample) == 5
    assert http_service.soap_requests - before == 1


def test_packaged_wsdl_file_with_endpoint_reads_the_service(
    http_service: HealthService, records: list[HealthRecord], tmp_path: Path
) -> None:
    """A WSDL read from a file plus a configured endpoint reaches the running service."""
    config = soap_config(packaged_wsdl(), endpoint=http_service.url)
    found, _ = read_all(config, tmp_path)
    assert len(found) == len(records)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    size=st.integers(min_value=0, max_value=47), page_size=st.integers(min_value=1, max_value=12)
)
def test_paging_reads_every_child_exactly_once(
    records: list[HealthRecord], tmp_path: Path, size: int, page_size: int
) -> None:
    """For any population size and page size, each child is read exactly once."""
    with serve_health_service(records=records[:size]) as service:
        found, report = read_all(soap_config(service.wsdl_url, page_size=page_size), tmp_path)
    assert sorted(_keys(found)) == sorted(r.child_id for r in records[:size])
    assert report.units_read == max(1, math.ceil(size / page_size))


# ----- failures: one SourceError, naming the source, with an actionable code


def _fails(config_wsdl: str | Path, tmp_path: Path, **overrides: object) -> SourceError:
    with pytest.raises(SourceError) as caught:
        read_all(soap_config(config_wsdl, **overrides), tmp_path)
    return caught.value


def _one_line(error: SourceError) -> str:
    text = str(error)
    assert "\n" not in text
    assert f"source {SOURCE!r}" in text
    return text


def test_wrong_password_is_one_src_auth_line(
    https_service: HealthService, pki: PkiResult, tmp_path: Path
) -> None:
    """A wrong password gives SRC-AUTH, one line naming the source, without the password."""
    error = _fails(
        https_service.wsdl_url, tmp_path, **_https(https_service, pki, password="not-it")
    )
    assert error.code == "SRC-AUTH"
    text = _one_line(error)
    assert "not-it" not in text
    assert "FailedAuthentication" in text


def test_missing_credentials_are_src_auth(
    https_service: HealthService, pki: PkiResult, tmp_path: Path
) -> None:
    """Calling a secured service without a UsernameToken gives SRC-AUTH."""
    error = _fails(https_service.wsdl_url, tmp_path, ca_bundle=pki.path(CA_CERT))
    assert error.code == "SRC-AUTH"


def test_credentials_are_never_sent_over_plain_http(
    http_service: HealthService, tmp_path: Path
) -> None:
    """With a WSDL address on http, the connector refuses before any SOAP request is made."""
    before = http_service.soap_requests
    error = _fails(http_service.wsdl_url, tmp_path, username=USER, password=PASSWORD)
    assert error.code == "SRC-TLS"
    assert http_service.soap_requests == before


def test_unreachable_endpoint_fails_fast_with_src_connect(tmp_path: Path) -> None:
    """A closed port gives SRC-CONNECT naming the source and the address within a second or two."""
    port = closed_port()
    started = time.monotonic()
    error = _fails(
        packaged_wsdl(),
        tmp_path,
        endpoint=f"http://127.0.0.1:{port}/health/v1",
        connect_timeout_seconds=1.0,
    )
    assert time.monotonic() - started < 3
    assert error.code == "SRC-CONNECT"
    assert f"127.0.0.1:{port}" in _one_line(error)


def test_unreachable_wsdl_url_fails_while_loading(tmp_path: Path) -> None:
    """A WSDL URL on a closed port gives SRC-CONNECT while loading the WSDL."""
    error = _fails(f"http://127.0.0.1:{closed_port()}/health/v1?wsdl", tmp_path)
    assert error.code == "SRC-CONNECT"
    assert "loading the WSDL" in _one_line(error)


def test_hung_server_times_out_within_the_read_timeout(tmp_path: Path) -> None:
    """A server that accepts and never answers gives SRC-TIMEOUT after the read time-out."""
    with silent_listener() as port:
        started = time.monotonic()
        error = _fails(
            packaged_wsdl(),
            tmp_path,
            endpoint=f"http://127.0.0.1:{port}/health/v1",
            read_timeout_seconds=0.5,
        )
        elapsed = time.monotonic() - started
    assert error.code == "SRC-TIMEOUT"
    assert 0.4 < elapsed < 2.0
    assert "0.5 s" in _one_line(error)


@pytest.mark.parametrize(
    ("cert", "key", "reason"),
    [
        (ROGUE_HUB_CERT, ROGUE_HUB_KEY, "unable to get local issuer certificate"),
        (HUB_WRONGHOST_CERT, HUB_WRONGHOST_KEY, "mismatch, certificate is not valid"),
    ],
    ids=["untrusted-ca", "wrong-host"],
)
def test_untrusted_server_certificate_is_src_tls(
    pki: PkiResult, population: list[DemoChild], tmp_path: Path, cert: str, key: str, reason: str
) -> None:
    """A server certificate from another CA, or for another host, gives SRC-TLS with the cause."""
    tls = ServerTls(pki.path(cert), pki.path(key))
    with serve_health_service(children=population[:20], tls=tls) as service:
        error = _fails(service.wsdl_url, tmp_path, ca_bundle=pki.path(CA_CERT))
    assert error.code == "SRC-TLS"
    assert reason in _one_line(error)


def test_mutual_tls_needs_the_client_certificate(
    pki: PkiResult, population: list[DemoChild], tmp_path: Path
) -> None:
    """A service requiring client certificates is read with one and refused (SRC-TLS) without."""
    tls = ServerTls(pki.path(HUB_CERT), pki.path(HUB_KEY), client_ca=pki.path(CA_CERT))
    with serve_health_service(children=population, tls=tls) as service:
        config = soap_config(
            service.wsdl_url,
            ca_bundle=pki.path(CA_CERT),
            client_certificate=pki.path(CLIENT_CERT),
            client_key=pki.path(CLIENT_KEY),
        )
        found, _ = read_all(config, tmp_path)
        error = _fails(service.wsdl_url, tmp_path, ca_bundle=pki.path(CA_CERT))
    assert len(found) == sum(c.in_health for c in population)
    assert error.code == "SRC-TLS"


def test_a_fault_quotes_its_code_never_its_text(
    http_service: HealthService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SOAP fault becomes SRC-FAULT with the fault code; the server's fault text is not echoed."""

    def refuse(*_: object) -> bytes:
        raise SoapFault("soap:Server", "record of Ava Jones (NHS 9990001234) is locked")

    monkeypatch.setattr(soap_service, "page_envelope", refuse)
    error = _fails(http_service.wsdl_url, tmp_path)
    assert error.code == "SRC-FAULT"
    text = _one_line(error)
    assert "soap:Server" in text
    assert "Jones" not in text
    assert "9990001234" not in text


def test_a_repeated_page_token_stops_the_read(
    http_service: HealthService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service that hands out the same page token twice is stopped with SRC-PROTOCOL."""
    monkeypatch.setattr(soap_service, "encode_token", lambda position: "same-token")
    monkeypatch.setattr(soap_service, "decode_token", lambda token: None)
    error = _fails(http_service.wsdl_url, tmp_path, page_size=5)
    assert error.code == "SRC-PROTOCOL"
    assert "repeated a page token" in _one_line(error)


def test_an_allow_list_name_missing_from_the_answer_is_reported(
    http_service: HealthService, tmp_path: Path
) -> None:
    """A field in the allow-list that the service does not have gives SRC-PROTOCOL naming it."""
    error = _fails(http_service.wsdl_url, tmp_path, fields=["ChildId", "NhsNumber"])
    assert error.code == "SRC-PROTOCOL"
    text = _one_line(error)
    assert "'NhsNumber'" in text
    assert "NHSNumber" in text  # the names the service does have, never values


def test_change_is_read_after_the_watermark_with_time_zone_offsets(
    records: list[HealthRecord], tmp_path: Path
) -> None:
    """A since watermark given with a non-UTC offset selects the same instant."""
    pivot = sorted(r.last_modified for r in records)[10]
    local = pivot.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert local.isoformat() != pivot.isoformat()
    with serve_health_service(records=records) as service:
        utc_read, _ = read_all(soap_config(service.wsdl_url), tmp_path, since=pivot.isoformat())
        offset_read, _ = read_all(soap_config(service.wsdl_url), tmp_path, since=local.isoformat())
    assert _keys(utc_read) == _keys(offset_read)
