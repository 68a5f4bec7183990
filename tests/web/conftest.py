"""Fixtures of the web tests.

* ``db``: parametrised over ``sqlite`` and ``postgresql`` (the latter only when
  configured, see below). Each test runs inside one
  outer transaction that is rolled back afterwards; the app's sessions join it
  with SAVEPOINTs (SQLAlchemy's "join an external transaction" recipe). SQLite
  always runs; PostgreSQL runs when ``LAUNCHPAD_TEST_DATABASE_URL`` is set, in a
  database created for this run (``lp_test_<random>``), migrated, dropped at the
  end. If the variable is set and the server does not answer, tests FAIL.
* ``clock``: a :class:`FakeClock` the app reads; ``clock.advance(seconds=...)``.
* ``settings``: production-like settings with cheap argon2 parameters.
* ``app`` / ``client``: ``create_app`` on the test transaction, and a
  :class:`BrowserClient` (falcon's TestClient that keeps cookies like a browser).
* ``new_client``: another browser on the same app (a second user), or on another
  app made by ``make_app(**settings_changes)``.
* ``signup``: ``signup(client, email=None, password=PASSWORD) -> user JSON``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import falcon
import pytest
import sqlalchemy as sa
from falcon import testing

from launchpad_core import Launchpad, default_launchpad
from launchpad_web.app import create_app
from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.migrate import upgrade
from launchpad_web.settings import PasswordHashing, WebSettings

POSTGRESQL_URL_VARIABLE = "LAUNCHPAD_TEST_DATABASE_URL"
FAST_HASHING = PasswordHashing(time_cost=1, memory_kib=8, parallelism=1)
PASSWORD = "correct horse battery staple"


# -- databases ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgresql_engine() -> Iterator[sa.Engine]:
    admin_url = os.environ[POSTGRESQL_URL_VARIABLE]
    with fresh_postgresql_database(admin_url) as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


@contextlib.contextmanager
def fresh_postgresql_database(admin_url: str) -> Iterator[sa.URL]:
    """A new, empty database on the server of ``admin_url``, dropped afterwards."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    name = f"lp_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.OperationalError as exc:
        pytest.fail(f"{POSTGRESQL_URL_VARIABLE} is set but PostgreSQL does not answer: "
                    f"{exc.orig}", pytrace=False)
    try:
        yield sa.make_url(admin_url).set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@attrs.frozen
class TestDatabase:
    backend: str
    engine: sa.Engine
    connection: sa.Connection
    session_factory: Any

    def session(self) -> Any:
        return self.session_factory()


DATABASES = ["sqlite", "postgresql"] if os.environ.get(POSTGRESQL_URL_VARIABLE) else ["sqlite"]


def pytest_report_header() -> str:
    if "postgresql" in DATABASES:
        return "web tests: SQLite and PostgreSQL (a fresh database per run)"
    return f"web tests: SQLite only; set {POSTGRESQL_URL_VARIABLE} to run PostgreSQL too"


@pytest.fixture(params=DATABASES)
def db(request: pytest.FixtureRequest) -> Iterator[TestDatabase]:
    engine = request.getfixturevalue(f"{request.param}_engine")
    with engine.connect() as connection:
        transaction = connection.begin()
        factory = make_session_factory(connection, join_transaction_mode="create_savepoint")
        yield TestDatabase(request.param, engine, connection, factory)
        transaction.rollback()


# -- the app --------------------------------------------------------------------------
class FakeClock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2030, 1, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def settings(tmp_path: Any) -> WebSettings:
    env = {"LAUNCHPAD_DATA_DIR": str(tmp_path), "LAUNCHPAD_ENV": "production"}
    return attrs.evolve(WebSettings.from_env(env), password_hashing=FAST_HASHING)


@pytest.fixture(scope="session")
def launchpad() -> Launchpad:
    return default_launchpad()


@pytest.fixture
def make_app(settings: WebSettings, db: TestDatabase, launchpad: Launchpad,
             clock: FakeClock) -> Callable[..., falcon.App]:
    """``make_app(**settings_changes)``: another app on the same transaction and clock."""

    def make(**changes: Any) -> falcon.App:
        return create_app(attrs.evolve(settings, **changes), session_factory=db.session_factory,
                          launchpad=launchpad, clock=clock)

    return make


@pytest.fixture
def app(make_app: Callable[..., falcon.App]) -> falcon.App:
    return make_app()


class BrowserClient:
    """Falcon's TestClient keeping cookies between requests, like a browser."""

    def __init__(self, app: falcon.App):
        self.test_client = testing.TestClient(app)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kwargs: Any) -> testing.Result:
        result = self.test_client.simulate_request(method, path, cookies=self.cookies, **kwargs)
        for name, cookie in result.cookies.items():
            if cookie.value:
                self.cookies[name] = cookie.value
            else:
                self.cookies.pop(name, None)
        return result

    def get(self, path: str, **kwargs: Any) -> testing.Result:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> testing.Result:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> testing.Result:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> testing.Result:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> testing.Result:
        return self.request("DELETE", path, **kwargs)


@pytest.fixture
def client(app: falcon.App) -> BrowserClient:
    return BrowserClient(app)


@pytest.fixture
def new_client(app: falcon.App) -> Callable[..., BrowserClient]:
    """``new_client(app=None)``: another browser (a second user), on ``app`` by default."""
    return lambda other=None: BrowserClient(other or app)


@pytest.fixture
def signup() -> Callable[..., dict[str, Any]]:
    def sign_up(client: BrowserClient, email: str | None = None,
                password: str = PASSWORD) -> dict[str, Any]:
        email = email or f"user-{uuid.uuid4().hex[:8]}@example.org"
        result = client.post("/api/auth/signup", json={"email": email, "password": password})
        assert result.status_code == 201, result.text
        return result.json

    return sign_up
