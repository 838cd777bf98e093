"""Retry a step only when a retry can succeed: the filesystem was briefly unavailable, never a bad input.

A blanket op retry policy re-ran deterministic failures (an unreadable file, a bug) twice with 30 s waits,
and the user's one line became "Exceeded max_retries of 2" instead of the cause.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import dagster as dg

from pipelines.domain import settings
from pipelines.storage.lake import LakeBusy

# Errors that say "not now" rather than "not ever". PermissionError, FileNotFoundError and parse errors
# are deterministic: retrying them only delays the message.
TRANSIENT = (TimeoutError, BlockingIOError, InterruptedError, ConnectionError, LakeBusy)

F = TypeVar("F", bound=Callable)


def on_transient_errors(compute: F) -> F:
    """Wrap an asset's compute function: a transient error asks Dagster for a retry, others fail at once."""

    @functools.wraps(compute)
    def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - the asset's own signature, via wraps
        try:
            return compute(*args, **kwargs)
        except TRANSIENT as error:
            run = settings.load().run
            raise dg.RetryRequested(
                max_retries=run.transient_retries, seconds_to_wait=run.transient_retry_seconds
            ) from error

    return wrapped  # type: ignore[return-value]
