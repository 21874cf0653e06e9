"""p99 time to read and validate an automation document, over a corpus of hostile ones: constants Jinja would
fold (`3 ** 400000000`, `'a' * 900000000`), nested `range` loops, deep nesting, a 100,000-character expression,
and documents at the body-size limit; against a small valid document measured in the same run (target: p99
under 100 ms).

    .venv/bin/python bench/validation.py [--samples 20]

Needs no database or broker: validation is pure. Compile caches are cleared before every sample, so each one
parses and checks from scratch. The last output line is one JSON object.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MS = 100


def document(filter_text="true", message="x", actions=1):
    return {"name": "bench", "triggers": [{"event": "automation.manual", "filter": filter_text}],
            "actions": [{"action": "automation.log", "config": {"message": message}} for _ in range(actions)]}


def at_the_limit(limit: int, *, padded: bool) -> str:
    """A document serialized to just under `limit` bytes: one long description, or as many templated steps."""
    if padded:
        doc = {**document(), "description": ""}
        doc["description"] = "x" * (limit - len(json.dumps(doc)))
        return json.dumps(doc)
    message = "{{ trigger.payload.system_id }} is {{ trigger.payload.status }}"
    step = json.dumps(document(message=message)["actions"][0])
    return json.dumps(document(message=message, actions=(limit - 200) // (len(step) + 2)))


def corpus(limit: int) -> dict[str, str]:
    loops = "{% for i in range(10000) %}{% for j in range(10000) %}{{ i * j }}{% endfor %}{% endfor %}"
    return {
        "power": json.dumps(document("3 ** 400000000 > 0")),
        "repeat": json.dumps(document(message="{{ 'a' * 900000000 }}")),
        "nested_range": json.dumps(document(message=loops)),
        "deep_nesting": json.dumps(document("(" * 5_000 + "1" + ")" * 5_000)),
        "long_expression": json.dumps(document("1" + "+1" * 49_999)),
        "body_limit_padded": at_the_limit(limit, padded=True),
        "body_limit_steps": at_the_limit(limit, padded=False),
    }


def timed(body: str) -> float:
    from automation.documents.io import parse_document
    from automation.documents.validate import validate_document
    from automation.expressions import evaluate

    for cached in (evaluate.compile_expression, evaluate.compile_template, evaluate.expression_references,
                   evaluate.template_references):
        cached.cache_clear()
    started = time.perf_counter()
    validate_document(parse_document(body.encode(), format="json"))
    return (time.perf_counter() - started) * 1000


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "checkstack.settings")
    os.environ.setdefault("SECRET_KEY", "checkstack-bench-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
    import django

    django.setup()
    from django.conf import settings

    bodies = corpus(settings.CHECKSTACK_MAX_BODY_BYTES)
    baseline = json.dumps(document())
    timed(baseline)  # imports and registries warm, outside the figures
    figures = {name: [timed(body) for _ in range(args.samples)] for name, body in bodies.items()}
    base = [timed(baseline) for _ in range(args.samples)]
    every = [value for values in figures.values() for value in values]
    for name, values in figures.items():
        print(f"{name:20} p50 {statistics.median(values):8.2f} ms   p99 {pct(values, 99):8.2f} ms")
    print(f"{'baseline (valid)':20} p50 {statistics.median(base):8.2f} ms   p99 {pct(base, 99):8.2f} ms")
    result = {"validation_p50_ms": round(statistics.median(every), 2), "validation_p99_ms": round(pct(every, 99), 2),
              "per_document_p99_ms": {name: round(pct(values, 99), 2) for name, values in figures.items()},
              "baseline_valid_p99_ms": round(pct(base, 99), 2), "target_ms": TARGET_MS,
              "body_limit_bytes": settings.CHECKSTACK_MAX_BODY_BYTES, "samples": args.samples}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
