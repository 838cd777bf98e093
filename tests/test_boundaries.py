"""Domain logic stays free of Dagster, so it can be tested alone and run per block elsewhere."""

from __future__ import annotations

import ast
import re
from pathlib import Path

DOMAIN = Path(__file__).resolve().parents[1] / "pipelines" / "domain"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_domain_modules_do_not_import_dagster() -> None:
    offenders = [
        p.name
        for p in DOMAIN.rglob("*.py")
        if "dagster" in imported_modules(p) or "dagster_webserver" in imported_modules(p)
    ]
    assert offenders == []
    assert len(list(DOMAIN.rglob("*.py"))) > 15


ROOT = Path(__file__).resolve().parents[1]


def production_modules() -> list[Path]:
    return [p for d in ("pipelines", "assets", "benchmarks") for p in (ROOT / d).rglob("*.py")]


def test_a_lake_table_is_named_only_in_the_catalog() -> None:
    literal = re.compile(r"""f?["'](bronze|silver|gold|quality)/""")
    offenders = [f"{p.relative_to(ROOT)}:{n}" for p in production_modules() if p.name != "catalog.py"
                 for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if literal.search(line)]  # fmt: skip
    assert offenders == []


def test_imports_run_one_way_and_only_the_dagster_layer_imports_dagster() -> None:
    """cli -> orchestration (runner, definitions) -> assets -> storage, quality, publishing -> domain.
    Only the code location (orchestration/definitions.py) imports the asset modules."""
    for path in production_modules():
        name = path.relative_to(ROOT).as_posix()
        imported = imported_modules(path)
        if name.startswith("pipelines/") and name != "pipelines/orchestration/definitions.py":
            assert "assets" not in imported, name
        dagster_layer = name.startswith(("assets/", "pipelines/orchestration/", "benchmarks/"))
        if not dagster_layer:
            assert "dagster" not in imported, name
