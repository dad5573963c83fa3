"""The design's forbidden dependencies hold (ARCHITECTURE, issue 20), checked on the source: a new import fails here."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at load or inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def source_files(package: str, *, tests: bool = False) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    return [f for f in files if tests or "tests" not in f.relative_to(ROOT).parts]


PRODUCT_PACKAGES = ("catalog", "diagnostics", "conversions", "alerts", "galantis")
PRODUCT_FILES = [p for package in PRODUCT_PACKAGES for p in source_files(package)]


@pytest.mark.parametrize("path", source_files("catalog/meta"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_graph_client_knows_no_models_and_no_database(path):
    forbidden = {m for m in imported_modules(path) if m.startswith(("catalog.models", "django.db"))}
    assert not forbidden, f"{path.name} imports {forbidden}: pass what it needs in (catalog.graph_clients)"


@pytest.mark.parametrize("path", PRODUCT_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_product_code_never_imports_the_sandbox(path):
    assert not {m for m in imported_modules(path) if m == "sandbox" or m.startswith("sandbox.")}


def test_the_item_mapping_is_pure():
    forbidden = {m for m in imported_modules(ROOT / "catalog" / "items.py") if m.startswith("django.db")}
    assert not forbidden


@pytest.mark.parametrize("path", PRODUCT_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_another_modules_private_names(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    private = {
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    }
    assert not private, f"{path.name} imports {private}: make the name public in its module, or move it"
