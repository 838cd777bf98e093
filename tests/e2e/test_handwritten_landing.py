"""A landing zone typed by hand (tests/fixtures/handwritten), not written by our generator, with the outcome
the contract asks for worked out by hand: which records are one entity, which issues are raised and which
must not be, what is quarantined. Licensing arrives for the first time on the second night.

The entities (registration 主体身份代码 → what the rows say):
- …101 宁波甬江精密机械有限公司; …001 is its legacy record (no USCC, same name, legal rep, address): a duplicate.
  Its licence SC…005 names another legal rep (李明) and expired 2026-08-31; 海曙 found it operating on 2026-09-02.
  海曙's row HS2026002 names it "甬江精密机械" (no prefix, no legal form: formatting only).
- …102 its 江北分公司. Licence JY…002 writes the name with the branch part in brackets and carries the
  PARENT's USCC, as branch licences do: it is the branch's licence, and nothing about it is inconsistent.
- …103 鄞州区老王面馆 (个体); its licence and inspection name only the shop (老王面馆), without USCC.
- …104 deregistered, with a 有效 licence: a zombie.  …105 no annual report since 2022: a zombie.
- …107 a mistyped USCC check character.  …108 on the abnormal list for 无法联系: a zombie.
- …109 个体 without a trade name (*); 鄞州 names the operator (李秀英) and found the shop closed (已停业).
- JY…004 镇海区味美小吃店: a licence with no registration: an orphan.
"""

from __future__ import annotations

import dagster as dg
import pytest

from tests.conftest import Run

pytestmark = pytest.mark.xdist_group("handwritten")

EXPECTED_ISSUES = {
    ("duplicate.registration", "3302030100000001"),
    ("inconsistent.legal_rep", "SC10633020300005"),
    ("expired_licence.still_operating", "SC10633020300005"),
    ("zombie.deregistered_with_active_licence", "浙甬药监械经营备20240003号"),
    ("zombie.no_annual_report", "3302110100000105"),
    ("invalid.uscc", "3302810100000107"),
    ("zombie.unreachable", "3302820100000108"),
    ("zombie.ceased_operating", "330212-YZ0002"),
    ("zombie.orphan_licence", "JY13302110000004"),
}
SAME_ENTITY = [  # (source, record_key) groups that must share one entity_id
    {("registration", "3302030100000101"), ("registration", "3302030100000001"), ("licensing", "SC10633020300005"),
     ("district", "330203-HS2026001"), ("district", "330203-HS2026002")},
    {("registration", "3302050200000102"), ("licensing", "JY13302050000002")},
    {("registration", "3302120900000103"), ("licensing", "JY13302120000001"), ("district", "330212-YZ0001")},
    {("registration", "3302060100000104"), ("licensing", "浙甬药监械经营备20240003号")},
    {("registration", "3302120900000109"), ("district", "330212-YZ0002")},
]  # fmt: skip
EXPECTED_QUARANTINE = {
    ("registration", "registration/2026-11-20/商事登记_20261120.csv", 11),
    ("registration", "registration/2026-11-20/说明.txt", None),
    ("district", "district/2026-11-20/汇总表.csv", None),
    ("licensing", "licensing/2026-11-21/四品一械许可_20261121.csv", 7),
}


def test_the_first_night_publishes_without_any_licence(handwritten: tuple[Run, Run]) -> None:
    first, _ = handwritten
    assert first.sql("select count(*) as n from licence_fact")["n"].item() == 0
    assert (
        first.sql("select count(*) as n from golden_entity")["n"].item() == 8
    )  # 9 registrations, one a duplicate
    assert "zombie.orphan_licence" not in set(first.sql("select issue_type from entity_issue")["issue_type"])


def test_records_resolve_to_the_entities_worked_out_by_hand(handwritten: tuple[Run, Run]) -> None:
    _, second = handwritten
    xref = {
        (s, k): e
        for s, k, e in second.sql("select source, record_key, entity_id from entity_xref").iter_rows()
    }
    assert len(xref) == 18  # every loaded record once
    for group in SAME_ENTITY:
        assert len({xref[record] for record in group}) == 1, group
    groups = [{xref[record] for record in group} for group in SAME_ENTITY]
    assert len(set().union(*groups)) == len(SAME_ENTITY)  # and the groups are different entities
    assert second.sql("select count(*) as n from golden_entity")["n"].item() == 9  # 8 registered + the orphan


def test_exactly_the_issues_worked_out_by_hand(handwritten: tuple[Run, Run]) -> None:
    _, second = handwritten
    issues = set(second.sql("select issue_type, record_key from entity_issue").iter_rows())
    assert (
        issues == EXPECTED_ISSUES
    )  # in particular: no inconsistent.name for brackets, prefixes or shop names


def test_bad_files_and_rows_are_quarantined_with_a_reason(handwritten: tuple[Run, Run]) -> None:
    _, second = handwritten
    rows = second.sql("select source, file, row, reason from quarantine")
    assert {(s, f, r) for s, f, r, _ in rows.iter_rows()} == EXPECTED_QUARANTINE
    assert rows["reason"].str.len_chars().min() > 10


def test_each_delivery_partition_carries_its_own_figures_and_checks(handwritten: tuple[Run, Run]) -> None:
    """Read through Dagster's API, as the UI does: per partition, not the run's totals."""
    _, second = handwritten
    instance = dg.DagsterInstance.from_config(str(second.paths.dagster_home))
    key = dg.AssetKey(["bronze", "registration_deliveries"])
    # files, rows read, loaded, quarantined; 说明.txt is a file of the first delivery, quarantined whole
    expected = {"2026-11-20": (2, 10, 9, 2), "2026-11-21": (1, 1, 1, 0)}
    for partition, figures in expected.items():
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
        )
        metadata = records.records[0].asset_materialization.metadata
        assert (
            tuple(metadata[k].value for k in ("files", "rows_read", "rows_loaded", "rows_quarantined"))
            == figures
        )
    check = dg.AssetCheckKey(key, "expect_table_row_count_to_be_between")
    history = instance.event_log_storage.get_asset_check_execution_history(check, limit=10)
    judged = {
        r.event.dagster_event.event_specific_data.partition: r.event.dagster_event.event_specific_data
        for r in history
    }
    assert set(judged) == set(expected)
    assert judged["2026-11-20"].metadata["observed"].value == {"2026-11-20": "9"}
    assert judged["2026-11-21"].metadata["observed"].value == {"2026-11-21": "1"}
