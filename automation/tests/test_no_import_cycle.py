"""No import cycle inside automation/: the module graph, function-level imports included, has no cycle.

A lazy import that papers over a cycle still ties the two modules into one (neither can be read, tested or
moved without the other), so function-level imports count here. Where two modules need each other, one of
them fills a registration point at start-up instead (automation/apps.py)."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def modules_of(root: pathlib.Path, package: str) -> dict[str, pathlib.Path]:
    """Every module of the package but its tests and migrations, by dotted name."""
    found = {}
    for path in (root / package).rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        if "tests" in parts or "migrations" in parts:
            continue
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _targets(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join(package + ([base] if base else []))
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def import_graph(modules: dict[str, pathlib.Path]) -> dict[str, set[str]]:
    """Module → the package's modules it imports anywhere in its body (a name imported from a module is an
    edge to that module; a package that loads its submodules with import_module imports them all)."""
    graph = {}
    for module, path in modules.items():
        source = path.read_text()
        tree = ast.parse(source, filename=str(path))
        is_package = path.name == "__init__.py"
        own = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
        edges = set()
        for node in ast.walk(tree):
            for name in _targets(node, module, is_package):
                while name and name not in modules:
                    name = name.rpartition(".")[0]
                if name:
                    edges.add(name)
        if is_package and "import_module(" in source:
            edges |= {other for other in modules if other.rpartition(".")[0] == module}
        graph[module] = edges - own - {module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_inside_automation_function_level_imports_included():
    assert cycles(import_graph(modules_of(ROOT, "automation"))) == []


def test_the_scan_sees_the_package_and_its_function_level_imports():
    modules = modules_of(ROOT, "automation")
    graph = import_graph(modules)

    assert len(modules) >= 80 and "automation.tests.test_no_import_cycle" not in modules
    assert "automation.engine.runs.runner" in graph["automation.tasks"]  # imported inside a task's body
    assert "automation.models" in graph["automation.entities.mutation"]  # `from ..models import …`
    assert "automation.engine.runs.steps.delay" in graph["automation.engine.runs.steps"]  # import_module


def test_a_planted_function_level_cycle_is_found(tmp_path):
    package = tmp_path / "planted"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import g\n\ndef f():\n    return g()\n")
    (package / "b.py").write_text("def g():\n    from . import a\n    return a\n")
    (package / "c.py").write_text("from .a import f\n")

    assert cycles(import_graph(modules_of(tmp_path, "planted"))) == [["planted.a", "planted.b"]]
