"""Runtime requirements apart from the tests' (dev.py run installs the first, dev.py test both)."""

import ast
import re

import dev
from checkstack.tests.test_no_test_support_in_production import ROOT, production_files

# Import name of each package requirements-test.txt adds (werkzeug comes with schemathesis).
TEST_ONLY_IMPORTS = {"pytest", "pytest_django", "hypothesis", "schemathesis", "aiosmtpd", "playwright", "ruff",
                     "feedparser", "werkzeug"}


def pinned(name: str) -> set[str]:
    lines = (ROOT / name).read_text().splitlines()
    return {re.split(r"[\[=]", line)[0].lower() for line in lines if "==" in line}


def test_the_runtime_requirements_hold_no_test_tool_and_the_test_requirements_include_them():
    assert pinned("requirements.txt").isdisjoint({"pytest", "pytest-django", "hypothesis", "schemathesis",
                                                   "aiosmtpd", "playwright", "ruff", "feedparser"})
    assert {"pytest", "pytest-django", "hypothesis", "schemathesis", "aiosmtpd", "playwright", "ruff",
            "feedparser"} <= pinned("requirements-test.txt")
    assert dev.requirement_files(dev.TEST_REQUIREMENTS) == ["requirements-test.txt", "requirements.txt"]


def top_level_imports(path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_production_module_imports_a_package_only_the_tests_install():
    offenders = {str(path.relative_to(ROOT)): top_level_imports(path) & TEST_ONLY_IMPORTS
                 for path in production_files()}
    assert {path: names for path, names in offenders.items() if names} == {}
    test_module = ROOT / "checkstack" / "tests" / "test_api_fuzz.py"
    assert {"schemathesis", "werkzeug"} <= top_level_imports(test_module)  # the scan reads imports as they are


def test_the_install_stamp_changes_when_an_included_file_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(dev, "ROOT", tmp_path)
    (tmp_path / "requirements.txt").write_text("Django==5.2.19\n")
    (tmp_path / "requirements-test.txt").write_text("-r requirements.txt\npytest==9.0.1\n")
    _, before = dev.installed_stamp("requirements-test.txt")

    (tmp_path / "requirements.txt").write_text("Django==5.2.20\n")

    path, after = dev.installed_stamp("requirements-test.txt")
    assert after != before and "Django==5.2.20" in after and "pytest==9.0.1" in after
    assert path.name == ".installed-requirements-test.txt"
    assert dev.installed_stamp("requirements.txt")[0].name == ".installed-requirements.txt"


def runtime_distributions() -> set[str]:
    """The distributions requirements.txt pins, and everything they depend on, as installed here."""
    from importlib import metadata

    wanted, seen = list(pinned("requirements.txt")), set()
    while wanted:
        name = re.sub(r"[-_.]+", "-", wanted.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        # Extras' requirements ("; extra == ...") count only for the extras requirements.txt asks for.
        wanted += [re.split(r"[\s\[<>=!~;(]", line)[0] for line in requires
                   if "extra ==" not in line or 'extra == "redis"' in line]
    return seen


def test_every_package_production_code_imports_is_a_runtime_requirement():
    """A fresh `dev.py run` installs requirements.txt only: an import it does not cover fails there first."""
    import sys
    from importlib import metadata

    local = {path.name for path in ROOT.iterdir() if path.is_dir() or path.suffix == ".py"}
    local |= {path.stem for path in ROOT.iterdir() if path.suffix == ".py"}
    importable = metadata.packages_distributions()
    runtime = runtime_distributions()
    missing = {}
    for path in production_files():
        for name in top_level_imports(path) - local - set(sys.stdlib_module_names):
            dists = {re.sub(r"[-_.]+", "-", dist).lower() for dist in importable.get(name, [name])}
            if dists.isdisjoint(runtime):
                missing.setdefault(name, []).append(str(path.relative_to(ROOT)))
    assert missing == {}
