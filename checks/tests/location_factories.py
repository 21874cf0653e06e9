"""Locations and located checks for tests, and a client speaking as a location's prober."""

from rest_framework.test import APIClient

from catalog.tests.factories import ACTOR
from checks.locations.services import location_create, location_heartbeat


def make_location(name: str = "eu", *, online: bool = True):
    """A location and its token in clear; online (one heartbeat) unless asked otherwise."""
    issued = location_create(name=name, actor=ACTOR)
    if online:
        location_heartbeat(location_id=issued.location.pk)
        issued.location.refresh_from_db()
    return issued.location, issued.token


def prober_api(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def result_for(claim: dict, *, ok: bool = True, latency_ms: int | None = 12, error: str = "") -> dict:
    return {"claim": claim["claim"], "check_id": claim["check_id"], "ok": ok, "latency_ms": latency_ms,
            "error": error}
