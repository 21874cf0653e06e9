"""Design rule: long waits are timer rows fired by beat, never Celery `eta`/`countdown` (docs/operations.md, Timers)."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE_DIRS = ["automation", "catalog", "checks", "incidents", "maintenance", "checkstack", "notifications",
               "statuspage"]
MAX_SECONDS = 5


def application_files():
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            if "tests" not in path.parts and "migrations" not in path.parts:
                yield path


def test_no_eta_and_no_countdown_beyond_a_few_seconds():
    offenders = []
    for path in application_files():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg == "eta":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: eta=")
                elif keyword.arg == "countdown":
                    value = keyword.value
                    if not (isinstance(value, ast.Constant) and isinstance(value.value, (int, float))
                            and value.value <= MAX_SECONDS):
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: countdown=")
    assert offenders == []


def test_the_scan_sees_application_code():
    scanned = {path.relative_to(ROOT).parts[0] for path in application_files()}
    assert {"automation", "catalog", "incidents", "maintenance"} <= scanned
