"""A failed run names the step, the exception's own message, the full log and the Dagster run id, and a
deterministic failure is not retried; only a transient error (the filesystem, the lake lock) is."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dagster as dg
import pytest

from assets import retry
from pipelines.domain import settings
from pipelines.orchestration.runner import RunFailed
from tests.conftest import Run, copy_of_run, run_pipeline


# On the worker of the tests that build the handwritten nights, so that it never waits for another worker.
@pytest.mark.xdist_group("handwritten")
def test_an_unreadable_lake_file_fails_its_step_once_with_its_cause(
    handwritten: tuple[Run, Run], tmp_path: Path
) -> None:
    _, night = handwritten
    first = copy_of_run(night, tmp_path, night.paths.landing)
    for part in (first.paths.lake / "silver" / "registration").glob("*.parquet"):
        part.write_bytes(b"not parquet")
    with pytest.raises(RunFailed) as failed:
        run_pipeline(tmp_path, first.demo)
    message = str(failed.value)
    assert "step silver__registration failed" in message
    assert (
        "cannot read lake table silver/registration" in message and "damaged" in message
    )  # not "Exceeded max_retries"
    assert "\n" not in message
    log = Path(message.split("full log: ")[1].rstrip(")"))
    assert "Traceback" in log.read_text(encoding="utf-8") or 'File "' in log.read_text(encoding="utf-8")
    run_id = message.split("Dagster run ")[1].split(";")[0]
    instance = dg.DagsterInstance.from_config(str(first.paths.dagster_home))
    events = [
        e.dagster_event.event_type_value
        for e in instance.all_logs(run_id)
        if e.dagster_event and e.step_key == "silver__registration"
    ]
    assert events.count("STEP_START") == 1 and "STEP_UP_FOR_RETRY" not in events


@pytest.mark.parametrize(("error", "succeeds"), [(TimeoutError, True), (ValueError, False)])
def test_only_a_transient_error_is_retried(
    monkeypatch: pytest.MonkeyPatch, error: type[Exception], succeeds: bool
) -> None:
    fast = dataclasses.replace(
        settings.load(), run=dataclasses.replace(settings.load().run, transient_retry_seconds=0)
    )
    monkeypatch.setattr(settings, "load", lambda *_: fast)
    attempts = []

    @dg.asset
    @retry.on_transient_errors
    def flaky() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise error("the first attempt fails")

    result = dg.materialize([flaky], raise_on_error=False)
    assert result.success is succeeds
    assert len(attempts) == (2 if succeeds else 1)
