"""The closed loop: run, a steward fills a worksheet, it lands in corrections/, the next run applies it."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from pipelines.domain.worksheets import DECISION_COLUMNS, HEADERS
from pipelines.orchestration.runner import run_batch
from tests.conftest import Run, copy_landing, copy_of_run

pytestmark = pytest.mark.xdist_group("loop")
STEWARD = "王晓燕"
DECIDED = "2026-11-22"


def column(name: str) -> int:
    return DECISION_COLUMNS.index(name) + 1


def fill(sheet: openpyxl.worksheet.worksheet.Worksheet, row: int, **values: str) -> None:
    for name, value in {"steward": STEWARD, "decided_on": DECIDED, **values}.items():
        sheet.cell(row=row, column=column(name), value=value)


def test_worksheet_decisions_come_back_validated_applied_and_audited(pipeline: Run, tmp_path: Path) -> None:
    landing = copy_landing(pipeline.demo, tmp_path / "landing")
    run = copy_of_run(pipeline, tmp_path / "run", landing)  # the first night: the shared demo run
    as_of = run.sql("select max(delivery_date) as d from load_summary")["d"].item()
    folder = run.paths.reports / "worksheets" / as_of.isoformat()
    book_path = next(
        p for p in sorted(folder.glob("3302*.xlsx")) if openpyxl.load_workbook(p).active.max_row > 3
    )

    # The published worksheets are data only: no formula cells anywhere, personal data only in district sheets.
    for path in folder.glob("*.xlsx"):
        for sheet in openpyxl.load_workbook(path).worksheets:
            assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row), path
    city = openpyxl.load_workbook(folder / "city.xlsx").active
    evidence = [
        row[HEADERS.index("证据")]
        for row in city.iter_rows(min_row=2, values_only=True)
        if row[HEADERS.index("问题类型")] == "inconsistent.legal_rep"
    ]
    assert evidence and all("legal_rep: ***" in e for e in evidence)

    book = openpyxl.load_workbook(book_path)
    sheet = book.active
    assert [c.value for c in sheet[1]] == HEADERS
    rows = [r for r in range(2, sheet.max_row + 1) if sheet.cell(r, column("issue_id")).value]
    dismissed_id, confirmed_id = (sheet.cell(r, column("issue_id")).value for r in rows[:2])
    fill(sheet, rows[0], action="dismiss", comment="已核实，经营正常")
    fill(sheet, rows[1], action="confirm")

    corrected_entity = run.sql(
        "select entity_id from golden_entity where registration_record_key is not null order by entity_id limit 1"
    )["entity_id"].item()
    pair = run.sql(
        "select r.record_key as left_key, l.record_key as right_key, r.entity_id from entity_xref r join entity_xref l "
        "on r.entity_id = l.entity_id where r.source = 'registration' and l.source = 'licensing' and l.match_method = 'fuzzy' "
        "and r.entity_id <> ? order by r.entity_id limit 1",
        [corrected_entity],
    ).row(0, named=True)
    extra = sheet.max_row + 1
    fill(
        sheet,
        extra,
        action="correct",
        entity_id=corrected_entity,
        field="name",
        new_value='=HYPERLINK("x") 更正后的名称',
    )
    fill(
        sheet,
        extra + 1,
        action="different",
        left_source="registration",
        left_key=pair["left_key"],
        right_source="licensing",
        right_key=pair["right_key"],
    )
    fill(
        sheet, extra + 2, action="dismiss", issue_id="I000000000000dead"
    )  # unknown issue: rejected with a reason
    fill(
        sheet, extra + 3, action="correct", entity_id=corrected_entity, field="uscc", new_value="x"
    )  # not correctable
    for cell in sheet[extra]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
    delivery = landing / "corrections" / "2026-11-23"  # the night after the demo's last delivery
    delivery.mkdir(parents=True)
    book.save(delivery / "worksheet.xlsx")

    run_batch(run.paths, echo=lambda *_: None, analyse=False)

    issues = run.sql(
        "select issue_id, status from entity_issue where issue_id in (?, ?)", [dismissed_id, confirmed_id]
    )
    assert dict(issues.rows()) == {dismissed_id: "dismissed", confirmed_id: "confirmed"}
    golden = run.sql(
        "select name, name_source from golden_entity where entity_id = ?", [corrected_entity]
    ).row(0)
    assert golden == ('=HYPERLINK("x") 更正后的名称', f"steward:{STEWARD}")
    split = run.sql(
        "select record_key, entity_id from entity_xref where record_key in (?, ?)",
        [pair["left_key"], pair["right_key"]],
    )
    assert split["entity_id"].n_unique() == 2
    log = run.sql("select * from correction_log order by action")
    ours = log.filter(pl.col("steward") == STEWARD)
    assert sorted(ours["action"].to_list()) == ["confirm", "correct", "different", "dismiss"]
    assert ours.filter(pl.col("action") == "dismiss").row(0, named=True)["after"] == "dismissed"
    assert ours.filter(pl.col("action") == "correct").row(0, named=True)["after"] == golden[0]
    different = ours.filter(pl.col("action") == "different").row(0, named=True)
    assert (
        different["before"] == f"{pair['entity_id']} / {pair['entity_id']}"
        and len(set(different["after"].split(" / "))) == 2
    )
    rejected = run.sql(
        "select row, reason from quarantine where source = 'corrections' and file like '%worksheet.xlsx' order by row"
    )
    assert [r for r in rejected["reason"]] == [
        "unknown issue_id (not in the published entity_issue)",
        "field is not correctable (one of name, legal_rep, address, district_code, entity_type, status)",
    ]

    # The same file again (a copy in a later folder) changes nothing; the dismissal holds on a rerun.
    before = {
        t: pl.read_delta(str(run.paths.lake / t)).drop("run_id").sort(pl.all())
        for t in ("gold/correction_log", "gold/entity_issue", "gold/golden_entity")
    }
    again = landing / "corrections" / "2026-11-24"
    again.mkdir()
    shutil.copy(delivery / "worksheet.xlsx", again / "worksheet_again.xlsx")
    run_batch(run.paths, echo=lambda *_: None, analyse=False)
    after = {t: pl.read_delta(str(run.paths.lake / t)).drop("run_id").sort(pl.all()) for t in before}
    assert after["gold/correction_log"].equals(before["gold/correction_log"])
    assert after["gold/golden_entity"].equals(before["gold/golden_entity"])
    statuses = dict(after["gold/entity_issue"].select("issue_id", "status").rows())
    assert statuses[dismissed_id] == "dismissed" and statuses[confirmed_id] == "confirmed"
