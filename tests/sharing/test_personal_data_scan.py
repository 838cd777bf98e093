"""The scan that stops a public table holding something that looks like personal data from being exported."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.publishing import data_dictionary

TABLE = "open_entity"
SPEC = data_dictionary.TABLES[TABLE]
TEXT = [c for c in SPEC.columns if c not in SPEC.codes][:3]
# Digits, separators and letters: enough to write phones, landlines and ID numbers, and near misses.
VALUES = st.one_of(
    st.none(),
    st.text(alphabet="0123456789-Xx 甲", max_size=22),
    st.sampled_from(["13912345678", "0574-87654321", "330203199001011234", "x13912345678y", "1391234567"]),
)


def table_of(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    columns = ", ".join(f'"{c}" varchar' for c in (*TEXT, "uscc"))
    connection.execute(f"create table {TABLE} ({columns})")
    if rows:  # an empty table is scanned too
        connection.executemany(f"insert into {TABLE} values ({', '.join('?' * (len(TEXT) + 1))})", rows)
    return connection


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*[VALUES] * (len(TEXT) + 1)), max_size=12))
def test_the_scan_counts_what_each_pattern_finds_in_each_text_column(rows: list[tuple]) -> None:
    expected = {}
    for index, column in enumerate(TEXT):
        for label, pattern in data_dictionary.PERSONAL_PATTERNS.items():
            found = sum(1 for row in rows if row[index] is not None and re.search(pattern, row[index]))
            if found:
                expected[f"{column}:{label}"] = found
    assert data_dictionary.personal_data_findings(table_of(rows), TABLE) == expected  # uscc: a code, exempt


def test_a_public_table_with_a_phone_number_is_not_exported(pipeline, tmp_path: Path) -> None:
    warehouse = tmp_path / "curated.duckdb"
    warehouse.write_bytes(pipeline.paths.warehouse.read_bytes())
    with duckdb.connect(str(warehouse)) as connection:
        changed = connection.execute(
            f"update {TABLE} set name = name || ' 13912345678' "
            f"where entity_id = (select min(entity_id) from {TABLE} where name is not null)"
        ).fetchall()
    assert changed == [(1,)]
    folder = tmp_path / "open_data"
    with pytest.raises(ValueError, match=r"open_entity looks like it holds personal data.*name:mobile"):
        data_dictionary.export(warehouse, folder, data_dictionary.OPEN_DATA, tag="t")
    assert not list(folder.glob("*.parquet"))
