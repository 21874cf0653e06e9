"""Test fixtures shared by every app."""

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests hash passwords with a fast hasher; the real one costs a second or more per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _static_files_without_manifest():
    """Pages render without `collectstatic`: production's manifest storage (DEBUG off) needs its manifest.

    The test that serves the collected, hashed files runs gunicorn in its own process with the real setting.
    """
    from django.conf import settings

    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


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


@pytest.fixture(scope="session", autouse=True)
def private_redis():
    """The Redis broker integration tests own (see testing/process_fixtures.py).

    Started for the whole session when the broker is Redis (the PostgreSQL pass), so every test's commit
    wake-ups have a broker to reach; None in the SQLite pass, whose broker is in-process.
    """
    from urllib.parse import urlparse

    from django.conf import settings

    from testing.process_fixtures import PrivateRedis

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        yield None
        return

    port = urlparse(settings.CELERY_BROKER_URL).port or 6379
    server = PrivateRedis(port)
    started_here = not server.running
    if started_here:
        server.start()
    yield server
    from testing.process_fixtures import stop_launched

    stop_launched()  # before its broker goes: a worker left by a test without the `integration` fixture
    if started_here and server.running:
        server.stop()


@pytest.fixture
def integration(private_redis, transactional_db):
    """PostgreSQL + Redis for a test that runs real Celery processes; fails if either is missing.

    At teardown, every Celery process the test launched and left running (it failed before stopping it) is
    stopped with its whole process group: no worker or pool child outlives the test to consume later tests'
    messages.
    """
    from testing.process_fixtures import require_integration_services, stop_launched

    require_integration_services()
    if private_redis is None:
        pytest.fail("integration tests need CELERY_BROKER_URL pointing at Redis (run the README's test command)")
    if not private_redis.running:
        private_redis.start()
    private_redis.flush()
    yield private_redis
    stop_launched()


@pytest.fixture
def celery_worker(integration, tmp_path):
    from testing.process_fixtures import start_worker

    worker = start_worker(tmp_path)
    yield worker
    worker.stop()
