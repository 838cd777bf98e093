"""The ground truth agrees with the landing zone and with the warehouse contract's rules."""

from __future__ import annotations

import gzip
import re
import unicodedata
import zipfile
from datetime import date
from pathlib import Path

import opencc
import polars as pl
import pytest

from pipelines.demo import generate
from pipelines.domain import divisions
from pipelines.domain.uscc import is_valid
from tests.demo.conftest import Demo
from tests.demo.reading import canonical_header, key_column, table
from tests.e2e.test_contract import ISSUE_TYPES

pytestmark = pytest.mark.xdist_group("demo")  # one worker generates the shared demo


def _rows_by_position(demo: Demo) -> dict[tuple[str, int], dict[str, str]]:
    """(path, spreadsheet row) -> canonical column -> text, for every loadable entity-source file."""
    out = {}
    files = demo.read("files").filter(
        pl.col("quarantine_reason").is_null() & (pl.col("source") != "corrections")
    )
    for row in files.iter_rows(named=True):
        lines = table(demo.landing / row["path"], row["encoding"])
        columns = canonical_header(row["source"], lines[0])
        for number, values in enumerate(lines[1:], start=2):
            out[(row["path"], number)] = dict(zip(columns, values, strict=False))
    return out


@pytest.fixture(scope="module")
def delivered(demo: Demo) -> dict[tuple[str, int], dict[str, str]]:
    return _rows_by_position(demo)


def test_every_record_is_where_the_truth_says(demo: Demo, delivered: dict) -> None:
    records = demo.read("records")
    assert records.select("source", "record_key").is_duplicated().sum() == 0
    for record in records.iter_rows(named=True):
        row = delivered[(record["path"], record["row"])]
        key = row[key_column(record["source"])]
        if record["source"] == "district":
            key = f"{Path(record['path']).name[:6]}-{key}"
        assert key == record["record_key"], record


def test_every_entity_record_of_a_good_row_is_in_the_truth(demo: Demo, delivered: dict) -> None:
    bad = {(r["path"], r["row"]) for r in demo.read("bad_rows").iter_rows(named=True)}
    copies = set(demo.read("files").drop_nulls("is_identical_redelivery_of")["path"])
    keys = set(demo.read("records").select(pl.concat_str("source", pl.lit("|"), "record_key"))["source"])
    for (path, number), row in delivered.items():
        if (path, number) in bad or path in copies:
            continue
        source = path.split("/")[0]
        key = row[key_column(source)]
        key = f"{Path(path).name[:6]}-{key}" if source == "district" else key
        assert f"{source}|{key}" in keys, (path, number)


def test_uscc_shares_per_source(demo: Demo) -> None:
    records = demo.read("records")
    shares = records.group_by("source").agg(
        valid=pl.col("has_valid_uscc_in_record").mean(),
        blank=pl.col("uscc_blank").mean(),
        invalid=(~pl.col("has_valid_uscc_in_record") & ~pl.col("uscc_blank")).mean(),
    )
    share = {r["source"]: r for r in shares.iter_rows(named=True)}
    assert 0.94 <= share["registration"]["valid"] <= 0.99
    assert 0.07 <= share["licensing"]["blank"] <= 0.18
    assert 0.015 <= share["licensing"]["invalid"] <= 0.07
    assert 0.40 <= share["district"]["blank"] <= 0.62
    assert 0.015 <= share["district"]["invalid"] <= 0.07
    pilot = demo.read("entities").filter(pl.col("is_pilot_code"))["uscc"]
    assert pilot.len() > 0 and not any(is_valid(code) for code in pilot)


def test_issue_types_and_planted_cases(demo: Demo) -> None:
    issues = demo.read("issues")
    assert set(issues["issue_type"]) == ISSUE_TYPES
    planted = issues.filter(pl.col("is_planted")).group_by("issue_type").len()
    assert set(planted["issue_type"]) == ISSUE_TYPES
    assert planted["len"].min() >= 6
    assert demo.summary["planted_missing"] == 0
    assert (
        issues.filter(~pl.col("is_planted")).height > issues.filter(pl.col("is_planted")).height
    )  # natural cases too


def test_orphan_licences_have_no_registration(demo: Demo) -> None:
    records = demo.read("records")
    orphans = demo.read("issues").filter(pl.col("issue_type") == "zombie.orphan_licence")
    owners = records.join(orphans.select("record_key"), on="record_key").select("true_entity_id")
    registered = records.filter(pl.col("source") == "registration").select("true_entity_id")
    assert owners.height == orphans.height and owners.join(registered, on="true_entity_id").height == 0


def test_bad_rows_are_what_they_say(demo: Demo, delivered: dict) -> None:
    bad = demo.read("bad_rows")
    assert set(bad["reason"]) >= {"missing_key", "column_count", "bad_required_date", "vocabulary"}
    assert set(bad.filter(pl.col("source") != "corrections")["source"]) == {
        "registration",
        "licensing",
        "district",
    }
    headers = {r["path"]: len(r["headers"]) for r in demo.read("files").iter_rows(named=True)}
    for row in bad.filter(pl.col("source") != "corrections").iter_rows(named=True):
        values = delivered[(row["path"], row["row"])]
        if row["reason"] == "missing_key":
            assert values[key_column(row["source"])] == ""
        elif row["reason"] == "column_count":
            assert _csv_fields(demo, row["path"], row["row"]) != headers[row["path"]]
        else:
            assert values[row["column"]] == row["value"]


def _csv_fields(demo: Demo, path: str, number: int) -> int:
    file = demo.read("files").filter(pl.col("path") == path).row(0, named=True)
    return len(table(demo.landing / path, file["encoding"])[number - 1])


def test_quarantined_files_are_unreadable_as_claimed(demo: Demo) -> None:
    files = demo.read("files").filter(pl.col("quarantine_reason").is_not_null())
    assert set(files["quarantine_reason"]) == {
        "encoding",
        "truncated",
        "not_tabular",
        "empty",
        "missing_required_header",
        "unknown_header",
        "unknown_source",
        "bad_delivery_folder",
    }
    for row in files.iter_rows(named=True):
        data = (demo.landing / row["path"]).read_bytes()
        reason = row["quarantine_reason"]
        if reason == "encoding":
            for encoding in ("utf-8", "gb18030"):
                with pytest.raises(UnicodeDecodeError):
                    data.decode(encoding)
        elif reason == "empty":
            assert data == b""
        elif reason == "truncated" and row["format"] == "csv":
            lines = data.splitlines()  # the demo's truncated rows hold no quoted commas or newlines
            assert not data.endswith(b"\n") and lines[-1].count(b",") < lines[0].count(b",")
        elif reason == "truncated":
            with pytest.raises(zipfile.BadZipFile):
                zipfile.ZipFile(demo.landing / row["path"])
        elif reason == "not_tabular":
            assert data[:4] in (b"%PDF", b"PK\x03\x04") or gzip.decompress(data)
        elif reason in ("missing_required_header", "unknown_header"):
            header = canonical_header(row["source"], table(demo.landing / row["path"], "utf-8")[0])
            assert ("issued_on" not in header) if reason == "missing_required_header" else (None in header)
        elif reason == "unknown_source":
            assert row["path"].startswith("unknown_source/")
        elif reason == "bad_delivery_folder":
            assert re.match(r"^registration/\d{8}/", row["path"])


def test_identical_redelivery_and_late_delivery(demo: Demo) -> None:
    plan = demo.deliveries
    copy = plan["identical_redelivery"]
    assert (demo.landing / copy["copy"]).read_bytes() == (demo.landing / copy["original"]).read_bytes()
    records = demo.read("records")
    changed = records.filter(
        pl.col("record_key").is_in(copy["changed_keys"]) & (pl.col("source") == "registration")
    )
    assert changed.height == 2 and set(changed["delivery_date"].cast(pl.Utf8)) == {copy["changed_in_between"]}
    assert copy["copy"] not in set(records["path"])
    late = plan["late_delivery"]
    updated = records.filter(pl.col("record_key").is_in(late["updated_keys"]))
    assert updated.height == len(late["updated_keys"]) > 0
    assert set(updated["delivery_date"].cast(pl.Utf8)) == {late["updated_again_in"]}
    assert demo.read("files").filter(pl.col("is_late_delivery"))["delivery_date"].cast(pl.Utf8).to_list() == [
        late["date"]
    ]


def test_judgements_agree_with_the_truth(demo: Demo) -> None:
    judgements = demo.read("judgements")
    assert set(judgements["action"]) == {"same", "different"}
    assert judgements["agrees_with_truth"].all()
    bad = demo.read("bad_rows").filter(pl.col("source") == "corrections")
    assert set(bad["reason"]) == {"vocabulary", "missing_required_value", "bad_required_date"}


# --- formatting noise is never material; material changes always are --------------------------------

_T2S = opencc.OpenCC("t2s")
_PLACES = sorted({*divisions.district_names(), "宁波市", "宁波", "浙江省", "浙江"}, key=len, reverse=True)
_STREETS = sorted(divisions.street_index(), key=len, reverse=True)


def _fold(text: str | None) -> str:
    folded = _T2S.convert(unicodedata.normalize("NFKC", text or ""))
    return re.sub(r"\s+", "", folded).replace("有限责任公司", "有限公司")


def _strip_places(text: str) -> str:
    """Leading province / city / district names, longest first, repeatedly."""
    while place := next((p for p in _PLACES if text.startswith(p)), None):
        text = text[len(place) :]
    return text


def _name_key(text: str | None) -> str:
    return _strip_places(_fold(text)).replace("(", "").replace(")", "")


def _address_key(text: str | None) -> str:
    key = _strip_places(_fold(text))
    for street in _STREETS:
        key = key.replace(street, "")
    key = re.sub(r"^[\u4e00-\u9fff]{2}(?:街道|镇|乡)", "", key)  # a street no table holds
    key = re.sub(r"^[\u4e00-\u9fff]{2}(?:社区|村)", "", key)  # a community before the road
    return key.replace("(", "").replace(")", "")


def test_formatting_variants_are_not_issues_and_material_changes_are(demo: Demo) -> None:
    """A simple independent normaliser (width, brackets, spaces, traditional, legal form, places, streets)
    sees the same record as the registration exactly when the truth says there is no inconsistency."""
    entities = demo.read("entities").filter(pl.col("has_registration"))
    records = demo.read("records").filter(pl.col("source") != "registration")
    flagged = demo.read("issues").select("issue_type", "record_key")
    joined = records.join(
        entities.select("true_entity_id", "name", "address", "legal_rep").rename(
            {"name": "reg_name", "address": "reg_address", "legal_rep": "reg_rep"}
        ),
        on="true_entity_id",
    )
    checks = (
        ("inconsistent.name", "name_in_record", "reg_name", _name_key),
        ("inconsistent.legal_rep", "legal_rep_in_record", "reg_rep", _fold),
        ("inconsistent.address", "address_in_record", "reg_address", _address_key),
    )
    for issue_type, written, registered, key in checks:
        marked = set(flagged.filter(pl.col("issue_type") == issue_type)["record_key"])
        frame = (
            joined if issue_type != "inconsistent.address" else joined.filter(pl.col("source") == "licensing")
        )
        for row in frame.iter_rows(named=True):
            if not row[written] or not row[registered] or row[registered] in ("*",):
                continue
            text = row[written]
            if issue_type == "inconsistent.name":
                if _fold(text) in (_fold(row["reg_rep"]), _fold(row["legal_rep_in_record"])):
                    continue  # issued to the 个体工商户's operator: no name to compare
                text = re.sub(
                    r"\((?!有限合伙|普通合伙)[\u4e00-\u9fff]{2,4}\)$", "", _fold(text)
                )  # the operator added
            differs = key(text) != key(row[registered])
            assert differs == (row["record_key"] in marked), (
                issue_type,
                row["record_key"],
                row[written],
                row[registered],
            )


@pytest.mark.parametrize("days", [1, 2, 3])
def test_short_runs_keep_their_promises(tmp_path: Path, days: int) -> None:
    summary = generate(
        tmp_path / "landing", tmp_path / "truth", entities=800, seed=3, days=days, start=date(2026, 1, 5)
    )
    assert summary["planted_missing"] == 0
    issues = pl.read_parquet(tmp_path / "truth" / "issues.parquet")
    assert set(issues["issue_type"]) == ISSUE_TYPES
    folders = {p.name for p in (tmp_path / "landing" / "district").iterdir()}
    assert len(folders) == days


def test_a_long_landing_zone_has_its_ground_truth(tmp_path: Path) -> None:
    """Sixty days write hundreds of files before the first re-delivery: the file table's columns that were
    null until then must still be strings (the year-of-nights bench once failed here)."""
    generate(tmp_path / "landing", tmp_path / "truth", entities=500, seed=3, days=60)
    files = pl.read_parquet(tmp_path / "truth" / "files.parquet")
    assert files.height > 200 and files["delivery_date"].n_unique() >= 60
    for column in ("encoding", "date_style", "quarantine_reason", "is_identical_redelivery_of"):
        assert files.schema[column] == pl.String, column
    assert files["is_identical_redelivery_of"].drop_nulls().len() > 0
