"""GET /api/health."""

from __future__ import annotations

from falcon import testing

import launchpad_core
from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.migrate import head_revision
from launchpad_worker.compose import service_app

from .conftest import BrowserClient


def test_health_reports_database_queue_version_and_billing(client, db):
    result = client.get("/api/health")
    assert result.status_code == 200
    assert result.json == {
        "status": "ok",
        "version": launchpad_core.__version__,
        "database": {"status": "ok", "backend": db.backend, "revision": head_revision(),
                     "expected_revision": head_revision()},
        "queue": {"status": "ok", "backend": "sqlite", "pending": 0},
        "billing": {"provider": "free", "plans_enforced": True},
        "forges": {"enabled": False, "forges": [],
                   "detail": "forge sign-in is off: LAUNCHPAD_ENCRYPTION_KEYS is not set"},
    }


def test_an_outdated_schema_makes_health_503(client, db):
    db.connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0000'")
    result = client.get("/api/health")
    assert result.status_code == 503
    assert result.json["status"] == "degraded"
    assert result.json["database"]["status"] == "outdated"
    assert result.json["database"]["revision"] == "0000"


def test_an_unreachable_database_makes_health_503(settings, launchpad):
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    app = service_app(settings, session_factory=make_session_factory(engine), launchpad=launchpad)
    result = testing.TestClient(app).simulate_get("/api/health")
    assert result.status_code == 503
    assert result.json["database"]["status"] == "unreachable"
    assert "nobody" not in result.text


def test_health_reports_a_redis_queue_and_its_backlog(make_app, redis_url):
    app = make_app(redis_url=redis_url)
    result = BrowserClient(app).get("/api/health")
    assert result.status_code == 200
    assert result.json["queue"]["backend"] == "redis"
    assert result.json["queue"]["status"] == "ok"
    assert isinstance(result.json["queue"]["pending"], int)


def test_an_unreachable_queue_makes_health_503(make_app):
    app = make_app(redis_url="redis://127.0.0.1:1/0?socket_connect_timeout=1")
    result = BrowserClient(app).get("/api/health")
    assert result.status_code == 503
    assert result.json["status"] == "degraded"
    assert result.json["queue"] == {"status": "unreachable", "backend": "redis", "pending": None}
