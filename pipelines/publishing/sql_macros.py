"""The SQL macros of the curated models (`sql/macros.sql`): defined on a DuckDB connection, inlined for Spark.

A macro lets an expression the models share (the month number of a date) be written once. Spark SQL has
no macros, so `inline` replaces each call by the macro's body with the call's arguments in place of the
parameters, on the sqlglot tree.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp

if TYPE_CHECKING:
    import duckdb

MACRO_FILE = Path(__file__).resolve().parents[2] / "sql" / "macros.sql"


def define_duckdb(connection: duckdb.DuckDBPyConnection) -> None:
    """Temporary macros: the connection may write a database file, which should not keep them."""
    connection.execute(MACRO_FILE.read_text(encoding="utf-8"))


@cache
def macros() -> dict[str, tuple[tuple[str, ...], exp.Expression]]:
    """Macro name -> (parameter names, body)."""
    found = {}
    for statement in sqlglot.parse(MACRO_FILE.read_text(encoding="utf-8"), read="duckdb"):
        if isinstance(statement, exp.Create) and statement.kind == "MACRO":
            signature = statement.this
            parameters = tuple(p.name for p in signature.expressions)
            found[signature.this.name.lower()] = (parameters, statement.expression)
    return found


def inline(tree: exp.Expression) -> exp.Expression:
    """The tree (a copy) with every macro call replaced by the macro's body, parenthesised."""

    def expand(node: exp.Expression) -> exp.Expression:
        if not isinstance(node, exp.Anonymous) or node.name.lower() not in macros():
            return node
        parameters, body = macros()[node.name.lower()]
        if len(parameters) != len(node.expressions):
            raise ValueError(f"{node.sql('duckdb')}: {node.name} takes {len(parameters)} arguments")
        arguments = {p: a.transform(expand) for p, a in zip(parameters, node.expressions, strict=True)}

        def substitute(part: exp.Expression) -> exp.Expression:
            if isinstance(part, exp.Column) and not part.table and part.name in arguments:
                return arguments[part.name].copy()
            return part

        return exp.Paren(this=body.transform(substitute))

    return tree.transform(expand)
