"""What to do about a failure: retry later, park now, or halt the worker (TA-REL-01, TA-REL-04).

:func:`classify` is the one place that maps a fault code, an HTTP status or a transport error to
a verdict; transports use it to choose which exception to raise, and workers use it to decide
what happens to the batch. The table:

=====================================================  ==========  ============================
code                                                   verdict     why
=====================================================  ==========  ============================
``UNAVAILABLE``, ``THROTTLED``                         retry       LDI-TRN-05 says so
``TIMEOUT``, ``CONNECTION``, ``HTTP_5XX``              retry       network and hub hiccups
``SCHEMA_INVALID``, ``UNAUTHORISED``,                  park        LDI-TRN-05: not retryable;
``BATCH_TOO_LARGE``, ``BATCH_ID_REUSED``,                          a person must look
``HTTP_4XX``, ``BAD_RESPONSE``, any unknown code
``TLS_REFUSED``, ``CLIENT_CERT``, ``HOST_KEY``,        halt        configuration, not the batch:
``AUTH_REFUSED``                                                   parking every batch would
                                                                   only hide it
=====================================================  ==========  ============================

Why retries are scheduled in the store, not slept through in-process
    A failed submission records ``attempts`` and ``next_attempt_at`` on the batch and the worker
    moves on to other batches. A retry therefore survives a killed process (the next worker
    sees when it is due), a batch that waits five minutes blocks nothing else (a stuck record
    never blocks other records), and operators see the schedule in ``outbox show``. tenacity
    still computes every wait — exponential back-off with jitter, never less than the hub's
    ``Retry-After`` (:func:`retry_delay`) — and runs the one loop that does belong in-process:
    re-trying a single idempotent ``GetBatchOutcome`` call over a dropped keep-alive
    connection (:func:`poll_retrying`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tenacity import (
    Future,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)
from tenacity.wait import wait_base

from adapter.config import RetryConfig
from ldi.errors import DeliveryError, PermanentDeliveryError, TransientDeliveryError
from ldi.models import FaultCode


class Verdict(StrEnum):
    RETRY = "retry"
    PARK = "park"
    HALT = "halt"


#: Codes the transports use for failures that are not LDI faults.
TIMEOUT = "TIMEOUT"
CONNECTION = "CONNECTION"
HTTP_5XX = "HTTP_5XX"
HTTP_4XX = "HTTP_4XX"
BAD_RESPONSE = "BAD_RESPONSE"
TLS_REFUSED = "TLS_REFUSED"
CLIENT_CERT = "CLIENT_CERT"
HOST_KEY = "HOST_KEY"
AUTH_REFUSED = "AUTH_REFUSED"
RETRIES_EXHAUSTED = "RETRIES_EXHAUSTED"

_TABLE: dict[str, Verdict] = {
    FaultCode.UNAVAILABLE.value: Verdict.RETRY,
    FaultCode.THROTTLED.value: Verdict.RETRY,
    TIMEOUT: Verdict.RETRY,
    CONNECTION: Verdict.RETRY,
    HTTP_5XX: Verdict.RETRY,
    FaultCode.SCHEMA_INVALID.value: Verdict.PARK,
    FaultCode.UNAUTHORISED.value: Verdict.PARK,
    FaultCode.BATCH_TOO_LARGE.value: Verdict.PARK,
    FaultCode.BATCH_ID_REUSED.value: Verdict.PARK,
    HTTP_4XX: Verdict.PARK,
    BAD_RESPONSE: Verdict.PARK,
    TLS_REFUSED: Verdict.HALT,
    CLIENT_CERT: Verdict.HALT,
    HOST_KEY: Verdict.HALT,
    AUTH_REFUSED: Verdict.HALT,
}


@dataclass(frozen=True, slots=True)
class Classification:
    verdict: Verdict
    code: str
    retry_after: float | None = None


def classify(problem: str | DeliveryError) -> Classification:
    """The verdict for a fault/status code or a translated transport error (table above).

    Unknown codes park: retrying something we do not understand risks hammering the hub, and a
    parked batch is visible to an operator.
    """
    if isinstance(problem, str):
        return Classification(_TABLE.get(problem, Verdict.PARK), problem)
    verdict = _TABLE.get(problem.code)
    if verdict is None:
        # An error raised without a known code keeps the meaning of its class.
        verdict = Verdict.RETRY if isinstance(problem, TransientDeliveryError) else Verdict.PARK
    retry_after = problem.retry_after if isinstance(problem, TransientDeliveryError) else None
    return Classification(verdict, problem.code, retry_after)


def error_for(code: str, message: str, *, retry_after: float | None = None) -> DeliveryError:
    """The exception a transport raises for ``code``: transient or permanent per the table."""
    if classify(code).verdict is Verdict.RETRY:
        return TransientDeliveryError(message, code=code, retry_after=retry_after)
    return PermanentDeliveryError(message, code=code)


class wait_at_least_retry_after(wait_base):  # noqa: N801 - tenacity's naming convention
    """A tenacity wait: ``base``, but never less than the failure's ``Retry-After``."""

    def __init__(self, base: wait_base) -> None:
        self.base = base

    def __call__(self, retry_state: RetryCallState) -> float:
        wait = float(self.base(retry_state))
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        retry_after = getattr(error, "retry_after", None)
        return max(wait, float(retry_after)) if retry_after else wait


def backoff(policy: RetryConfig) -> wait_base:
    """Exponential back-off with jitter up to the configured ceiling, at least Retry-After."""
    return wait_at_least_retry_after(
        wait_exponential_jitter(
            multiplier=policy.initial_backoff_seconds,
            max=policy.max_backoff_seconds,
            jitter=policy.initial_backoff_seconds,
        )
    )


def retry_delay(policy: RetryConfig, attempt: int, error: DeliveryError) -> float:
    """Seconds to wait before attempt ``attempt + 1`` after ``error`` failed attempt ``attempt``."""
    state = RetryCallState(Retrying(), None, (), {})
    state.attempt_number = attempt
    future = Future(attempt)
    future.set_exception(error)
    state.outcome = future
    return backoff(policy)(state)


def attempts_left(policy: RetryConfig, attempts_made: int) -> bool:
    """True while another attempt is allowed (``max_attempts`` counts every attempt)."""
    return attempts_made < policy.max_attempts


def _is_connection_hiccup(error: BaseException) -> bool:
    return isinstance(error, TransientDeliveryError) and error.code in (CONNECTION, TIMEOUT)


def poll_retrying() -> Retrying:
    """In-process retries of one idempotent poll after a dropped connection (3 tries, ≤ 1 s)."""
    return Retrying(
        stop=stop_after_attempt(3),
        wait=wait_exponential_jitter(multiplier=0.05, max=1.0, jitter=0.05),
        retry=retry_if_exception(_is_connection_hiccup),
        reraise=True,
    )
