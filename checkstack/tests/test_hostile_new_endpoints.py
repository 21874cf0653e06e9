"""Hostile bodies at this round's endpoints: each is a 400 with field errors and writes nothing."""

import pytest

from automation.models import ChangeEvent
from catalog.models import Dependency, Group
from checks.models import Location
from checks.slos.models import Slo
from notifications.channels.models import Channel

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NO_SYSTEM = "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize("path,body", [
    ("/api/v1/groups/", {"name": "x" * 100_000}),
    ("/api/v1/groups/", {"name": "g", "position": 10**30}),
    ("/api/v1/dependencies/", {"system_id": "nope", "depends_on_id": "x"}),
    ("/api/v1/slos/", {"system_id": NO_SYSTEM, "name": "s", "target_percent": 1e308, "window_days": 10**9,
                       "indicator": "availability"}),
    ("/api/v1/channels/", {"name": "c", "kind": "webhook",
                           "config": {"url": "http://169.254.169.254/" + "a" * 100_000}}),
    ("/api/v1/channels/", {"name": "c", "kind": "slack", "config": [1, 2]}),
    ("/api/v1/locations/", {"name": "\x00bad"}),
    ("/api/v1/systems/", {"name": "s", "health_quorum": -5}),
])
def test_a_hostile_body_is_a_400_that_writes_nothing(admin_api, path, body):
    models = (ChangeEvent, Group, Dependency, Slo, Channel, Location)
    before = [m.objects.count() for m in models]

    response = admin_api.post(path, body, format="json")

    assert response.status_code == 400, response.content[:300]
    assert isinstance(response.json(), dict) and response.json()  # field errors, not an empty body
    assert [m.objects.count() for m in models] == before
