"""Optional extras (splink, pyspark): a developer without one skips its tests; CI (CI=1, set by .ci/run)
fails instead, so a broken install can never pass as a green run with silent skips."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def require(module: str) -> ModuleType:
    if os.environ.get("CI"):
        return importlib.import_module(module)
    return pytest.importorskip(module)
