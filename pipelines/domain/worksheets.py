"""Steward worksheets: one xlsx per district (and one for the city) of open issues and pairs to judge.

The first sheet is laid out exactly like a `corrections` delivery (the contract's columns first, then
context columns the corrections reader knows and ignores), so a filled worksheet is dropped into
`landing/corrections/<date>/` as it is. Every text cell is written as a literal string: a value such as
`=HYPERLINK(...)` or `+cmd|...` shows as text and never becomes a formula. Personal data (legal
representatives, phones) appears only in the worksheet of the district that supervises the entity.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import polars as pl
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from pipelines.domain.contract import CORRECTION_ACTIONS, SPECS, WORKSHEET_INFO_HEADERS, decision_header
from pipelines.domain.corrections import CORRECTABLE_FIELDS
from pipelines.domain.text import template

DECISION_COLUMNS = [c for c in SPECS["corrections"].columns if not c.startswith("info_")]
INFO_COLUMNS = [f"info_{c}" for c in WORKSHEET_INFO_HEADERS]
# Chinese first, the canonical name beside it: `处理决定(action)`; the corrections reader accepts both forms.
HEADERS = [decision_header(c) for c in DECISION_COLUMNS] + [
    WORKSHEET_INFO_HEADERS[c.removeprefix("info_")] for c in INFO_COLUMNS
]
INSTRUCTIONS = [
    ("填写说明", "How to fill in this worksheet"),
    (
        "1. 在“待处理问题”表中，对已作出决定的行填写：处理决定(action)、处理人(steward)、处理日期(decided_on，格式 2026-11-22)。",
        "1. On the first sheet, fill action, steward and decided_on (YYYY-MM-DD) of each row you decided.",
    ),
    (
        "2. 处理决定：confirm 确认问题，dismiss 排除（证据不变时不再提示），correct 更正字段，"
        "same / different 判断两条记录是否同一主体。",
        "2. action: confirm, dismiss (stays closed while the evidence is unchanged), correct a field, "
        "same / different for a pair of records.",
    ),
    (
        "3. correct 时填写更正字段(field：name, legal_rep, address, district_code, entity_type, status)和更正后的值(new_value)。",
        "3. For correct, fill field (name, legal_rep, address, district_code, entity_type, status) and new_value.",
    ),
    (
        "4. 未作决定的行留空。保存后放入 data/landing/corrections/<当天日期>/，下次运行时校验并生效；重复放入同一文件不会重复生效。",
        "4. Leave undecided rows empty. Save into data/landing/corrections/<today>/; the next run validates and "
        "applies it; dropping the same file again changes nothing.",
    ),
    (
        "5. 表头为“中文(规范字段名)”；也可使用只含规范字段名的 csv。“监管任务”表列出本区县新生成的监管任务。",
        "5. Headers read `Chinese(canonical name)`; a csv with the canonical names works too. The second sheet "
        "lists the district's new supervision tasks.",
    ),
]
PERSONAL_KEYS = ("legal_rep", "registered_legal_rep", "phone")
TASK_COLUMNS = {
    "task_id": "任务编号",
    "entity_id": "主体编号",
    "reason": "原因",
    "detail": "说明",
    "due_on": "完成期限",
    "created_on": "生成日期",
}
MAX_ROWS = 1_048_000  # one sheet's limit, with room for the header


def issue_rows(issues: pl.DataFrame, mask_personal: bool) -> pl.DataFrame:
    """Open issues as worksheet rows: decision columns empty except the ids, context filled in."""
    evidence = issues["evidence"].map_elements(lambda e: _readable(e, mask_personal), return_dtype=pl.String)
    return issues.with_columns(info_evidence=evidence).select(
        issue_id="issue_id",
        entity_id="entity_id",
        info_issue_type="issue_type",
        info_severity="severity",
        info_detail=pl.col("detail") if not mask_personal or issues.is_empty() else _mask_detail(),
        info_entity_name="entity_name",
        info_district_code="district_code",
        info_record=pl.concat_str("source", "record_key", separator=":"),
        info_evidence="info_evidence",
        info_first_detected_on=pl.col("first_detected_on").cast(pl.String),
        info_status="status",
    )


def _mask_detail() -> pl.Expr:
    # Details of legal-rep issues quote the names: the city sheet shows the type, not the names.
    return (
        pl.when(pl.col("issue_type") == "inconsistent.legal_rep")
        .then(pl.lit("负责人与登记的法定代表人不一致"))
        .otherwise(pl.col("detail"))
    )


def _readable(evidence: str, mask_personal: bool) -> str:
    values = json.loads(evidence) if evidence else {}
    shown = {
        k: ("***" if mask_personal and k in PERSONAL_KEYS else v) for k, v in values.items() if v is not None
    }
    return "; ".join(f"{k}: {v}" for k, v in shown.items())


def pair_rows(pairs: pl.DataFrame) -> pl.DataFrame:
    """Possible duplicates below the match threshold, for a same/different judgement."""
    return pairs.select(
        left_source="source_l",
        left_key="record_key_l",
        right_source="source_r",
        right_key="record_key_r",
        info_issue_type=pl.lit("possible_duplicate"),
        info_detail=template(
            "疑似同一主体（匹配概率 {}），请判断 same / different", pl.col("match_probability").round(3)
        ),
        info_district_code="district_code",
    )


# Every string is written as a string: no formulas, numbers or links are read into delivered text.
LITERAL = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
    "constant_memory": True,
}


def fingerprint(rows: pl.DataFrame, tasks: pl.DataFrame) -> str:
    """What a worksheet would hold: equal fingerprints write equal sheets, so a night that did not change a
    district's issues, pairs or tasks need not render its workbook again."""
    digest = hashlib.sha256()
    digest.update(
        json.dumps([HEADERS, INSTRUCTIONS], ensure_ascii=False).encode()
    )  # the layout is content too
    for frame in (rows, tasks):
        digest.update(",".join(f"{c}:{t}" for c, t in frame.schema.items()).encode())
        digest.update(frame.hash_rows(seed=0).to_numpy().tobytes())
    return digest.hexdigest()


MANIFEST = "fingerprints.json"


def publish(
    folder: Path, sheets: dict[str, tuple[pl.DataFrame, pl.DataFrame]], workers: int | None = None
) -> dict[str, str]:
    """Write each sheet (file name -> its rows and tasks) into `folder`, unless the same content is there
    already ('unchanged') or in the latest earlier folder, which is then copied ('copied'); else 'written'.
    Rendering is what costs (tens of seconds a night at city scale); most districts' sheets do not change,
    and the ones that do are rendered on `workers` processes (default: one per core)."""
    here, earlier = _manifest(folder), _latest_earlier(folder)
    before = _manifest(earlier) if earlier else {}
    outcome, prints, to_render = {}, {}, {}
    for name, (rows, tasks) in sheets.items():
        prints[name] = fingerprint(rows, tasks)
        target = folder / name
        if here.get(name) == prints[name] and target.exists():
            outcome[name] = "unchanged"
        elif earlier and before.get(name) == prints[name] and (earlier / name).exists():
            _replace(target, lambda tmp, source=earlier / name: shutil.copyfile(source, tmp))
            outcome[name] = "copied"
        else:
            to_render[target] = (rows, tasks)
            outcome[name] = "written"
    _render_all(to_render, workers or os.cpu_count() or 1)
    # Written last: a run killed before this line leaves whole files and an older manifest, which only
    # makes the next run render again.
    (folder / MANIFEST).write_text(json.dumps(prints, indent=1, sort_keys=True), encoding="utf-8")
    return outcome


# Below this many rows in all, starting worker processes (about a second each) costs more than it saves.
PARALLEL_FROM_ROWS = 50_000


def _render_all(sheets: dict[Path, tuple[pl.DataFrame, pl.DataFrame]], workers: int) -> None:
    """Render the workbooks, largest first. xlsxwriter is pure Python and holds the GIL, so a city's
    workbooks (hundreds of thousands of rows) are split over processes, not threads."""
    largest_first = sorted(sheets.items(), key=lambda item: -item[1][0].height)
    if workers < 2 or len(sheets) < 2 or sum(r.height for r, _ in sheets.values()) < PARALLEL_FROM_ROWS:
        for target, (rows, tasks) in largest_first:
            _render(target, rows, tasks)
        return
    spawn = multiprocessing.get_context("spawn")  # not fork: the parent runs polars' and Dagster's threads
    with ProcessPoolExecutor(min(workers, len(sheets)), mp_context=spawn) as pool:
        for done in [pool.submit(_render, t, rows, tasks) for t, (rows, tasks) in largest_first]:
            done.result()  # a worker's error is raised here, in the step


def _render(target: Path, rows: pl.DataFrame, tasks: pl.DataFrame) -> None:
    _replace(target, lambda tmp: write(tmp, rows, tasks))


def _replace(target: Path, make: Callable[[Path], object]) -> None:
    """Make the file beside its target and rename it into place: a reader never opens half a workbook."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    make(tmp)
    os.replace(tmp, target)


def _manifest(folder: Path) -> dict[str, str]:
    path = folder / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _latest_earlier(folder: Path) -> Path | None:
    """The previous night's folder (folders are named by as-of date, so names sort by date)."""
    earlier = sorted(p for p in folder.parent.glob("*") if p.is_dir() and p.name < folder.name)
    return earlier[-1] if earlier else None


def write(path: Path, rows: pl.DataFrame, tasks: pl.DataFrame) -> int:
    """Write a worksheet (xlsxwriter, streaming); returns the number of decision rows."""
    frame = pl.concat(
        [pl.DataFrame(schema={c: pl.String for c in DECISION_COLUMNS + INFO_COLUMNS}), rows],
        how="diagonal_relaxed",
    )
    frame = frame.select(DECISION_COLUMNS + INFO_COLUMNS).head(MAX_ROWS)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), LITERAL)
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7"})
    sheet = book.add_worksheet("待处理问题")
    _write_table(sheet, header, HEADERS, frame.iter_rows())
    _decorate(sheet, frame.height)
    tasks_sheet = book.add_worksheet("监管任务")
    _write_table(
        tasks_sheet,
        header,
        list(TASK_COLUMNS.values()),
        tasks.select(list(TASK_COLUMNS)).cast(pl.String).iter_rows(),
    )
    guide = book.add_worksheet("填写说明")
    guide.set_column(0, 1, 90)
    _write_table(guide, header, list(INSTRUCTIONS[0]), INSTRUCTIONS[1:])
    book.close()
    return frame.height


def _write_table(sheet: Worksheet, header: Format, headers: list[str], rows: Iterable[tuple]) -> None:
    sheet.write_row(0, 0, headers, header)
    for number, values in enumerate(rows, start=1):
        sheet.write_row(number, 0, values)


def _decorate(sheet: Worksheet, height: int) -> None:
    sheet.freeze_panes(1, 2)
    last = max(height, 1)
    for name, options in (("action", sorted(CORRECTION_ACTIONS)), ("field", list(CORRECTABLE_FIELDS))):
        column = DECISION_COLUMNS.index(name)
        sheet.data_validation(
            1, column, last, column, {"validate": "list", "source": options, "ignore_blank": True}
        )
    for index, title in enumerate(HEADERS):
        sheet.set_column(index, index, 40 if title in ("问题描述", "证据") else 16)
