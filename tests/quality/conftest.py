from __future__ import annotations

import pytest

from pipelines.quality import ValidationRun, validate
from tests.quality.frames import SUITE, broken_frame, clean_frame


@pytest.fixture(scope="session")
def clean_run() -> ValidationRun:
    return validate(clean_frame(), SUITE, "delivery-2026-11-01")


@pytest.fixture(scope="session")
def broken_run() -> ValidationRun:
    return validate(broken_frame(), SUITE, "delivery-2026-11-02")
