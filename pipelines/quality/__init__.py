"""Data quality: Great Expectations suites (JSON files) run on polars frames, and offline Data Docs.

Importing this package does not import great_expectations (seconds); the functions do, when called.
"""

from pipelines.quality.data_docs import build_data_docs
from pipelines.quality.gx_runner import ExpectationOutcome, ValidationRun, load_suite, validate

__all__ = ["ExpectationOutcome", "ValidationRun", "build_data_docs", "load_suite", "validate"]
