"""Test fixtures shared by every app."""

import pytest


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.com", "admin-pass-123")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def admin_api(api_client, admin_user):
    api_client.force_authenticate(admin_user)
    return api_client


@pytest.fixture(scope="session")
def private_redis():
    """The Redis broker integration tests own (see checkstack/process_fixtures.py)."""
    from urllib.parse import urlparse

    from django.conf import settings

    from checkstack.process_fixtures import PrivateRedis

    port = urlparse(settings.CELERY_BROKER_URL).port or 6379
    server = PrivateRedis(port)
    started_here = not server.running
    if started_here:
        server.start()
    yield server
    if started_here and server.running:
        server.stop()


@pytest.fixture
def integration(private_redis, transactional_db):
    """PostgreSQL + Redis for a test that runs real Celery processes; fails if either is missing."""
    from checkstack.process_fixtures import require_integration_services

    require_integration_services()
    if not private_redis.running:
        private_redis.start()
    private_redis.flush()
    return private_redis


@pytest.fixture
def celery_worker(integration, tmp_path):
    from checkstack.process_fixtures import start_worker

    worker = start_worker(tmp_path)
    yield worker
    worker.stop()
