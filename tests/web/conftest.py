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
* ``app`` / ``client``: ``service_app`` on the test transaction, and a
  :class:`BrowserClient` (falcon's TestClient that keeps cookies like a browser).
* ``new_client``: another browser on the same app (a second user), or on another
  app made by ``make_app(**settings_changes)``.
* ``signup``: ``signup(client, email=None, password=PASSWORD) -> user JSON``.
* ``outbox``: every notice the apps sent (``launchpad_notify``), emptied per test;
  ``join_team(by, team_id, who, role)`` invites ``who`` and accepts with the mailed link.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import falcon
import pytest
import sqlalchemy as sa
from falcon import testing

from launchpad_core import Launchpad, hookimpl
from launchpad_web import testing as testing_db
from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.migrate import upgrade
from launchpad_web.serving import create_server
from launchpad_web.settings import PasswordHashing, WebSettings
from launchpad_worker.compose import service_app

POSTGRESQL_URL_VARIABLE = "LAUNCHPAD_TEST_DATABASE_URL"
FAST_HASHING = PasswordHashing(time_cost=1, memory_kib=8, parallelism=1)
PASSWORD = "correct horse battery staple"
SIGNUPS_PER_ADDRESS = 10_000
"""Every test client is 127.0.0.1: tests of the sign-up throttle set their own limit."""


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
    """A new, empty database (see :mod:`launchpad_web.testing`); a server that does not
    answer fails the test with one line."""
    try:
        with testing_db.fresh_postgresql_database(admin_url) as url:
            yield url
    except testing_db.PostgresUnavailableError as exc:
        pytest.fail(f"{POSTGRESQL_URL_VARIABLE} is set but {exc}", pytrace=False)


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


@pytest.fixture(params=DATABASES)
def committing_engine(request: pytest.FixtureRequest,
                      tmp_path: Any) -> Iterator[sa.Engine]:
    """A fresh migrated database of its own where commits are real, for tests with
    threads, several connections or a served app (``db`` cannot be shared by them)."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'committing.sqlite3'}")
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    with fresh_postgresql_database(os.environ[POSTGRESQL_URL_VARIABLE]) as url:
        engine = make_engine(url.render_as_string(hide_password=False), pool_size=10)
        upgrade(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def serve() -> Iterator[Callable[..., str]]:
    """``serve(app, **options) -> "http://127.0.0.1:PORT"``: ``app`` behind a real waitress
    server as ``launchpad serve`` makes it (8 threads unless ``options`` say otherwise) on
    loopback, stopped after the test."""
    running: list[tuple[Any, threading.Thread]] = []

    def start(app: falcon.App, **options: Any) -> str:
        server = create_server(app, **{"threads": 8, **options, "host": "127.0.0.1",
                                       "port": 0})
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        return f"http://127.0.0.1:{server.effective_port}"

    yield start
    for server, thread in running:
        # Close every channel from inside the server's own loop (a trigger thunk runs
        # there), so the loop ends with an empty map instead of select() on a closed fd.
        with contextlib.suppress(OSError):  # the loop may have ended and closed it
            server.trigger.pull_trigger(functools.partial(_close_channels, server))
        thread.join(timeout=10)
        server.task_dispatcher.shutdown()


def _close_channels(server: Any) -> None:
    for channel in list(server._map.values()):
        channel.close()


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
    env = {"LAUNCHPAD_DATA_DIR": str(tmp_path), "LAUNCHPAD_ENV": "production",
           "LAUNCHPAD_SIGNUPS_PER_ADDRESS": str(SIGNUPS_PER_ADDRESS),
           # the hosted product's rules (a service without Stripe would have every feature)
           "LAUNCHPAD_ENFORCE_PLANS": "yes"}
    return attrs.evolve(WebSettings.from_env(env), password_hashing=FAST_HASHING)


@attrs.frozen
class SentNotice:
    kind: str
    recipient: str
    subject: str
    message: str


class Outbox:
    """An inline plugin keeping what ``launchpad_notify`` was told, as a mailbox would."""

    def __init__(self) -> None:
        self.notices: list[SentNotice] = []

    @hookimpl
    def launchpad_notify(self, kind: str, recipient: str, subject: str, message: str,
                         settings: Any) -> None:
        self.notices.append(SentNotice(kind, recipient, subject, message))

    def to(self, recipient: str, kind: str = "team_invitation") -> list[SentNotice]:
        return [n for n in self.notices if n.recipient == recipient and n.kind == kind]

    def invitation_token(self, recipient: str) -> str:
        """The token of the latest invitation link mailed to ``recipient``."""
        notices = self.to(recipient)
        assert notices, f"no invitation was sent to {recipient}"
        return re.findall(r"/invitations/([\w-]+)", notices[-1].message)[-1]


OUTBOX = Outbox()


@pytest.fixture(scope="session")
def launchpad() -> Launchpad:
    """Every installed plugin, and :data:`OUTBOX` for the notices sent."""
    launchpad = Launchpad()
    launchpad.hooks.pm.register(OUTBOX)
    return launchpad


@pytest.fixture(autouse=True)
def outbox() -> Outbox:
    OUTBOX.notices.clear()
    return OUTBOX


@pytest.fixture
def make_app(settings: WebSettings, db: TestDatabase, launchpad: Launchpad,
             clock: FakeClock) -> Callable[..., falcon.App]:
    """``make_app(**settings_changes)``: another app on the same transaction and clock."""

    def make(**changes: Any) -> falcon.App:
        return service_app(attrs.evolve(settings, **changes), session_factory=db.session_factory,
                          launchpad=launchpad, clock=clock)

    return make


@pytest.fixture
def app(make_app: Callable[..., falcon.App]) -> falcon.App:
    return make_app()


class BrowserClient:
    """Falcon's TestClient keeping cookies between requests, like a browser, and
    sending ``default_headers`` (``Sec-Fetch-Site: same-origin``, as a browser does
    on its own pages; set ``{}`` to act as a script) under any ``headers=`` given."""

    def __init__(self, app: falcon.App):
        self.test_client = testing.TestClient(app)
        self.cookies: dict[str, str] = {}
        self.default_headers: dict[str, str] = {"Sec-Fetch-Site": "same-origin"}

    def request(self, method: str, path: str, **kwargs: Any) -> testing.Result:
        kwargs["headers"] = {**self.default_headers, **(kwargs.get("headers") or {})}
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


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis that `.ci/run` checks (LAUNCHPAD_TEST_REDIS_URL), on loopback by default."""
    return os.environ.get("LAUNCHPAD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


# -- people: signed-in users on their own browsers (teams, templates, matrix tests) ------
@attrs.frozen
class Person:
    client: BrowserClient
    id: str
    email: str

    def get(self, path: str) -> Any:
        return self.client.get(path)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(path, json=body)

    def put(self, path: str, body: Any) -> Any:
        return self.client.put(path, json=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(path, json=body)

    def delete(self, path: str) -> Any:
        return self.client.delete(path)


def join_team(by: Person, team_id: str, who: Person, role: str = "member") -> dict[str, Any]:
    """``by`` invites ``who`` into the team, and ``who`` accepts with the mailed link."""
    invited = by.post(f"/api/teams/{team_id}/invite", {"email": who.email, "role": role})
    assert invited.status_code == 201, invited.text
    token = OUTBOX.invitation_token(who.email)
    accepted = who.post(f"/api/invitations/{token}/accept", None)
    assert accepted.status_code == 200, accepted.text
    return accepted.json


def people(new_client: Any, signup: Any, db: Any) -> Callable[..., Person]:
    """``make(email=None, *, plan=None)``: a new user signed in on their own browser,
    subscribed to ``plan`` (a ``billing.models.Plan``) when one is given."""
    from launchpad_web.billing.models import Subscription, SubscriptionStatus

    def make(email: str | None = None, *, plan: Any = None) -> Person:
        client = new_client()
        user = signup(client, email)
        if plan is not None:
            with db.session() as session:
                session.add(Subscription(user_id=uuid.UUID(user["id"]), plan=plan,
                                         status=SubscriptionStatus.ACTIVE))
                session.commit()
        return Person(client, user["id"], user["email"])

    return make
