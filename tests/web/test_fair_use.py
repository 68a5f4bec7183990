"""Fair use: jobs in flight per plan, bounded progress streams, sign-up throttling.

Streams are held open against a real waitress server (a stream holds one of its
threads), on a database of the test's own; the per-user count is checked in one
process and, with Redis, across two app instances sharing it.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import attrs
import pytest
import redis
import sqlalchemy as sa
import waitress

from launchpad_web.accounts.models import SignupAttempt, User
from launchpad_web.billing.models import Plan, Subscription, SubscriptionStatus
from launchpad_web.billing.plans import PlanCatalog
from launchpad_web.billing.settings import BillingSettings
from launchpad_web.db import make_session_factory
from launchpad_web.errors import ConfigurationError, TooManyStreamsError
from launchpad_web.jobs.models import GenerationJob, JobStatus
from launchpad_web.jobs.slots import GRACE, LocalCounter, RedisCounter, StreamSlots
from launchpad_web.settings import WebSettings
from launchpad_web.testing import insert_template
from launchpad_worker.compose import service_app

from .conftest import PASSWORD

T0 = datetime(2030, 1, 1, tzinfo=UTC)
TINY = {"name": "tiny", "files": [{"path": "a.txt", "content": "x"}]}


def problem(result: Any, status: int, code: str) -> dict[str, Any]:
    assert result.status_code == status, result.text
    assert result.json["code"] == code, result.json
    return result.json


def add_template(session: Any, owner_id: str, team_id: Any = None) -> str:
    row = insert_template(session, owner_id=owner_id, definition=TINY, team_id=team_id, at=T0)
    session.commit()
    return str(row.id)


def set_status(db: Any, job_id: str, status: JobStatus) -> None:
    with db.session() as session:
        session.get(GenerationJob, uuid.UUID(job_id)).status = status
        session.commit()


# -- jobs in flight -------------------------------------------------------------------
@pytest.fixture
def queued_app(make_app):
    """Jobs are queued (a SQLite Huey queue nobody consumes), so they stay pending."""
    return make_app()


def test_a_free_user_has_two_jobs_in_flight_then_429_until_one_finishes(
        queued_app, new_client, signup, db):
    client = new_client(queued_app)
    me = signup(client)
    with db.session() as session:
        template_id = add_template(session, me["id"])
    body = {"template_id": template_id, "answers": {}}
    jobs = [client.post("/api/generate", json=body) for _ in range(2)]
    assert [r.status_code for r in jobs] == [202, 202]
    refused = client.post("/api/generate", json=body)
    doc = problem(refused, 429, "too_many_jobs")
    assert refused.headers["Retry-After"] == "10"
    assert "2 jobs" in doc["detail"]
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(GenerationJob)) == 2

    set_status(db, jobs[0].json["id"], JobStatus.PROCESSING)
    problem(client.post("/api/generate", json=body), 429, "too_many_jobs")
    set_status(db, jobs[0].json["id"], JobStatus.COMPLETED)
    assert client.post("/api/generate", json=body).status_code == 202
    set_status(db, jobs[1].json["id"], JobStatus.FAILED)
    assert client.post("/api/generate", json=body).status_code == 202
    problem(client.post("/api/generate", json=body), 429, "too_many_jobs")


def test_jobs_in_flight_follow_the_plan_and_its_overrides(make_app, new_client, signup, db):
    app = make_app(billing=BillingSettings(plans=PlanCatalog.parse("pro.jobs_in_flight=3"),
                                           enforce_plans="yes"))
    client = new_client(app)
    me = signup(client)
    with db.session() as session:
        session.add(Subscription(user_id=uuid.UUID(me["id"]), plan=Plan.PRO,
                                 status=SubscriptionStatus.ACTIVE))
        template_id = add_template(session, me["id"])
    body = {"template_id": template_id, "answers": {}}
    statuses = [client.post("/api/generate", json=body).status_code for _ in range(4)]
    assert statuses == [202, 202, 202, 429]


def test_the_default_limits_per_plan():
    plans = PlanCatalog()
    assert [plans[p].jobs_in_flight for p in (Plan.FREE, Plan.PRO, Plan.TEAM)] == [2, 10, 25]


# -- event streams --------------------------------------------------------------------
@attrs.frozen
class Served:
    base: str
    engine: sa.Engine

    def signup(self) -> tuple[str, str]:
        """A new user over HTTP: (id, Cookie header)."""
        status, body, headers = request(self.base, "POST", "/api/auth/signup", {
            "email": f"{uuid.uuid4().hex[:10]}@example.org", "password": PASSWORD})
        assert status == 201, body
        return body["id"], headers["Set-Cookie"].split(";")[0]

    def pending_job(self, user_id: str) -> str:
        with make_session_factory(self.engine)() as session:
            template_id = add_template(session, user_id)
            job = GenerationJob(user_id=uuid.UUID(user_id), template_id=uuid.UUID(template_id),
                                template_version=1, status=JobStatus.PENDING, answers={},
                                log=[{"at": T0.isoformat(), "step": "queued", "message": "m"}])
            session.add(job)
            session.commit()
            return str(job.id)


def request(base: str, method: str, path: str, body: Any = None,
            cookie: str | None = None) -> tuple[int, Any, Any]:
    connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)
    headers = {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}
    if cookie:
        headers["Cookie"] = cookie
    connection.request(method, path, body=json.dumps(body) if body is not None else None,
                       headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, json.loads(data or b"null"), response.headers


class Streams:
    """Progress streams held open: ``open()`` answers the status (and the problem)."""

    def __init__(self) -> None:
        self.open_connections: list[http.client.HTTPConnection] = []

    def open(self, base: str, job_id: str, cookie: str) -> tuple[int, Any]:
        connection = http.client.HTTPConnection(urlsplit(base).netloc, timeout=30)
        connection.request("GET", f"/api/generate/{job_id}/events", headers={"Cookie": cookie})
        response = connection.getresponse()
        if response.status != 200:
            doc = json.loads(response.read())
            connection.close()
            return response.status, (doc, response.headers["Retry-After"])
        assert response.readline().startswith(b"id: 1"), "the first event arrives at once"
        self.open_connections.append(connection)
        return 200, response

    def close_all(self) -> None:
        for connection in self.open_connections:
            connection.close()
        self.open_connections.clear()


@pytest.fixture
def streams() -> Iterator[Streams]:
    held = Streams()
    yield held
    held.close_all()


@pytest.fixture
def served(committing_engine, serve, settings):
    """``served(**job_settings) -> Served``: an app on a real server and its own database."""

    def start(redis_url: str | None = None, **jobs: Any) -> Served:
        changed = attrs.evolve(settings, redis_url=redis_url,
                               jobs=attrs.evolve(settings.jobs, immediate=True, **jobs))
        app = service_app(changed, session_factory=make_session_factory(committing_engine))
        return Served(serve(app), committing_engine)

    return start


def test_one_user_holds_at_most_two_streams(served, streams):
    app = served(event_stream=timedelta(seconds=6))
    user_id, cookie = app.signup()
    job = app.pending_job(user_id)
    assert [streams.open(app.base, job, cookie)[0] for _ in range(2)] == [200, 200]
    status, (doc, retry_after) = streams.open(app.base, job, cookie)
    assert (status, doc["code"]) == (429, "too_many_streams")
    assert 6 < int(retry_after) <= 6 + GRACE.total_seconds()
    other_id, other_cookie = app.signup()
    assert streams.open(app.base, app.pending_job(other_id), other_cookie)[0] == 200
    status, _body, _ = request(app.base, "GET", "/api/health")
    assert status == 200, "streams leave threads for other requests"


def test_a_process_holds_at_most_its_total_of_streams(served, streams):
    app = served(event_stream=timedelta(seconds=6), event_streams=3)
    people = [app.signup() for _ in range(2)]
    jobs = [app.pending_job(user_id) for user_id, _cookie in people]
    opened = [streams.open(app.base, jobs[0], people[0][1])[0],
              streams.open(app.base, jobs[0], people[0][1])[0],
              streams.open(app.base, jobs[1], people[1][1])[0]]
    assert opened == [200, 200, 200]
    status, (doc, _retry) = streams.open(app.base, jobs[1], people[1][1])
    assert (status, doc["code"]) == (429, "too_many_streams")
    assert "this server has 3" in doc["detail"]


def test_a_stream_that_ends_gives_its_slot_back(served, streams):
    app = served(event_stream=timedelta(seconds=1), event_streams_per_user=1)
    user_id, cookie = app.signup()
    job = app.pending_job(user_id)
    status, response = streams.open(app.base, job, cookie)
    assert status == 200
    assert streams.open(app.base, job, cookie)[0] == 429
    assert b"retry: 1000" in response.read(), "the stream ends after its longest duration"
    assert streams.open(app.base, job, cookie)[0] == 200


def test_streams_per_user_are_counted_across_processes_in_redis(served, streams, redis_url):
    first = served(redis_url, event_stream=timedelta(seconds=6))
    second = served(redis_url, event_stream=timedelta(seconds=6))
    user_id, cookie = first.signup()
    job = first.pending_job(user_id)
    assert streams.open(first.base, job, cookie)[0] == 200
    assert streams.open(second.base, job, cookie)[0] == 200
    for app in (first, second):
        status, (doc, _retry) = streams.open(app.base, job, cookie)
        assert (status, doc["code"]) == (429, "too_many_streams")
    key = f"launchpad:streams:{user_id}"
    client = redis.Redis.from_url(redis_url)
    assert client.zcard(key) == 2
    streams.close_all()


def test_redis_slots_of_a_crashed_process_age_out(redis_url):
    """A process that died holding slots: they expire with their score, no one frees them."""
    prefix = f"lp-test-{uuid.uuid4().hex}:"
    crashed = RedisCounter(redis.Redis.from_url(redis_url), prefix)
    user = uuid.uuid4()
    for slot in ("dead-1", "dead-2"):  # half a second to live, never given back
        assert crashed.take(user, slot, 2, timedelta(seconds=0.5)) == 0
    alive = StreamSlots(total=10, per_user=2, longest=timedelta(seconds=30),
                        users=RedisCounter(redis.Redis.from_url(redis_url), prefix))
    with pytest.raises(TooManyStreamsError, match="close one first") as refused:
        alive.take(user)
    assert refused.value.retry_after == 1
    time.sleep(0.6)
    slot = alive.take(user)
    assert redis.Redis.from_url(redis_url).zcard(f"{prefix}{user}") == 1
    alive.give_back(slot)
    assert redis.Redis.from_url(redis_url).zcard(f"{prefix}{user}") == 0


def test_local_slots_age_out_and_are_given_back_once():
    now = [0.0]
    counter = LocalCounter(clock=lambda: now[0])
    assert counter.take("u", "a", 1, timedelta(seconds=10)) == 0
    assert counter.take("u", "b", 1, timedelta(seconds=10)) == pytest.approx(10)
    now[0] = 10.5
    assert counter.take("u", "b", 1, timedelta(seconds=10)) == 0
    counter.give_back("u", "a")
    assert counter.take("u", "c", 1, timedelta(seconds=10)) > 0


def test_a_closed_stream_gives_its_slot_back_even_unread():
    slots = StreamSlots(total=1, per_user=1, longest=timedelta(seconds=30))
    body = slots.held(slots.take(uuid.uuid4()), iter([b"x"]))
    with pytest.raises(TooManyStreamsError, match="this server has 1"):
        slots.take(uuid.uuid4())
    body.close()
    body.close()
    slots.take(uuid.uuid4())


def test_stream_settings_default_to_half_the_threads(tmp_path):
    settings = WebSettings.from_env({"LAUNCHPAD_DATA_DIR": str(tmp_path),
                                     "LAUNCHPAD_THREADS": "12"})
    assert (settings.jobs.event_streams, settings.jobs.event_streams_per_user) == (6, 2)
    changed = WebSettings.from_env({"LAUNCHPAD_DATA_DIR": str(tmp_path),
                                    "LAUNCHPAD_EVENT_STREAMS": "3",
                                    "LAUNCHPAD_EVENT_STREAMS_PER_USER": "1"})
    assert (changed.jobs.event_streams, changed.jobs.event_streams_per_user) == (3, 1)



# -- sign-up throttling ---------------------------------------------------------------
def sign_up(client: Any, address: str, email: str | None = None) -> Any:
    return client.post("/api/auth/signup", remote_addr=address, json={
        "email": email or f"{uuid.uuid4().hex[:10]}@example.org", "password": PASSWORD})


def users(db: Any) -> int:
    with db.session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(User))


def test_sign_ups_per_address_are_limited_per_hour(make_app, new_client, db, clock):
    app = make_app(signups_per_address=3)
    for _ in range(3):
        assert sign_up(new_client(app), "192.0.2.1").status_code == 201
        clock.advance(minutes=10)
    refused = sign_up(new_client(app), "192.0.2.1")
    doc = problem(refused, 429, "too_many_signups")
    assert refused.headers["Retry-After"] == str(30 * 60)  # the first leaves the hour then
    assert "3 accounts" in doc["detail"]
    assert users(db) == 3
    assert sign_up(new_client(app), "198.51.100.2").status_code == 201, "another address"
    clock.advance(minutes=30)
    assert sign_up(new_client(app), "192.0.2.1").status_code == 201
    problem(sign_up(new_client(app), "192.0.2.1"), 429, "too_many_signups")


def test_the_count_is_shared_by_every_api_process(make_app, new_client, db):
    first, second = make_app(signups_per_address=2), make_app(signups_per_address=2)
    assert sign_up(new_client(first), "192.0.2.9").status_code == 201
    assert sign_up(new_client(second), "192.0.2.9").status_code == 201
    problem(sign_up(new_client(first), "192.0.2.9"), 429, "too_many_signups")
    problem(sign_up(new_client(second), "192.0.2.9"), 429, "too_many_signups")
    with db.session() as session:
        rows = session.scalars(sa.select(SignupAttempt.address)).all()
    assert rows == ["192.0.2.9", "192.0.2.9"]


def test_failed_sign_ups_count_nothing(make_app, new_client, db):
    app = make_app(signups_per_address=1)
    assert sign_up(new_client(app), "192.0.2.5", "taken@example.org").status_code == 201
    problem(sign_up(new_client(app), "192.0.2.6", "taken@example.org"), 409, "email_taken")
    weak = new_client(app).post("/api/auth/signup", remote_addr="192.0.2.6",
                                json={"email": "weak@example.org", "password": "short"})
    assert weak.status_code == 422
    assert sign_up(new_client(app), "192.0.2.6").status_code == 201


def test_the_sign_up_limit_is_a_setting(tmp_path):
    default = WebSettings.from_env({"LAUNCHPAD_DATA_DIR": str(tmp_path)})
    assert default.signups_per_address == 5
    assert WebSettings.from_env({"LAUNCHPAD_DATA_DIR": str(tmp_path),
                                 "LAUNCHPAD_SIGNUPS_PER_ADDRESS": "20"}).signups_per_address == 20
    with pytest.raises(ConfigurationError, match="LAUNCHPAD_SIGNUPS_PER_ADDRESS"):
        WebSettings.from_env({"LAUNCHPAD_DATA_DIR": str(tmp_path),
                              "LAUNCHPAD_SIGNUPS_PER_ADDRESS": "0"})


def _signup_from(base: str, forwarded: str) -> int:
    body = json.dumps({"email": f"{uuid.uuid4().hex[:10]}@example.org",
                       "password": "correct horse battery staple"}).encode()
    request = urllib.request.Request(f"{base}/api/auth/signup", data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "X-Forwarded-For": forwarded})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("trusted", [True, False])
def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(trusted, committing_engine,
                                                                settings):
    """waitress with the service's own options: behind the trusted proxy (loopback here)
    each forwarded client has its own sign-ups; from anyone else the header is ignored,
    so it cannot be used to dodge the limit."""
    changed = attrs.evolve(settings, signups_per_address=1,
                           trusted_proxy="127.0.0.1" if trusted else None)
    app = service_app(changed, session_factory=make_session_factory(committing_engine))
    server = waitress.create_server(app, host="127.0.0.1", port=0,
                                    **changed.server_options())
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.effective_port}"
    try:
        statuses = [_signup_from(base, address)
                    for address in ("198.51.100.1", "198.51.100.2", "198.51.100.1")]
    finally:
        server.close()
    assert statuses == ([201, 201, 429] if trusted else [201, 429, 429])
