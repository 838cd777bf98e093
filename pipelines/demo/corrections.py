"""The steward corrections delivery: match judgements only (issue and entity ids do not exist before a run).

`same` rows join a hard true pair (a licence without USCC whose 字号 has a sound-alike typo, and its
registration); `different` rows keep hard negatives apart (namesakes in two districts, one operator's two
shops, a branch and its parent). A few rows break the rules: an unknown action, no steward, a date that
is not a date.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from pipelines.demo import files
from pipelines.demo.landing import Landing, WrittenFile
from pipelines.domain import worksheets

CORRECTION_COLUMNS = tuple(worksheets.DECISION_COLUMNS)  # the columns a steward's worksheet hands back
STEWARDS = ("张晓燕", "李建国", "王丽", "陈海波")


def write(
    landing: Landing,
    ent: pl.DataFrame,
    finals: dict[str, pl.DataFrame],
    same_pairs: list[tuple[int, int]],
    day: date,
) -> WrittenFile:
    """`finals`: final rows per source with `record_key` and `_eid` (and `_ref` for licences)."""
    rows = _same(finals, same_pairs, day) + _different(ent, finals, day) + _bad(finals, day)
    frame = pl.DataFrame(rows, schema={c: pl.Utf8 for c in (*CORRECTION_COLUMNS, "_bad")}, orient="row")
    name = f"judgements_{day:%Y%m%d}.csv"
    relative = f"corrections/{day.isoformat()}/{name}"
    landing.write_raw(
        WrittenFile(
            "corrections",
            day,
            relative,
            "csv",
            "utf-8-sig",
            "iso",
            list(CORRECTION_COLUMNS),
            frame,
            bad_rows=[
                {
                    "source": "corrections",
                    "path": relative,
                    "row": i + 2,
                    "reason": r["_bad"],
                    "column": r["column"],
                    "value": r["value"],
                    "delta": 0,
                }
                for i, r in enumerate(_bad_details(frame))
                if r["_bad"]
            ],
        ),
        files.csv_bytes(frame.select(CORRECTION_COLUMNS), "utf-8-sig", "\r\n"),
    )
    return landing.written[-1]


def _row(
    action: str,
    left: tuple[str, str],
    right: tuple[str, str],
    steward: str,
    decided: str,
    comment: str,
    bad: str | None = None,
) -> tuple[str | None, ...]:
    return (
        None,
        action,
        None,
        None,
        None,
        left[0],
        left[1],
        right[0],
        right[1],
        steward or None,
        decided,
        comment,
        bad,
    )


def _key_of(finals: dict[str, pl.DataFrame], source: str, eid: int) -> str | None:
    rows = finals[source].filter(pl.col("_eid") == eid)
    return rows["record_key"][-1] if rows.height else None


def _keys_of(finals: dict[str, pl.DataFrame], source: str, eids: list[int]) -> dict[int, str]:
    """The last final record key of each entity in a source."""
    rows = finals[source].filter(pl.col("_eid").is_in(pl.Series(eids, dtype=pl.Int64).implode()))
    return dict(zip(rows["_eid"].to_list(), rows["record_key"].to_list(), strict=True))


def _same(
    finals: dict[str, pl.DataFrame], pairs: list[tuple[int, int]], day: date
) -> list[tuple[str | None, ...]]:
    out = []
    licences = finals["licensing"]
    for i, (lid, eid) in enumerate(pairs):
        licence = licences.filter(pl.col("_ref") == lid)
        registration = _key_of(finals, "registration", eid)
        if licence.height and registration:
            out.append(
                _row(
                    "same",
                    ("licensing", licence["record_key"][0]),
                    ("registration", registration),
                    STEWARDS[i % 4],
                    (day - timedelta(days=1 + i)).isoformat(),
                    "许可证无信用代码，字号系录入笔误，经核实为同一主体",
                )
            )
    return out


def _different(ent: pl.DataFrame, finals: dict[str, pl.DataFrame], day: date) -> list[tuple[str | None, ...]]:
    """Hard negatives a matcher might join: a namesake's inspection vs the other's registration, etc."""
    out = []
    for kind, source, comment, count in (
        ("same_name_other_district", "district", "同字号同行业，但分属不同区县，系两家独立企业", 2),
        ("same_operator", "district", "同一经营者在不同场所开设的两家个体工商户", 1),
        ("branch_parent", "registration", "分公司与总公司为不同市场主体", 1),
    ):
        pairs = ent.filter(pl.col("hard_negative_kind") == kind).select("eid", "hard_negative_of", "kind")
        if kind == "branch_parent":
            pairs = pairs.filter(pl.col("kind") == "branch")
        lefts = _keys_of(finals, source, pairs["eid"].to_list())
        rights = _keys_of(finals, "registration", pairs["hard_negative_of"].to_list())
        added = 0
        for eid, partner, _ in pairs.iter_rows():
            left, right = lefts.get(eid), rights.get(partner)
            if left and right and added < count:
                out.append(
                    _row(
                        "different",
                        (source, left),
                        ("registration", right),
                        STEWARDS[len(out) % 4],
                        (day - timedelta(days=len(out) + 1)).strftime("%Y/%m/%d"),
                        comment,
                    )
                )
                added += 1
    return out


def _bad(finals: dict[str, pl.DataFrame], day: date) -> list[tuple[str | None, ...]]:
    registration = finals["registration"]["record_key"]
    left, right = ("registration", registration[0]), ("registration", registration[1])
    return [
        _row("merge", left, right, "王丽", day.isoformat(), "未知操作", "vocabulary"),
        _row("different", left, right, "", day.isoformat(), "缺少经办人", "missing_required_value"),
        _row("same", left, right, "李建国", "上周五", "日期无法解析", "bad_required_date"),
    ]


def _bad_details(frame: pl.DataFrame) -> list[dict[str, object]]:
    column = {"vocabulary": "action", "missing_required_value": "steward", "bad_required_date": "decided_on"}
    out = []
    for row in frame.iter_rows(named=True):
        reason = row["_bad"]
        col = column.get(reason) if reason else None
        out.append({"_bad": reason, "column": col, "value": row[col] if col else None})
    return out
