"""An incident's systems are tracked state: their link rows change only inside the incident's mutation."""

import pytest
from django.db import transaction

from automation.entities.mutation import entity_mutate
from automation.entities.tracked import UntrackedWriteError
from automation.models import ChangeEvent, Transition
from incidents.models import IncidentSystem

from .factories import change_events, make_incident, make_system, transitions_of

pytestmark = pytest.mark.django_db

# Each way around the service, given an incident `i` listing system `a`, system `b` listed nowhere and
# `other`, a second incident listing nothing.
BYPASSES = {
    "add": lambda i, a, b, other: i.systems.add(b),
    "remove": lambda i, a, b, other: i.systems.remove(a),
    "clear": lambda i, a, b, other: i.systems.clear(),
    "set": lambda i, a, b, other: i.systems.set([b]),
    "system side add": lambda i, a, b, other: b.incidents.add(i),
    "system side set": lambda i, a, b, other: b.incidents.set([i]),
    "system side remove": lambda i, a, b, other: a.incidents.remove(i),
    "system side clear": lambda i, a, b, other: a.incidents.clear(),
    "link create": lambda i, a, b, other: IncidentSystem.objects.create(incident=i, system=b),
    "link get_or_create": lambda i, a, b, other: IncidentSystem.objects.get_or_create(incident=i, system=b),
    "link save": lambda i, a, b, other: IncidentSystem(incident=i, system=b).save(),
    "link moved by save": lambda i, a, b, other: _moved(IncidentSystem.objects.get(), incident=other).save(),
    "link delete": lambda i, a, b, other: IncidentSystem.objects.get().delete(),
    "reverse foreign-key add": lambda i, a, b, other: other.system_links.add(IncidentSystem.objects.get()),
    "queryset update": lambda i, a, b, other: IncidentSystem.objects.update(system=b),
    "queryset delete": lambda i, a, b, other: IncidentSystem.objects.filter(incident=i).delete(),
    "bulk_create": lambda i, a, b, other: IncidentSystem.objects.bulk_create([IncidentSystem(incident=i, system=b)]),
    "bulk_update": lambda i, a, b, other: IncidentSystem.objects.bulk_update(
        [_moved(IncidentSystem.objects.get(), system=b)], ["system"]
    ),
}


def _moved(link: IncidentSystem, **fields) -> IncidentSystem:
    for name, value in fields.items():
        setattr(link, name, value)
    return link


def links() -> set[tuple[str, str]]:
    return {(str(i), str(s)) for i, s in IncidentSystem.objects.values_list("incident_id", "system_id")}


def log_counts() -> tuple[int, int]:
    return Transition.objects.count(), ChangeEvent.objects.count()


@pytest.mark.parametrize("bypass", BYPASSES.values(), ids=BYPASSES.keys())
def test_a_link_write_outside_the_incidents_mutation_is_refused(bypass):
    a, b = make_system("a"), make_system("b")
    incident, other = make_incident(systems=[a]), make_incident(title="other")
    before = (links(), log_counts())

    # A related manager writes in atomic(savepoint=False): its refusal breaks the enclosing transaction like
    # any failed write; the savepoint lets the test read on.
    with pytest.raises(UntrackedWriteError, match=r"incidents\.services\.incident_update\(system_ids=\.\.\.\)"):
        with transaction.atomic():
            bypass(incident, a, b, other)

    assert (links(), log_counts()) == before
    assert links() == {(str(incident.pk), str(a.pk))}


def test_another_entitys_mutation_does_not_open_the_door():
    a, b = make_system("a"), make_system("b")
    incident, other = make_incident(systems=[a]), make_incident(title="other")
    before = (links(), log_counts())

    def write(current):
        incident.systems.add(b)
        return current

    with pytest.raises(UntrackedWriteError):
        entity_mutate(kind="incident", entity_id=other.pk, write=write, actor="user:sneaky")

    assert (links(), log_counts()) == before


def test_inside_the_incidents_own_mutation_the_related_manager_writes_and_is_recorded():
    a, b = make_system("a"), make_system("b")
    incident = make_incident(systems=[a])

    def write(current):
        current.systems.set([b])
        return current

    _after, event = entity_mutate(kind="incident", entity_id=incident.pk, write=write, actor="user:ops")

    assert links() == {(str(incident.pk), str(b.pk))}
    assert change_events(incident)[-1] == event
    assert transitions_of(event) == {"system_ids": ([str(a.pk)], [str(b.pk)], "user:ops")}
