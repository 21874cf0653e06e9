"""A window's systems are tracked state: their link rows change only inside the window's mutation."""

import pytest
from django.db import transaction

from automation.entities.tracked import UntrackedWriteError
from maintenance.models import MaintenanceSystem

from .factories import log_counts, make_system, make_window

pytestmark = pytest.mark.django_db

# Each way around the service, given a window `w` covering system `a` and system `b` covered by none.
BYPASSES = {
    "add": lambda w, a, b: w.systems.add(b),
    "remove": lambda w, a, b: w.systems.remove(a),
    "clear": lambda w, a, b: w.systems.clear(),
    "set": lambda w, a, b: w.systems.set([b]),
    "system side add": lambda w, a, b: b.maintenance_windows.add(w),
    "system side set": lambda w, a, b: a.maintenance_windows.set([]),
    "link create": lambda w, a, b: MaintenanceSystem.objects.create(window=w, system=b),
    "link save": lambda w, a, b: MaintenanceSystem(window=w, system=b).save(),
    "link delete": lambda w, a, b: MaintenanceSystem.objects.get().delete(),
    "queryset update": lambda w, a, b: MaintenanceSystem.objects.filter(window=w).update(system=b),
    "queryset delete": lambda w, a, b: a.maintenance_links.all().delete(),
    "bulk_create": lambda w, a, b: MaintenanceSystem.objects.bulk_create([MaintenanceSystem(window=w, system=b)]),
}


def links() -> set[tuple[str, str]]:
    return {(str(w), str(s)) for w, s in MaintenanceSystem.objects.values_list("window_id", "system_id")}


@pytest.mark.parametrize("bypass", BYPASSES.values(), ids=BYPASSES.keys())
def test_a_link_write_outside_the_windows_mutation_is_refused(bypass):
    a, b = make_system("a"), make_system("b")
    window = make_window(systems=[a])
    before = log_counts()

    # The savepoint: a related manager's refused write breaks the enclosing transaction like any failed write.
    with pytest.raises(UntrackedWriteError, match=r"maintenance\.services\.maintenance_update\(system_ids="):
        with transaction.atomic():
            bypass(window, a, b)

    assert links() == {(str(window.pk), str(a.pk))}
    assert log_counts() == before
