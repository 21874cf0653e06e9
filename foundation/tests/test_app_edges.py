"""Which app may import which: a table, checked on every import of every production module, module-level and
inside functions alike (docs/architecture.md, "Allowed imports"). Tests, `testing` and bench are not scanned."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]

FOUNDATION = {"foundation"}
ENGINE = FOUNDATION | {"automation"}
CATALOG = ENGINE | {"catalog"}
DOMAINS = CATALOG | {"incidents", "maintenance", "checks"}
# Each app and the apps it may import (itself aside). `testing` is in no row: production never imports it.
ALLOWED = {
    "foundation": set(),
    "automation": FOUNDATION,
    "catalog": ENGINE,
    "incidents": CATALOG,
    "maintenance": CATALOG,
    "checks": CATALOG,
    "notifications": DOMAINS,
    "statuspage": DOMAINS | {"notifications"},
    # The composition root: settings, urls, celery, admin site, dashboard, demo, health, metrics.
    "checkstack": DOMAINS | {"notifications", "statuspage"},
}
PROJECT_PACKAGES = set(ALLOWED) | {"testing"}
NOT_SCANNED = {"tests", "__pycache__"}


def production_modules(root: pathlib.Path):
    """(app, dotted module, path) of every module of the apps in ALLOWED under `root`, their tests aside."""
    for app in sorted(ALLOWED):
        for path in sorted((root / app).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if NOT_SCANNED.isdisjoint(parts):
                yield app, ".".join(parts), path


def imported_names(tree: ast.AST, module: str, is_package: bool):
    """(line, dotted name) of every import anywhere in the tree, function bodies included; relative resolved."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")[: None if is_package else -1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            yield node.lineno, base


def forbidden_imports(root: pathlib.Path) -> list[str]:
    """`path:line app imports name` for each import of a project package its app may not import."""
    found = []
    for app, module, path in production_modules(root):
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, name in imported_names(tree, module, path.name == "__init__.py"):
            target = name.split(".")[0]
            if target in PROJECT_PACKAGES and target != app and target not in ALLOWED[app]:
                found.append(f"{path.relative_to(root)}:{line} {app} imports {name}")
    return found


def edges(root: pathlib.Path) -> set[tuple[str, str]]:
    """Every (app, imported app) pair the code has, allowed or not."""
    pairs = set()
    for app, module, path in production_modules(root):
        tree = ast.parse(path.read_text(), filename=str(path))
        for _, name in imported_names(tree, module, path.name == "__init__.py"):
            if name.split(".")[0] in PROJECT_PACKAGES - {app}:
                pairs.add((app, name.split(".")[0]))
    return pairs


def test_every_import_follows_the_table():
    assert forbidden_imports(ROOT) == []


def test_the_table_is_one_direction():
    # An order exists: repeatedly remove an app that may import nothing left; all must go.
    left = dict(ALLOWED)
    while left:
        bottom = [app for app, allowed in left.items() if not (allowed & left.keys())]
        assert bottom, f"the table has a cycle among {sorted(left)}"
        for app in bottom:
            del left[app]


def test_the_scan_sees_every_app_and_function_level_imports():
    modules = {module for _, module, _ in production_modules(ROOT)}
    found = edges(ROOT)

    assert {"foundation.api_errors", "automation.entities.mutation", "checks.apps", "checkstack.settings",
            "catalog.migrations.0001_initial"} <= modules
    assert not any(".tests." in module or module.startswith("testing") for module in modules)
    # checks/apps.py imports catalog.admin_panels inside ready(): seen although not at module level.
    assert ("checks", "catalog") in found
    assert {("automation", "foundation"), ("statuspage", "checks"), ("notifications", "incidents"),
            ("checkstack", "automation")} <= found


def test_a_planted_forbidden_import_is_reported(tmp_path):
    for app in ALLOWED:
        (tmp_path / app).mkdir()
    (tmp_path / "foundation" / "leak.py").write_text("from catalog.models import System\n")
    (tmp_path / "catalog" / "admin.py").write_text(
        "from foundation.permissions import ModelPermissions\n"
        "import automation.models\n\n\n"
        "def panel():\n    from checks.admin import system_checks_panel\n\n    return system_checks_panel\n")
    (tmp_path / "checks" / "ping.py").write_text("from notifications.throttle import throttle_hit\n")
    (tmp_path / "statuspage" / "views.py").write_text("if True:\n    import testing.browser\n")
    (tmp_path / "automation" / "tests").mkdir()
    (tmp_path / "automation" / "tests" / "test_x.py").write_text("import catalog\n")  # tests: not scanned

    assert forbidden_imports(tmp_path) == [
        "catalog/admin.py:6 catalog imports checks.admin",
        "checks/ping.py:1 checks imports notifications.throttle",
        "foundation/leak.py:1 foundation imports catalog.models",
        "statuspage/views.py:2 statuspage imports testing.browser",
    ]


def test_relative_imports_resolve_inside_their_package():
    tree = ast.parse("from . import a\nfrom ..engine import b\nfrom .x.y import z\n")
    names = [name for _, name in imported_names(tree, "automation.api.views", is_package=False)]

    assert names == ["automation.api", "automation.engine", "automation.api.x.y"]
