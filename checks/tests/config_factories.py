"""Test set-up for checks' configuration: checks made through the real service."""

from catalog.models import System
from catalog.tests.factories import make_system
from checks.models import Check
from checks.services import check_create


def make_check(system: System | None = None, *, name: str = "web", kind: str = "http", **fields) -> Check:
    defaults = {"http": {"url": "http://127.0.0.1:8000/healthz"}, "tcp": {"host": "127.0.0.1", "port": 5432},
                "dns": {"dns_name": "example.com"}, "heartbeat": {}, "ping": {"host": "127.0.0.1"}}[kind]
    return check_create(system=system or make_system(), name=name, kind=kind, **{**defaults, **fields})
