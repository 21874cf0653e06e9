"""Test set-up through the real services (no raw saves of tracked models)."""

from automation.models import ChangeEvent, Transition
from catalog.models import System
from catalog.services import system_create

from ..models import Incident, IncidentUpdate
from ..services import incident_create

ACTOR = "user:tester"


def make_system(name: str = "api") -> System:
    return system_create(name=name, actor=ACTOR)


def make_incident(*, title: str = "API down", systems=(), actor: str = ACTOR, **kwargs) -> Incident:
    return incident_create(title=title, system_ids=[s.pk for s in systems], actor=actor, **kwargs)


def change_events(incident_or_id) -> list[ChangeEvent]:
    """The incident's change events, oldest first."""
    entity_id = str(getattr(incident_or_id, "pk", incident_or_id))
    return list(ChangeEvent.objects.filter(kind="incident", entity_id=entity_id).order_by("id"))


def transitions_of(event: ChangeEvent) -> dict[str, tuple]:
    """{field: (from_value, to_value, actor)} of the transitions one change wrote."""
    rows = Transition.objects.filter(change_id=event.change_id).values_list("field", "from_value", "to_value", "actor")
    return {field: (from_value, to_value, actor) for field, from_value, to_value, actor in rows}


LIST = "/api/v1/incidents/"
UNKNOWN = "/api/v1/incidents/8d6a4c1e-0000-4000-8000-000000000000/"


def detail(incident, suffix: str = "") -> str:
    return f"{LIST}{incident.pk}/{suffix}"


def written() -> tuple:
    """Everything an incident write could add: compared before and after a refused request."""
    return (
        list(Incident.objects.order_by("pk").values()),
        IncidentUpdate.objects.count(),
        ChangeEvent.objects.filter(kind="incident").count(),
    )
