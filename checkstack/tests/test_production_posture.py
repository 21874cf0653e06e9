"""Production posture: the documented configuration passes `check --deploy`, weak keys stop the process, and the
API schema and docs need a login and load nothing from outside the app."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

BASE_DIR = Path(settings.BASE_DIR)

# The "Production" configuration of README.md (the security part of it).
PRODUCTION = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "status.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://status.example.com",
    "SECURE_PROXY_SSL_HEADER": "true",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
}


def manage(tmp_path, *args, **env) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh process with only this configuration (none of the test session's)."""
    base = {k: v for k, v in os.environ.items()
            if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}
            and not k.startswith(("SECURE_", "SESSION_", "CSRF_"))}
    base.update(CHECKSTACK_VAR_DIR=str(tmp_path / "var"), PYTHONUNBUFFERED="1", **env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=base, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_is_clean_in_the_documented_production_configuration(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING",
                    SECRET_KEY=secrets.token_urlsafe(50), **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize("key", [
    "",  # missing (an empty variable counts as missing)
    "change-me",  # the old .env.example
    "insecure-dev-key-only-for-debug",  # the DEBUG fallback
    "short-but-varied-key-0123456789",  # under 50 characters
    "ab" * 40,  # long, but two distinct characters
    "django-insecure-" + "k7#q9!x2@m4$w8%z" * 3,  # startproject's marker of a throwaway key
])
def test_without_debug_the_process_refuses_to_start_on_a_missing_example_or_weak_key(tmp_path, key):
    result = manage(tmp_path, "check", SECRET_KEY=key, DEBUG="false")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is missing, an example value or too weak" in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr  # it says how to make one


def test_empty_database_and_broker_urls_mean_the_embedded_defaults(tmp_path):
    result = manage(tmp_path, "shell", "-c",
                    "from django.conf import settings as s; "
                    "print(s.DATABASES['default']['ENGINE'], s.EMBEDDED_BROKER)",
                    DEBUG="1", SECRET_KEY="x", DATABASE_URL="", CELERY_BROKER_URL="")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["django.db.backends.sqlite3", "True"]


def test_env_example_ships_no_usable_secret_key():
    lines = (BASE_DIR / ".env.example").read_text().splitlines()
    values = [line.split("=", 1)[1] for line in lines if line.startswith("SECRET_KEY=")]
    assert values == [""]  # present (so it is documented) and empty: copying the file cannot start production
    assert any("secrets.token_urlsafe" in line for line in lines)


@pytest.mark.django_db
def test_schema_and_docs_refuse_anonymous_users(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 401
    assert b"openapi" not in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 302
    assert docs["Location"] == f"{reverse('admin:login')}?next=/api/docs/"


@pytest.mark.django_db
def test_a_logged_in_user_gets_the_schema_and_docs_that_load_only_local_assets(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("reader", password=None))  # no permissions
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "Checkstack API"
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    urls = re.findall(r'(?:src|href)\s*=\s*"([^"]+)"', html) + re.findall(r'url:\s*"([^"]+)"', html)
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls), urls
    assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
    assert not re.search(r"https?://", html.replace("http://testserver", "")), "an absolute URL in the page"
    for url in urls:
        if url.startswith("/static/"):
            path = url.removeprefix("/static/").split("?")[0]
            from django.contrib.staticfiles import finders

            assert finders.find(path), f"{url} is not among the app's static files"
