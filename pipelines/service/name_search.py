"""The `q` condition of a search: name contains q, or USCC starts with q — through the bigram index if published.

Without the index (`NameIndex.absent`: a search given none) the condition is the scan
`contains(name, q) or starts_with(uscc, upper(q))`. With it, the name part first narrows the entities to those
holding every bigram of q in the scope's bigram table (pipelines/publishing/service_index.py) and then applies
the very same `contains`, so both return the same rows (tests/service/test_name_search.py checks that with
hypothesis). A q of one character has no bigram: it scans. The USCC part is left out when it cannot match any
published USCC — q holds a character that no USCC has — because the `or` would otherwise force a scan of every
row. A q of two characters that cannot start a USCC is one bigram, and its bigram rows are the answer
(`bigram_only`): a search then reads the bigram table alone, never the entity table's 1.5M names.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from pipelines.publishing.service_index import BIGRAM_TABLES, ENTITY_TABLES

USCC_CHARACTERS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True)
class NameIndex:
    present: bool
    # When every published USCC is made of these characters; None: some is not, so any q may match one.
    uscc_characters: frozenset[str] | None

    @classmethod
    def absent(cls) -> NameIndex:
        return cls(False, None)


def read_index(cursor: duckdb.DuckDBPyConnection) -> NameIndex:
    """Whether this warehouse has the bigram index, and what its USCCs are made of."""
    tables = {r[0] for r in cursor.execute("select table_name from duckdb_tables()").fetchall()}
    if not tables >= set(BIGRAM_TABLES.values()):
        return NameIndex.absent()
    odd = " union all ".join(
        f"select 1 from {t} where not regexp_full_match(uscc, '[0-9A-Z]*')" for t in ENTITY_TABLES
    )
    plain = not cursor.execute(f"select exists ({odd})").fetchone()[0]
    return NameIndex(True, USCC_CHARACTERS if plain else None)


def bigrams(q: str) -> list[str]:
    return sorted({q[i : i + 2] for i in range(len(q) - 1)})


def _may_be_uscc(q: str, index: NameIndex) -> bool:
    # DuckDB's upper() maps a character to one character, Python's to that or more (ß -> SS): a character
    # of q whose Python upper-case is not a USCC character has no DuckDB upper-case that is one either.
    return index.uscc_characters is None or set(q.upper()) <= index.uscc_characters


def bigram_only(q: str, index: NameIndex) -> bool:
    """Whether the scope's bigram rows of q are exactly the entities whose name contains q (and no USCC can
    start with q)."""
    return index.present and len(q) == 2 and not _may_be_uscc(q, index)


def condition(q: str, index: NameIndex, scope: str) -> tuple[str, list]:
    """SQL over the scope's entity table (`entity_id`, `name`, `uscc`) with its parameters."""
    grams = bigrams(q)
    if not index.present or not grams:
        return "(contains(name, ?) or starts_with(uscc, upper(?)))", [q, q]
    marks = ", ".join("?" * len(grams))
    name = (
        f"(entity_id in (select entity_id from {BIGRAM_TABLES[scope]} where gram in ({marks}) "
        "group by entity_id having count(*) = ?) and contains(name, ?))"
    )
    params: list = [*grams, len(grams), q]
    if not _may_be_uscc(q, index):
        return name, params
    return f"({name} or starts_with(uscc, upper(?)))", [*params, q]
