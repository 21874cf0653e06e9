"""p99 time to read and validate an automation document as the API does (its parser, then the validator),
over a corpus of hostile ones: constants Jinja would fold (`3 ** 400000000`, `'a' * 900000000`), nested
`range` loops, deep nesting, a 100,000-character expression, the slow constructs of issue 27 (urlize, wordwrap,
captured blocks, select/reject with tests, IDNA), 1 MB JSON and YAML bodies, YAML nested 100,000 deep, and
documents at the document-size limit; against a small valid document measured in the same run (target: p99
under 100 ms). Also: each slow construct evaluated on inputs at the caps (each must end inside the 0.5 s
deadline), and the peak memory of a fresh process after compiling 10,000 distinct templates (target: at
most 256 MB) against the same process's peak before compiling.

    .venv/bin/python bench/validation.py [--samples 20] [--templates 10000]

Needs no database or broker: validation is pure. Compile caches are cleared before every sample, so each one
parses and checks from scratch. The last output line is one JSON object.
"""

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MS = 100
TARGET_PEAK_MB = 256


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


SLOW_CONSTRUCTS = {
    "urlize": "{{ trigger.payload.text|urlize }}",
    "wordwrap": "{{ trigger.payload.text|wordwrap(5) }}",
    "captured_set": "{% set x %}{% for i in range(10000) %}{{ trigger.payload.text }}{% endfor %}{% endset %}"
                    "{{ x|length }}",
    "captured_macro": "{% macro m() %}{% for i in range(10000) %}{{ trigger.payload.text }}{% endfor %}"
                      "{% endmacro %}{{ m()|length }}",
    "select_in": "{{ trigger.payload.items|select('in', trigger.payload.items)|list|length }}",
    "reject_test": "{{ trigger.payload.items|reject('divisibleby', 7)|list|length }}",
    "idna": "{{ trigger.payload.text.encode('idna') }}",
}


def yaml_nested(depth: int) -> str:
    return "name: deep\ntriggers: [{event: automation.manual}]\nactions: " + "[" * depth + "]" * depth


def corpus(limit: int, document_limit: int) -> dict[str, tuple[str, str]]:
    """name -> (body, media type): each body goes through the API's parser for that type, then the validator."""
    import yaml

    loops = "{% for i in range(10000) %}{% for j in range(10000) %}{{ i * j }}{% endfor %}{% endfor %}"
    bodies = {
        "power": json.dumps(document("3 ** 400000000 > 0")),
        "repeat": json.dumps(document(message="{{ 'a' * 900000000 }}")),
        "nested_range": json.dumps(document(message=loops)),
        "deep_nesting": json.dumps(document("(" * 5_000 + "1" + ")" * 5_000)),
        "long_expression": json.dumps(document("1" + "+1" * 49_999)),
        "body_limit_padded": at_the_limit(limit, padded=True),
        "body_limit_steps": at_the_limit(limit, padded=False),
        "document_limit_padded": at_the_limit(document_limit, padded=True),
        "document_limit_steps": at_the_limit(document_limit, padded=False),
        **{f"construct_{name}": json.dumps(document(message=text)) for name, text in SLOW_CONSTRUCTS.items()},
    }
    typed = {name: (body, "application/json") for name, body in bodies.items()}
    typed["yaml_1mb_steps"] = (yaml.safe_dump(json.loads(at_the_limit(limit, padded=False))), "application/yaml")
    typed["yaml_1mb_padded"] = (yaml.safe_dump(json.loads(at_the_limit(limit, padded=True))), "application/yaml")
    typed["yaml_document_limit_steps"] = (
        yaml.safe_dump(json.loads(at_the_limit(document_limit * 3 // 4, padded=False))), "application/yaml")
    typed["yaml_nested_100000"] = (yaml_nested(100_000), "application/yaml")
    typed["yaml_nested_limit"] = (yaml_nested(document_limit // 2 - 100), "application/yaml")
    return typed


class _Request:
    def __init__(self, size: int):
        self.META = {"CONTENT_LENGTH": str(size)}


def timed(body: str, media_type: str = "application/json") -> float:
    """One request's work: the automation API's parser for `media_type` (limits, JSON or YAML), then the
    validator; a refusal (413, 400) ends the request as the API would."""
    from rest_framework.exceptions import APIException

    from automation.api.parsers import DocumentJSONParser, YAMLParser
    from automation.documents.validate import validate_document
    from automation.expressions import evaluate

    evaluate.cache.clear()
    raw = body.encode()
    parser = YAMLParser() if "yaml" in media_type else DocumentJSONParser()
    started = time.perf_counter()
    try:
        data = parser.parse(io.BytesIO(raw), media_type, {"request": _Request(len(raw))})
    except APIException:
        return (time.perf_counter() - started) * 1000
    validate_document(data)
    return (time.perf_counter() - started) * 1000


def evaluation_ms() -> dict[str, float]:
    """Each slow construct rendered on inputs at the caps: ms until it ends (with its output or its error)."""
    from automation.expressions.budgets import MAX_SIZE
    from automation.expressions.evaluate import ExpressionError, render_template

    scope = {"trigger": {"payload": {"text": "ab cd.ef " * (MAX_SIZE // 9), "items": list(range(99_999))}}}
    figures = {}
    for name, text in SLOW_CONSTRUCTS.items():
        started = time.perf_counter()
        try:
            render_template(text, scope)
        except ExpressionError:
            pass
        figures[name] = round((time.perf_counter() - started) * 1000, 1)
    return figures


_PEAK_SCRIPT = """
import os, resource, sys, time
sys.path.insert(0, {root!r})
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "checkstack.settings")
os.environ.setdefault("SECRET_KEY", "checkstack-bench-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
import django
django.setup()
from automation.expressions import evaluate
evaluate.compile_template("{{{{ warm }}}}")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
body = "{{{{ trigger.payload.a }}}} is {{% if trigger.payload.b %}}{{{{ trigger.payload.c|upper }}}}{{% endif %}}. " * 5
started = time.perf_counter()
for i in range({count}):
    evaluate.compile_template(f"{{i}}: " + body)
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(evaluate.cache), evaluate.cache.bytes,
      time.perf_counter() - started)
"""


def peak_memory(count: int) -> dict:
    """A fresh process (as a worker is) compiles `count` distinct templates of about 400 characters."""
    out = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT.format(root=str(ROOT), count=count)],
                         capture_output=True, text=True, check=True).stdout.split()
    before_kb, after_kb, entries, cache_bytes, seconds = int(out[0]), int(out[1]), int(out[2]), int(out[3]), \
        float(out[4])
    return {"peak_mb_before": round(before_kb / 1024, 1), "peak_mb_after": round(after_kb / 1024, 1),
            "templates": count, "cached_entries": entries, "cache_estimated_mb": round(cache_bytes / 2 ** 20, 1),
            "seconds": round(seconds, 1), "target_mb": TARGET_PEAK_MB}


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--templates", type=int, default=10_000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "checkstack.settings")
    os.environ.setdefault("SECRET_KEY", "checkstack-bench-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
    import django

    django.setup()
    from django.conf import settings

    bodies = corpus(settings.CHECKSTACK_MAX_BODY_BYTES, settings.CHECKSTACK_MAX_DOCUMENT_BYTES)
    baseline = json.dumps(document())
    timed(baseline)  # imports and registries warm, outside the figures
    figures = {name: [timed(body, media) for _ in range(args.samples)] for name, (body, media) in bodies.items()}
    base = [timed(baseline) for _ in range(args.samples)]
    every = [value for values in figures.values() for value in values]
    for name, values in figures.items():
        print(f"{name:28} p50 {statistics.median(values):8.2f} ms   p99 {pct(values, 99):8.2f} ms")
    print(f"{'baseline (valid)':28} p50 {statistics.median(base):8.2f} ms   p99 {pct(base, 99):8.2f} ms")
    evaluations = evaluation_ms()
    print("evaluation at the caps (ms):", evaluations)
    memory = peak_memory(args.templates)
    print("peak memory after distinct templates:", memory)
    result = {"validation_p50_ms": round(statistics.median(every), 2), "validation_p99_ms": round(pct(every, 99), 2),
              "per_document_p99_ms": {name: round(pct(values, 99), 2) for name, values in figures.items()},
              "baseline_valid_p99_ms": round(pct(base, 99), 2),
              "p99_over_baseline": round(pct(every, 99) / max(pct(base, 99), 0.01), 1), "target_ms": TARGET_MS,
              "evaluation_ms": evaluations, "memory": memory,
              "body_limit_bytes": settings.CHECKSTACK_MAX_BODY_BYTES,
              "document_limit_bytes": settings.CHECKSTACK_MAX_DOCUMENT_BYTES, "samples": args.samples}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
