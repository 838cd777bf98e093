"""Run Great Expectations 1.x suites, stored as JSON files, on in-memory polars frames.

great_expectations is imported inside the functions that use it: importing it takes seconds,
and importing this module must stay cheap for Dagster's code server and the CLI.
"""

from __future__ import annotations

import functools
import json
import math
import numbers
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import polars as pl

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core import ExpectationValidationResult, ValidationDefinition
    from great_expectations.data_context.data_context.abstract_data_context import AbstractDataContext
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

SEVERITIES = ("error", "warn")
MAX_EXAMPLES = 20
MAX_OBSERVED_CHARS = 200
# SUMMARY gives counts, percents and up to MAX_EXAMPLES offending values without collecting every row.
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": MAX_EXAMPLES}
DATASOURCE = "lakehouse"


@dataclass(frozen=True)
class ExpectationOutcome:
    suite: str
    expectation: str  # stable readable id, e.g. "expect_column_values_to_not_be_null(record_key)"
    expectation_type: str
    column: str | None
    success: bool
    severity: str  # "error" | "warn", from meta.severity
    observed_value: str
    unexpected_count: int | None
    unexpected_percent: float | None  # GX's: of non-null values, except for the not-null check (of all rows)
    partial_unexpected: list[str]
    description: str


@dataclass(frozen=True)
class ValidationRun:
    """One suite validated on one batch; the two JSON documents are what Data Docs are built from."""

    suite: str
    batch_name: str
    outcomes: list[ExpectationOutcome]
    success: bool  # GX's verdict: every expectation passed, whatever its severity
    suite_json: dict[str, Any]
    result_json: dict[str, Any]  # GX's ExpectationSuiteValidationResult, serialised
    result_key: tuple[str, ...]  # GX's ValidationResultIdentifier as a tuple: where its page goes


def load_suite(path: Path) -> dict[str, Any]:
    """The suite JSON as stored; a meta.severity other than 'error' or 'warn' is refused here, early."""
    suite: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    for expectation in suite["expectations"]:
        severity = expectation.get("meta", {}).get("severity", "error")
        if severity not in SEVERITIES:
            raise ValueError(
                f"{path}: {expectation['type']} has severity {severity!r}, expected one of {SEVERITIES}"
            )
    return suite


def validate(
    frame: pl.DataFrame, suite_path: Path, batch_name: str, parameters: dict[str, str] | None = None
) -> ValidationRun:
    """Validate `frame` against the suite at `suite_path`; `batch_name` becomes the GX run name.

    `parameters` fill `${name}` placeholders in the suite's kwargs (e.g. `${as_of}` for "not in the future").
    """
    if not batch_name or "/" in batch_name or "\\" in batch_name:
        raise ValueError(f"batch_name {batch_name!r} must be non-empty and free of path separators")
    import_gx()  # first: see import_gx
    from great_expectations.core.run_identifier import RunIdentifier

    suite_json = substitute(load_suite(suite_path), parameters or {})
    with _LOCK:  # one validation at a time per process: the cached definitions share one results store
        context, definition = _definition(json.dumps(suite_json, sort_keys=True, ensure_ascii=False))
        suite, store = definition.suite, context.validation_results_store
        try:
            result = definition.run(
                batch_parameters={
                    "dataframe": to_pandas(frame.select(referenced_columns(suite_json, frame.columns)))
                },
                result_format=RESULT_FORMAT,
                run_id=RunIdentifier(run_name=batch_name, run_time=datetime.now(UTC)),
            )
            # The run stored its result under the key Data Docs will use: the store's only key.
            (key,) = store.list_keys()
        finally:  # emptied, so that a long-lived process (the sensor's) keeps no result it produced
            for stored in store.list_keys():
                store.remove_key(stored)
    # GX 1.24's validation page still reads the asset name from the legacy batch_kwargs only.
    result.meta["batch_kwargs"] = {"data_asset_name": suite.name}  # type: ignore[typeddict-unknown-key]
    # GX returns results grouped by metric, not in suite order: restore the order people wrote.
    position = {expectation.id: i for i, expectation in enumerate(suite.expectations)}
    ordered = sorted(result.results, key=lambda r: position[_config(r).id])
    return ValidationRun(
        suite=suite.name,
        batch_name=batch_name,
        outcomes=_outcomes(suite.name, ordered),
        success=bool(result.success),
        suite_json=suite_json,
        result_json=result.to_json_dict(),
        result_key=tuple(key.to_tuple()),
    )


_LOCK = threading.Lock()


@functools.lru_cache(maxsize=32)
def _definition(suite_text: str) -> tuple[AbstractDataContext, ValidationDefinition]:
    """A context holding the suite, a pandas data source and the validation definition over it, made once
    per suite (and parameters) and process: adding them to a context costs more than validating a small
    delivery, and a night validates every delivery of each source against the same suite."""
    gx = import_gx()
    from great_expectations.core import ExpectationSuite

    context = ephemeral_context()
    suite = context.suites.add(ExpectationSuite(**json.loads(suite_text)))
    batch_definition = (
        context.data_sources.add_pandas(DATASOURCE)
        .add_dataframe_asset(suite.name)
        .add_batch_definition_whole_dataframe("whole")
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=suite.name, data=batch_definition, suite=suite)
    )
    return context, definition


def substitute(suite: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """The suite with every `${name}` string value in kwargs replaced by parameters[name]."""
    text = json.dumps(suite, ensure_ascii=False)
    for name, value in parameters.items():
        text = text.replace("${" + name + "}", value)
    if "${" in text:
        raise ValueError(
            f"suite {suite['name']} has a placeholder no parameter fills: {text[text.index('${') :][:40]}"
        )
    return json.loads(text)


def import_gx() -> ModuleType:
    """great_expectations, imported without its optional pyspark support (we validate pandas frames).

    With pyspark installed (the bench and Spark-test extra) GX imports pyspark.sql.connect: that costs seconds
    per process, and it calls sys.exit(0) when __main__ has no __file__ (pytest-xdist workers, `python -c`),
    taking the process for a pyspark doctest run. Hidden during the import, pyspark is "not installed" to GX
    (every GX import of it catches ImportError). If pyspark is already loaded, an interactive session
    (sys.ps1) is that check's way out instead.
    """
    if "great_expectations" in sys.modules:
        return sys.modules["great_expectations"]
    loaded, interactive = "pyspark" in sys.modules, hasattr(sys, "ps1")
    if not loaded:
        sys.modules["pyspark"] = None  # type: ignore[assignment]  # makes `import pyspark` raise ImportError
    elif not interactive:
        sys.ps1 = ""
    try:
        import great_expectations
    finally:
        if not loaded:
            del sys.modules["pyspark"]
        elif not interactive:
            del sys.ps1
    return great_expectations


def ephemeral_context(
    store_dir: Path | None = None, data_docs_sites: dict[str, Any] | None = None
) -> AbstractDataContext:
    """A context with analytics and progress bars off; suites and results live in memory,
    or as JSON files under `store_dir` when given (so a later context sees earlier results)."""
    gx = import_gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    defaults = InMemoryStoreBackendDefaults()
    stores = dict(defaults.stores)
    if store_dir is not None:
        stores[defaults.expectations_store_name] = _filesystem_store(
            "ExpectationsStore", store_dir / "expectations"
        )
        stores[defaults.validation_results_store_name] = _filesystem_store(
            "ValidationResultsStore", store_dir / "validations"
        )
    config = DataContextConfig(
        store_backend_defaults=defaults,
        stores=stores,
        data_docs_sites=data_docs_sites or {},
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context: AbstractDataContext = gx.get_context(project_config=config, mode="ephemeral")
    return context


def _filesystem_store(class_name: str, directory: Path) -> dict[str, Any]:
    return {
        "class_name": class_name,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(directory)},
    }


COLUMN_KWARGS = ("column", "column_A", "column_B")


def referenced_columns(suite: dict[str, Any], columns: list[str]) -> list[str]:
    """The frame's columns the suite's expectations name, in frame order: GX validates a pandas copy, and
    copying only these keeps a 1.5M-row delivery's copy small. A suite that names none (table-level
    expectations only) or checks the column set gets every column; a named column the frame lacks is left
    for GX to report."""
    if any(e["type"].startswith("expect_table_column") for e in suite["expectations"]):
        return columns
    named = {e["kwargs"][k] for e in suite["expectations"] for k in COLUMN_KWARGS if k in e.get("kwargs", {})}
    named |= {c for e in suite["expectations"] for c in e.get("kwargs", {}).get("column_list", [])}
    return [c for c in columns if c in named] or columns


def to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """The pandas frame GX validates.

    polars Date becomes pandas datetime64[ms], which GX 1.24's between check cannot compare with the
    date it parses an ISO bound into (it only vectorises datetime64[ns]); Python dates compare fine.
    Datetime columns stay datetime64 and need bounds with a time ("2020-01-01T00:00:00").
    """
    import pandas as pd

    converted = frame.to_pandas()
    for name, dtype in frame.schema.items():
        if dtype == pl.Date:
            converted[name] = pd.Series(frame[name].to_list(), dtype=object, index=converted.index)
    return converted


def expectation_labels(suite: dict[str, Any]) -> list[str]:
    """The `expectation` ids a suite's outcomes will carry, in suite order (known before running GX)."""
    return _labels([_base_label(e["type"], e.get("kwargs", {})) for e in suite["expectations"]])


def _outcomes(suite: str, results: list[ExpectationValidationResult]) -> list[ExpectationOutcome]:
    labels = _labels([_base_label(_config(r).type, _config(r).kwargs) for r in results])
    return [_outcome(suite, label, r) for label, r in zip(labels, results, strict=True)]


def _config(r: ExpectationValidationResult) -> ExpectationConfiguration:
    if r.expectation_config is None:  # GX sets it on every result of a suite run
        raise ValueError(f"GX returned a result without its expectation: {r}")
    return r.expectation_config


def _base_label(expectation_type: str, kwargs: dict[str, Any]) -> str:
    if "column" in kwargs:
        return f"{expectation_type}({kwargs['column']})"
    if "column_list" in kwargs:
        return f"{expectation_type}({','.join(kwargs['column_list'])})"
    return expectation_type


def _labels(bases: list[str]) -> list[str]:
    """The base labels, with '#2', '#3' … on repeats so every label in a suite is unique and stable."""
    seen: Counter[str] = Counter()
    labels = []
    for base in bases:
        seen[base] += 1
        labels.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return labels


def _outcome(suite: str, label: str, r: ExpectationValidationResult) -> ExpectationOutcome:
    config = _config(r)
    meta = config.meta or {}
    result = r.result or {}
    error = _exception_message(r.exception_info or {})
    count = result.get("unexpected_count")
    percent = result.get("unexpected_percent")
    return ExpectationOutcome(
        suite=suite,
        expectation=label,
        expectation_type=config.type,
        column=config.kwargs.get("column"),
        success=bool(r.success),
        severity=meta.get("severity", "error"),
        observed_value=_observed(result, error),
        unexpected_count=None if count is None else int(count),
        unexpected_percent=None if percent is None else float(percent),
        partial_unexpected=_examples(result.get("partial_unexpected_list") or []),
        description=meta.get("description", ""),
    )


def _exception_message(info: dict[str, Any]) -> str | None:
    """GX nests exceptions by metric id when a metric failed, or keeps one flat record otherwise."""
    records = [info, *(v for v in info.values() if isinstance(v, dict))]
    return next((rec.get("exception_message") for rec in records if rec.get("raised_exception")), None)


def _observed(result: dict[str, Any], error: str | None) -> str:
    if error is not None:
        return _shorten(f"error: {error}")
    if result.get("unexpected_count") is not None:
        percent = result.get("unexpected_percent") or 0.0
        return f"{result['unexpected_count']:,} unexpected ({percent:.4g}%)"
    return _text(result.get("observed_value"))


def _examples(values: list[Any]) -> list[str]:
    """Distinct offending values in row order (a duplicated key appears once, not once per row)."""
    return list(dict.fromkeys(_text(v) for v in values))[:MAX_EXAMPLES]


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):  # numpy floats included
        return "null" if math.isnan(value) else f"{float(value):.4f}"
    if isinstance(value, (list, tuple, dict)):
        return _shorten(json.dumps(value, ensure_ascii=False, default=str))
    return _shorten(str(value))


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_OBSERVED_CHARS else text[: MAX_OBSERVED_CHARS - 1] + "…"
