"""The one retry classification (TA-REL-01, TA-REL-04) and the back-off it schedules."""

from __future__ import annotations

import pytest

from adapter.config import RetryConfig
from ldi.errors import PermanentDeliveryError, TransientDeliveryError
from ldi.models import FaultCode
from outbox import retry
from outbox.retry import Verdict, classify, error_for, retry_delay

TABLE = {
    FaultCode.UNAVAILABLE.value: Verdict.RETRY,
    FaultCode.THROTTLED.value: Verdict.RETRY,
    retry.TIMEOUT: Verdict.RETRY,
    retry.CONNECTION: Verdict.RETRY,
    retry.HTTP_5XX: Verdict.RETRY,
    FaultCode.SCHEMA_INVALID.value: Verdict.PARK,
    FaultCode.UNAUTHORISED.value: Verdict.PARK,
    FaultCode.BATCH_TOO_LARGE.value: Verdict.PARK,
    FaultCode.BATCH_ID_REUSED.value: Verdict.PARK,
    retry.HTTP_4XX: Verdict.PARK,
    retry.BAD_RESPONSE: Verdict.PARK,
    retry.TLS_REFUSED: Verdict.HALT,
    retry.CLIENT_CERT: Verdict.HALT,
    retry.HOST_KEY: Verdict.HALT,
    retry.AUTH_REFUSED: Verdict.HALT,
}


def test_every_ldi_fault_code_is_classified() -> None:
    """Each LDI-TRN-05 fault code has an explicit verdict in the table."""
    assert {c.value for c in FaultCode} <= set(TABLE)


@pytest.mark.parametrize(("code", "verdict"), sorted(TABLE.items()))
def test_code_verdicts(code: str, verdict: Verdict) -> None:
    """Retryable codes retry, LDI non-retryable ones park, configuration problems halt."""
    assert classify(code).verdict is verdict


@pytest.mark.parametrize(("code", "verdict"), sorted(TABLE.items()))
def test_transports_raise_the_matching_exception(code: str, verdict: Verdict) -> None:
    """error_for gives TransientDeliveryError exactly for retryable codes."""
    error = error_for(code, "m")
    expected = TransientDeliveryError if verdict is Verdict.RETRY else PermanentDeliveryError
    assert type(error) is expected
    assert classify(error).verdict is verdict


def test_unknown_codes_park() -> None:
    """A code the table does not know is parked, never hammered."""
    assert classify("SOMETHING_NEW").verdict is Verdict.PARK


def test_retry_after_is_carried() -> None:
    """THROTTLED keeps its Retry-After for the scheduler."""
    assert classify(error_for("THROTTLED", "m", retry_after=7)).retry_after == 7


def test_back_off_grows_exponentially_up_to_the_ceiling() -> None:
    """Waits double per attempt (plus bounded jitter) and never pass the configured maximum."""
    policy = RetryConfig(max_attempts=10, initial_backoff_seconds=1, max_backoff_seconds=10)
    error = error_for("UNAVAILABLE", "m")
    waits = [retry_delay(policy, n, error) for n in range(1, 8)]
    assert 1 <= waits[0] <= 2
    assert 2 <= waits[1] <= 3
    assert 4 <= waits[2] <= 5
    assert all(w <= 10 for w in waits)
    assert waits[-1] == 10


def test_wait_is_never_shorter_than_retry_after() -> None:
    """Retry-After wins over a shorter back-off, even above the configured ceiling."""
    policy = RetryConfig(max_attempts=5, initial_backoff_seconds=0.1, max_backoff_seconds=1)
    assert retry_delay(policy, 1, error_for("THROTTLED", "m", retry_after=30)) == 30


def test_attempts_left_counts_every_attempt() -> None:
    """max_attempts 3 allows attempts 1 and 2 to be followed by another, not attempt 3."""
    policy = RetryConfig(max_attempts=3)
    assert [retry.attempts_left(policy, n) for n in (1, 2, 3)] == [True, True, False]


def test_poll_retrying_repeats_only_connection_hiccups() -> None:
    """A dropped connection during a poll is retried in-process; other faults are not."""
    calls: list[str] = []

    def flaky() -> str:
        calls.append("x")
        if len(calls) < 3:
            raise error_for(retry.CONNECTION, "dropped")
        return "ok"

    assert retry.poll_retrying()(flaky) == "ok"
    calls.clear()

    def unavailable() -> str:
        calls.append("x")
        raise error_for("UNAVAILABLE", "no")

    with pytest.raises(TransientDeliveryError):
        retry.poll_retrying()(unavailable)
    assert len(calls) == 1
