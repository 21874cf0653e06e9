"""Design rules of the engine's imports, read from the source: the engine never imports the domain apps,
its entities layer imports nothing above it, and no import cycle runs through that layer."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "automation"
DOMAIN_APPS = {"catalog", "incidents", "maintenance", "notifications", "statuspage"}
ABOVE_ENTITIES = ("automation.engine", "automation.tasks", "automation.services", "automation.api", "automation.admin")


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files() -> dict[str, pathlib.Path]:
    """Every module of the automation package but its tests, by dotted name."""
    return {module_name(path): path for path in PACKAGE.rglob("*.py") if "tests" not in path.parts}


def _imports(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join(package + ([base] if base else []))
    # `from package import submodule` imports the submodule; `from module import name` only the module.
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def top_level_nodes(tree: ast.Module):
    """Statements run when the module is imported: not function bodies, not `if TYPE_CHECKING:` blocks."""
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        yield node
        pending.extend(child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt))


def imported(path: pathlib.Path, module: str, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = top_level_nodes(tree) if top_level_only else ast.walk(tree)
    return {name for node in nodes for name in _imports(node, module, path.name == "__init__.py")}


def import_graph(files: dict[str, pathlib.Path]) -> dict[str, set[str]]:
    """Module → package modules it runs on import: each imported module and the packages above it,
    except the importer's own packages (already being imported when it runs)."""
    graph = {}
    for module, path in files.items():
        own = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
        targets = set()
        for name in imported(path, module, top_level_only=True):
            parts = name.split(".")
            targets |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & files.keys()
        graph[module] = targets - own - {module}
    return graph


def modules_on_a_cycle(graph: dict[str, set[str]], starts) -> set[str]:
    """Those of `starts` that can reach themselves."""
    on_cycle = set()
    for start in starts:
        seen, pending = set(), list(graph.get(start, ()))
        while pending:
            node = pending.pop()
            if node == start:
                on_cycle.add(start)
                break
            if node not in seen:
                seen.add(node)
                pending.extend(graph.get(node, ()))
    return on_cycle


def test_the_engine_imports_no_domain_app():
    offenders = sorted(
        f"{module} imports {name}"
        for module, path in source_files().items()
        for name in imported(path, module, top_level_only=False)
        if name.split(".")[0] in DOMAIN_APPS
    )
    assert offenders == []


def test_the_entities_layer_imports_nothing_above_it():
    offenders = sorted(
        f"{module} imports {name}"
        for module, path in source_files().items()
        if module.startswith("automation.entities")
        for name in imported(path, module, top_level_only=False)
        if name.startswith(ABOVE_ENTITIES)
    )
    assert offenders == []


def test_no_import_cycle_runs_through_the_entities_layer():
    graph = import_graph(source_files())
    entities = [module for module in graph if module.startswith("automation.entities")]

    assert modules_on_a_cycle(graph, entities) == set()


def test_the_scan_sees_the_package_and_its_imports():
    files = source_files()
    graph = import_graph(files)

    assert {"automation.entities.mutation", "automation.entities.delivery", "automation.tasks"} <= files.keys()
    assert len([module for module in files if module.startswith("automation.entities.")]) >= 8
    # Relative imports resolved, packages followed, function-level imports left out of the graph.
    assert {"automation.entities.delivery", "automation.models"} <= graph["automation.entities.mutation"]
    assert "automation.entities.tracked" in graph["automation.models.automations"]
    assert "automation.entities.delivery" in graph["automation.tasks"]
    # (A task imports the engine inside its body: tasks are thin, and the engine is loaded when one runs.)
    assert "automation.engine.runs.runner" not in graph["automation.tasks"]
    assert "automation.engine.runs.runner" in imported(files["automation.tasks"], "automation.tasks",
                                                       top_level_only=False)


def test_the_cycle_check_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert modules_on_a_cycle(graph, ["a", "d"]) == {"a"}
