"""JSON responses written by orjson, handed back as a Response so that FastAPI does not walk them again.

An endpoint that returns a dict has FastAPI validate and encode it value by value before `json.dumps`; a
profile is a few hundred values, and that walk cost more than the profile's query. The endpoints build the
body from plain values already (queries.py turns dates into ISO text), so they return `JSONBody` directly.
"""

from __future__ import annotations

import decimal
from typing import Any

import orjson
from fastapi.responses import JSONResponse


def _default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class JSONBody(JSONResponse):
    """UTF-8 JSON as Starlette's JSONResponse writes it (no ASCII escapes, no spaces), only faster."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, default=_default, option=orjson.OPT_NON_STR_KEYS)
