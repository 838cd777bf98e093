"""Score a run against the demo generator's ground truth: entity resolution and flags.

Resolution: pairwise precision/recall/F1 (pairs of records put in one entity) and B-cubed F1, overall,
for pairs involving a record without a valid USCC, and per source; entities holding two different valid
USCCs. Flags: precision/recall per issue type, by (issue_type, true entity).

`python -m pipelines.demo.evaluation --lake DIR --truth DIR` prints both tables for a run's lake.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.domain.contract import ENTITY_SOURCES
from pipelines.domain.resolution.records import without_borrowed_codes
from pipelines.storage import catalog


def _pairs(n: pl.Expr) -> pl.Expr:
    return (n * (n - 1) / 2).cast(pl.Float64)


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        return (
            0.0
            if self.precision + self.recall == 0
            else 2 * self.precision * self.recall / (self.precision + self.recall)
        )


def _ratio(num: float, den: float) -> float:
    return 1.0 if den == 0 else num / den


def labelled(truth_records: pl.DataFrame, xref: pl.DataFrame) -> pl.DataFrame:
    """Records present in both, with true and predicted entity and whether the record has a valid USCC."""
    truth = truth_records.select("source", "record_key", "true_entity_id", valid="has_valid_uscc_in_record")
    return truth.join(xref.select("source", "record_key", "entity_id"), on=["source", "record_key"])


def pairwise(frame: pl.DataFrame, involving: pl.Expr | None = None) -> Scores:
    """Pairwise scores over pairs with at least one record matching `involving` (all pairs when None).

    Pairs touching the subset = all pairs - pairs entirely outside it, per group, so no pair is listed.
    """
    marked = frame.with_columns(_in=involving if involving is not None else pl.lit(True))

    def touching(by: list[str]) -> float:
        groups = marked.group_by(by).agg(n=pl.len(), outside=(~pl.col("_in")).sum())
        return groups.select((_pairs(pl.col("n")) - _pairs(pl.col("outside"))).sum()).item() or 0.0

    both = touching(["true_entity_id", "entity_id"])
    return Scores(_ratio(both, touching(["entity_id"])), _ratio(both, touching(["true_entity_id"])))


def bcubed(frame: pl.DataFrame) -> Scores:
    cells = frame.group_by("true_entity_id", "entity_id").agg(cell=pl.len())
    sized = frame.join(cells, on=["true_entity_id", "entity_id"]).with_columns(
        pred=pl.len().over("entity_id"), true=pl.len().over("true_entity_id")
    )
    return Scores(
        sized.select((pl.col("cell") / pl.col("pred")).mean()).item(),
        sized.select((pl.col("cell") / pl.col("true")).mean()).item(),
    )


def uscc_conflicts(xref: pl.DataFrame, records_with_uscc: pl.DataFrame) -> int:
    """Entities holding two or more different valid USCCs (must be 0), not counting a branch licence's
    borrowed parent code (`records_with_uscc` has source, record_key, uscc, uscc_is_valid, name_key and
    branch_marker)."""
    codes = (
        without_borrowed_codes(records_with_uscc)
        .filter("uscc_is_valid")
        .select("source", "record_key", "uscc")
    )
    per_entity = (
        xref.join(codes, on=["source", "record_key"])
        .group_by("entity_id")
        .agg(codes=pl.col("uscc").n_unique())
    )
    return per_entity.filter(pl.col("codes") > 1).height


def resolution_table(truth_records: pl.DataFrame, xref: pl.DataFrame) -> pl.DataFrame:
    """One row per slice: pairwise P/R/F1 and (overall) B-cubed F1."""
    frame = labelled(truth_records, xref)
    slices: list[tuple[str, pl.Expr | None]] = [
        ("all records", None),
        ("records without a valid USCC", ~pl.col("valid")),
    ]
    slices += [(f"records from {s}", pl.col("source") == s) for s in ENTITY_SOURCES]
    rows = []
    for name, involving in slices:
        p = pairwise(frame, involving)
        rows.append(
            {
                "slice": name,
                "records": frame.filter(involving).height if involving is not None else frame.height,
                "precision": p.precision,
                "recall": p.recall,
                "f1": p.f1,
            }
        )
    b = bcubed(frame)
    rows.append(
        {
            "slice": "B-cubed (all records)",
            "records": frame.height,
            "precision": b.precision,
            "recall": b.recall,
            "f1": b.f1,
        }
    )
    return pl.DataFrame(rows)


def id_stability(before: pl.DataFrame, after: pl.DataFrame) -> tuple[float, int]:
    """Share of entities whose records are exactly the same in both runs that kept their entity_id."""

    def members(xref: pl.DataFrame) -> pl.DataFrame:
        return (
            xref.with_columns(ref=pl.concat_str("source", "record_key", separator=":"))
            .group_by("entity_id")
            .agg(members=pl.col("ref").sort().str.join("|"))
        )

    same = members(before).join(members(after), on="members", suffix="_after")
    if same.is_empty():
        return 1.0, 0
    return float((same["entity_id"] == same["entity_id_after"]).mean()), same.height


def flag_table(truth_issues: pl.DataFrame, truth_records: pl.DataFrame, issues: pl.DataFrame) -> pl.DataFrame:
    """Per issue type: expected, flagged, precision and recall by (issue_type, true entity)."""
    entity_of = truth_records.select("source", "record_key", "true_entity_id")
    flagged = (
        issues.filter(pl.col("status") != "resolved")
        .join(entity_of, on=["source", "record_key"], how="left")
        .select("issue_type", "true_entity_id")
        .unique()
    )
    expected = truth_issues.select("issue_type", "true_entity_id").unique()
    rows = []
    for issue_type in sorted(set(expected["issue_type"]) | set(flagged["issue_type"])):
        e = expected.filter(pl.col("issue_type") == issue_type)
        f = flagged.filter(pl.col("issue_type") == issue_type)
        hit = f.join(e, on=["issue_type", "true_entity_id"]).height
        rows.append(
            {
                "issue_type": issue_type,
                "expected": e.height,
                "flagged": f.height,
                "correct": hit,
                "precision": _ratio(hit, f.height),
                "recall": _ratio(hit, e.height),
            }
        )
    return pl.DataFrame(rows)


def _silver_codes(lake: Path) -> pl.DataFrame:
    columns = ["record_key", "uscc", "uscc_is_valid", "name_key", "branch_marker"]
    return pl.concat(
        [
            pl.read_delta(str(lake / catalog.silver(s)), columns=columns).with_columns(source=pl.lit(s))
            for s in ENTITY_SOURCES
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.demo.evaluation", description="Score a lake against the demo ground truth."
    )
    parser.add_argument(
        "--lake", type=Path, required=True, help="the run's lake folder (holds gold/ and silver/)"
    )
    parser.add_argument("--truth", type=Path, required=True, help="the generator's ground-truth folder")
    args = parser.parse_args(argv)
    pl.Config.set_tbl_rows(60)
    pl.Config.set_tbl_width_chars(160)
    pl.Config.set_float_precision(4)
    records = pl.read_parquet(args.truth / "records.parquet")
    xref = pl.read_delta(str(args.lake / catalog.ENTITY_XREF))
    print("entity resolution (pairwise; B-cubed last):")
    print(resolution_table(records, xref))
    print(f"entities holding two different valid USCCs: {uscc_conflicts(xref, _silver_codes(args.lake))}")
    issues = pl.read_delta(str(args.lake / catalog.ENTITY_ISSUE))
    print("flags (by issue type and true entity):")
    print(flag_table(pl.read_parquet(args.truth / "issues.parquet"), records, issues))
    return 0


if __name__ == "__main__":
    sys.exit(main())
