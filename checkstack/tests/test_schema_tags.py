"""The OpenAPI schema groups operations by resource (Swagger's sections), not under one "v1" tag."""

import pytest
import yaml
from django.test import Client

pytestmark = pytest.mark.django_db


def test_every_operation_is_tagged_with_its_resource(admin_user):
    client = Client()
    client.force_login(admin_user)
    schema = yaml.safe_load(client.get("/api/schema/").content)

    tags = {path: {tag for operation in item.values() if isinstance(operation, dict)
                   for tag in operation.get("tags", [])} for path, item in schema["paths"].items()}

    assert tags["/api/v1/systems/"] == {"systems"}
    assert tags["/api/v1/systems/{id}/health/"] == {"systems"}
    assert tags["/api/v1/incidents/{id}/resolve/"] == {"incidents"}
    assert tags["/api/v1/automations/"] == {"automations"}
    assert all(t and "v1" not in t for t in tags.values()), [p for p, t in tags.items() if not t or "v1" in t]
    assert len(set().union(*tags.values())) >= 8
