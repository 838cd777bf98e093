"""The masking rules of the open/shared models on hand-made rows: compound surnames, odd names and phones.

Runs the model SQL files themselves on DuckDB tables standing in for their inputs; no lake is built.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl
import pytest

from pipelines.publishing import data_dictionary, seeds
from pipelines.publishing.sql_models import model_sql

SHARED_COLUMNS = {
    "entity_id": pl.String,
    "uscc": pl.String,
    "reg_no": pl.String,
    "name": pl.String,
    "entity_type": pl.String,
    "entity_kind": pl.String,
    "is_individual": pl.Boolean,
    "personal_data_withheld": pl.Boolean,
    "legal_rep": pl.String,
    "phone": pl.String,
    "address": pl.String,
    "district_code": pl.String,
    "status": pl.String,
    "established_on": pl.Date,
    "deregistered_on": pl.Date,
    "revoked_on": pl.Date,
    "registered_capital_wan": pl.Float64,
    "registration_authority": pl.String,
    "business_scope": pl.String,
    "licence_count": pl.Int64,
    "active_licence_count": pl.Int64,
    "in_abnormal_list": pl.Boolean,
}

NAMES = [
    ("欧阳修", "欧阳*"),
    ("诸葛亮", "诸葛*"),
    ("上官婉儿", "上官*"),
    ("司马相如", "司马*"),
    ("钟离春", "钟离*"),
    ("端木蓉", "端木*"),
    ("令狐冲", "令狐*"),
    ("慕容复", "慕容*"),
    ("尉迟恭", "尉迟*"),
    ("皇甫嵩", "皇甫*"),
    ("司马", "司*"),  # two characters: surname 司 + given name 马, not the compound surname alone
    ("欧阳", "欧*"),
    ("张三丰", "张*"),
    ("王梓", "王*"),
    ("李", "李*"),
    ("欧明", "欧*"),
    ("SMITH JOHN", "S*"),
    ("阿依古丽买买提", "阿*"),
    (None, None),
]
PHONES = [
    ("13812345678", "138******78"),
    ("19900001111", "199******11"),
    ("0574-87654321", "0574-********"),
    ("010-61234567", "010-********"),
    ("0571-2345678", "0571-*******"),
    ("12345", "*****"),
    (None, None),
]


def open_entity(rows: list[dict]) -> pl.DataFrame:
    base = {c: None for c in SHARED_COLUMNS}
    frame = pl.DataFrame([{**base, **r} for r in rows], schema=SHARED_COLUMNS)
    with duckdb.connect() as connection:
        connection.register("shared_entity_rows", frame.to_arrow())
        connection.execute("create table shared_entity as select * from shared_entity_rows")
        seeds.register_duckdb(connection, ["compound_surname"])
        return connection.sql(model_sql("open_entity")).pl()


def test_legal_rep_is_reduced_to_the_surname_and_a_star() -> None:
    rows = [
        {
            "entity_id": f"E{i:03}",
            "legal_rep": name,
            "entity_kind": "company",
            "personal_data_withheld": False,
        }
        for i, (name, _) in enumerate(NAMES)
    ]
    got = dict(open_entity(rows).select("entity_id", "legal_rep_masked").iter_rows())
    assert [got[f"E{i:03}"] for i in range(len(NAMES))] == [masked for _, masked in NAMES]


def test_phones_keep_only_the_prefix_and_the_last_digits() -> None:
    rows = [{"entity_id": f"E{i:03}", "phone": phone} for i, (phone, _) in enumerate(PHONES)]
    got = dict(open_entity(rows).select("entity_id", "phone_masked").iter_rows())
    assert [got[f"E{i:03}"] for i in range(len(PHONES))] == [masked for _, masked in PHONES]


def test_open_entity_has_no_unmasked_column() -> None:
    columns = open_entity([{"entity_id": "E1"}]).columns
    assert "legal_rep" not in columns and "phone" not in columns
    assert columns == list(data_dictionary.TABLES["open_entity"].columns)


@pytest.fixture()
def shared_inputs() -> duckdb.DuckDBPyConnection:
    """golden_entity and silver.registration with a company, a 个体 named by its operator, and an unknown kind."""
    golden = pl.DataFrame(
        [
            {
                "entity_id": "E1",
                "name": "宁波甲乙有限公司",
                "entity_kind": "company",
                "legal_rep": "欧阳修",
                "registration_record_key": "R1",
            },
            {
                "entity_id": "E2",
                "name": "王梓",
                "entity_kind": "individual",
                "legal_rep": "王梓",
                "registration_record_key": "R2",
            },
            {
                "entity_id": "E3",
                "name": "奉化区王记便利店",
                "entity_kind": "individual",
                "legal_rep": "王一倩",
                "registration_record_key": "R3",
            },
            {
                "entity_id": "E4",
                "name": "北仑区山宜家政服务部",
                "entity_kind": None,
                "legal_rep": "陈敏昊",
                "registration_record_key": None,
            },
        ]
    ).with_columns(
        uscc=pl.lit(None, pl.String),
        entity_type=pl.lit(None, pl.String),
        address=pl.lit("地址"),
        district_code=pl.lit("330206"),
        status=pl.lit("active"),
        established_on=pl.lit(dt.date(2020, 1, 1)),
        registration_authority=pl.lit(None, pl.String),
        licence_count=pl.lit(0),
        active_licence_count=pl.lit(0),
        last_inspected_on=pl.lit(None, pl.Date),
        is_zombie=pl.lit(False),
        issue_count=pl.lit(0),
        run_id=pl.lit("r"),
    )
    registration = pl.DataFrame(
        {
            "record_key": ["R1", "R2", "R3"],
            "reg_no": ["330206000000001", None, None],
            "registered_capital_wan": [100.0, None, 5.0],
            "business_scope": ["餐饮服务", "小餐饮", "食品销售"],
            "phone": ["13812345678", "13900001111", "0574-87654321"],
            "deregistered_on": [None, None, None],
            "revoked_on": [None, None, None],
            "in_abnormal_list": [False, True, None],
            "abnormal_reason": ["", "未依照规定报送年度报告", None],
            "last_annual_report_year": [2025, None, None],
        },
        schema_overrides={
            "deregistered_on": pl.Date,
            "revoked_on": pl.Date,
            "last_annual_report_year": pl.Int32,
        },
    )
    connection = duckdb.connect()
    connection.register("golden_rows", golden.to_arrow())
    connection.register("registration_rows", registration.to_arrow())
    connection.execute("create table golden_entity as select * from golden_rows")
    connection.execute("attach ':memory:' as silver")
    connection.execute("create table silver.registration as select * from registration_rows")
    seeds.register_duckdb(connection, ["compound_surname"])
    yield connection
    connection.close()


def test_shared_entity_withholds_the_personal_data_of_individuals(
    shared_inputs: duckdb.DuckDBPyConnection,
) -> None:
    shared = shared_inputs.sql(model_sql("shared_entity")).pl()
    rows = {r["entity_id"]: r for r in shared.iter_rows(named=True)}
    assert (rows["E1"]["legal_rep"], rows["E1"]["phone"], rows["E1"]["personal_data_withheld"]) == (
        "欧阳修",
        "13812345678",
        False,
    )
    for entity in ("E2", "E3", "E4"):  # a 个体, and an entity of unknown kind (no registration)
        assert (
            rows[entity]["personal_data_withheld"]
            and rows[entity]["legal_rep"] is None
            and rows[entity]["phone"] is None
        )
    assert rows["E2"]["name"] is None  # named by its operator
    assert (
        rows["E3"]["name"] == "奉化区王记便利店"
    )  # a 字号 that does not contain the operator's full name stays
    assert rows["E4"]["name"] == "北仑区山宜家政服务部"
    assert set(data_dictionary.TABLES["shared_entity"].columns) <= set(shared.columns)

    shared_inputs.register("shared_rows", shared.to_arrow())
    shared_inputs.execute("create table shared_entity as select * from shared_rows")
    published = {
        r["entity_id"]: r for r in shared_inputs.sql(model_sql("open_entity")).pl().iter_rows(named=True)
    }
    assert (published["E1"]["legal_rep_masked"], published["E1"]["phone_masked"]) == ("欧阳*", "138******78")
    assert all(
        published[e]["legal_rep_masked"] is None and published[e]["phone_masked"] is None
        for e in ("E2", "E3", "E4")
    )


def test_id_number_columns_are_refused_by_name() -> None:
    for name in (
        "id_card",
        "legal_rep_id_no",
        "idcard",
        "id_number",
        "sfzh",
        "身份证号",
        "证件号码",
        "person_id",
    ):
        assert data_dictionary.FORBIDDEN_COLUMN.search(name), name
    for name in ("entity_id", "licence_no", "reg_no", "issue_id", "district_code", "run_id", "uscc"):
        assert not data_dictionary.FORBIDDEN_COLUMN.search(name), name
    assert data_dictionary.forbidden_columns() == []
