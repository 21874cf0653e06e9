"""Design rule: production code never imports the test support package `testing` (STYLE.md, Layout)."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Not production: the tests, their support package, the benchmarks, and what is not the project's code.
NOT_PRODUCTION = {"tests", "testing", "bench", ".venv", ".git", "var", "node_modules"}


def production_files():
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if NOT_PRODUCTION.isdisjoint(relative.parts[:-1]) and path.name != "conftest.py":
            yield path


def imports_of_testing(source: str, filename: str) -> list[int]:
    """Line numbers of the absolute imports of `testing` or its modules in the source."""
    lines = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name == "testing" or name.startswith("testing.") for name in names):
            lines.append(node.lineno)
    return lines


def test_no_production_module_imports_testing():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in production_files()
        for line in imports_of_testing(path.read_text(), str(path))
    ]
    assert offenders == []


def test_the_scan_sees_production_code_and_skips_test_code():
    scanned = {path.relative_to(ROOT).as_posix() for path in production_files()}
    assert {"manage.py", "checkstack/settings.py", "catalog/models.py", "notifications/subscribers.py",
            "automation/entities/mutation.py", "catalog/migrations/0001_initial.py"} <= scanned
    assert not any(name.startswith(("testing/", "bench/")) or "/tests/" in name for name in scanned)
    assert "conftest.py" not in scanned


def test_the_check_recognises_every_import_form():
    source = "import testing\nimport os, testing.browser\nfrom testing import browser\nfrom testing.x import y\n"
    assert imports_of_testing(source, "sample.py") == [1, 2, 3, 4]
    assert imports_of_testing("from .testing import x\nimport testing_tools\nfrom testingx import y\n", "s.py") == []
