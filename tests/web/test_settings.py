"""WebSettings.from_env: defaults, every variable, refusals; nothing else reads the environment."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

import launchpad_web
from launchpad_web.errors import ConfigurationError
from launchpad_web.settings import PasswordHashing, WebSettings


def test_defaults(monkeypatch):
    monkeypatch.setenv("HOME", "/home/ann")
    settings = WebSettings.from_env({})
    assert settings.data_dir == Path("/home/ann/.local/share/launchpad")
    assert settings.database_url == "sqlite:////home/ann/.local/share/launchpad/launchpad.sqlite3"
    assert (settings.host, settings.port, settings.threads) == ("127.0.0.1", 8000, 8)
    assert settings.env == "production" and settings.secure_cookies
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.redis_url is None
    assert settings.max_body_bytes == 4 * 1024 * 1024
    assert settings.session_idle == timedelta(hours=2)
    assert settings.session_max == timedelta(days=7)
    assert settings.password_hashing == PasswordHashing()
    assert settings.compiled_cache_bytes == 256 * 1024 * 1024
    assert settings.compiled_cache_dir == Path("/home/ann/.local/share/launchpad/compiled")


def test_every_variable():
    settings = WebSettings.from_env({
        "XDG_DATA_HOME": "/xdg",
        "LAUNCHPAD_DATABASE_URL": "postgresql+psycopg://u@db/lp",
        "LAUNCHPAD_REDIS_URL": "redis://r:6379/1",
        "LAUNCHPAD_HOST": "0.0.0.0",
        "LAUNCHPAD_PORT": "9000",
        "LAUNCHPAD_THREADS": "16",
        "LAUNCHPAD_ENV": "development",
        "LAUNCHPAD_PUBLIC_URL": "https://launchpad.example/",
        "LAUNCHPAD_MAX_BODY_BYTES": "1000",
        "LAUNCHPAD_SESSION_IDLE_SECONDS": "60",
        "LAUNCHPAD_SESSION_MAX_SECONDS": "3600",
        "LAUNCHPAD_LOG_LEVEL": "debug",
        "LAUNCHPAD_COMPILED_CACHE_MB": "32",
    })
    assert settings.data_dir == Path("/xdg/launchpad")
    assert settings.database_url == "postgresql+psycopg://u@db/lp"
    assert settings.redis_url == "redis://r:6379/1"
    assert (settings.host, settings.port, settings.threads) == ("0.0.0.0", 9000, 16)
    assert settings.development and not settings.secure_cookies
    assert settings.public_url == "https://launchpad.example"
    assert settings.max_body_bytes == 1000
    assert settings.session_idle == timedelta(seconds=60)
    assert settings.session_max == timedelta(hours=1)
    assert settings.log_level == "DEBUG"
    assert settings.compiled_cache_bytes == 32 * 1024 * 1024


def test_data_dir_places_the_embedded_database():
    settings = WebSettings.from_env({"LAUNCHPAD_DATA_DIR": "/srv/lp"})
    assert settings.database_url == "sqlite:////srv/lp/launchpad.sqlite3"


@pytest.mark.parametrize(("name", "value"), [
    ("LAUNCHPAD_PORT", "eighty"),
    ("LAUNCHPAD_PORT", "70000"),
    ("LAUNCHPAD_THREADS", "0"),
    ("LAUNCHPAD_ENV", "staging"),
    ("LAUNCHPAD_MAX_BODY_BYTES", "-1"),
    ("LAUNCHPAD_LOG_LEVEL", "LOUD"),
    ("LAUNCHPAD_COMPILED_CACHE_MB", "0"),
    ("LAUNCHPAD_COMPILED_CACHE_MB", "lots"),
])
def test_bad_values_are_refused_by_name(name, value):
    with pytest.raises(ConfigurationError, match=name):
        WebSettings.from_env({name: value})


def test_nothing_else_reads_the_environment():
    package = Path(launchpad_web.__file__).parent
    readers = [
        str(path.relative_to(package)) for path in package.rglob("*.py")
        if re.search(r"os\.environ|os\.getenv|getenv\(", path.read_text())
    ]
    assert readers == ["settings.py"]


def test_a_bucket_keeps_artifacts_in_object_storage_with_its_own_settings():
    assert WebSettings.from_env({"LAUNCHPAD_S3_REGION": "eu-west-1"}).jobs.bucket is None
    bucket = WebSettings.from_env({
        "LAUNCHPAD_ARTIFACT_BUCKET": "artifacts", "LAUNCHPAD_S3_ENDPOINT_URL": "http://minio:9000",
        "LAUNCHPAD_S3_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "ak",
        "AWS_SECRET_ACCESS_KEY": "sk", "LAUNCHPAD_ARTIFACT_DOWNLOADS": "Redirect",
        "LAUNCHPAD_ARTIFACT_URL_SECONDS": "60",
    }).jobs.bucket
    assert (bucket.bucket, bucket.endpoint_url, bucket.region) == (
        "artifacts", "http://minio:9000", "eu-west-1")
    assert (bucket.access_key_id, bucket.secret_access_key, bucket.session_token) == (
        "ak", "sk", None)
    assert (bucket.downloads, bucket.url_lifetime) == ("redirect", timedelta(minutes=1))
    assert "sk" not in repr(bucket)
    assert WebSettings.from_env({"LAUNCHPAD_ARTIFACT_BUCKET": "a"}).jobs.bucket.downloads == (
        "stream")


@pytest.mark.parametrize(("name", "value"), [
    ("LAUNCHPAD_ARTIFACT_DOWNLOADS", "proxy"),
    ("LAUNCHPAD_ARTIFACT_URL_SECONDS", "0"),
    ("LAUNCHPAD_ARTIFACT_URL_SECONDS", "604801"),
])
def test_bad_bucket_values_are_refused_by_name(name, value):
    with pytest.raises(ConfigurationError, match=name):
        WebSettings.from_env({"LAUNCHPAD_ARTIFACT_BUCKET": "artifacts", name: value})
