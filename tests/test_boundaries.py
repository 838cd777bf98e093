"""Domain logic stays free of Dagster, so it can be tested alone and run per block elsewhere."""

from __future__ import annotations

import ast
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
    offenders = [p.name for p in DOMAIN.rglob("*.py") if "dagster" in imported_modules(p) or "dagster_webserver" in imported_modules(p)]
    assert offenders == []
    assert len(list(DOMAIN.rglob("*.py"))) > 15
