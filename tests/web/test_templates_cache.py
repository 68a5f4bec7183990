"""The template list cache, on a real Redis (database 2).

A row inserted behind the API's back shows whether a list came from the cache;
every write through the API (to a template, or to who belongs to a team) must make
each affected user's next list fresh; a list served from the cache touches no
database connection.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import falcon
import pytest
import redis
import sqlalchemy as sa
from falcon import testing
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import event

from launchpad_core.testing import free_port
from launchpad_web.billing.models import Plan
from launchpad_web.db import make_session_factory
from launchpad_web.templates import process_pages as near_module
from launchpad_web.templates import socket_poll as readiness
from launchpad_web.templates.cache import TemplateListCache
from launchpad_web.templates.models import TemplateRecord
from launchpad_web.templates.process_pages import NearPages, Ticket
from launchpad_worker.compose import service_app

from .conftest import PASSWORD, BrowserClient, join_team
from .test_templates import DEFINITION, Person, create_template, make_team, people

# One Redis database per xdist worker (8 to 15): a test's teardown deletes every
# cache key, which must not pull the rug from a test running in another worker.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_SERVER = os.environ.get("LAUNCHPAD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
REDIS_URL = f"{_SERVER}/{8 + _WORKER % 8}"
PREFIX = "launchpad:templates:"


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis does not answer at {REDIS_URL}: {exc}", pytrace=False)
    yield client
    keys = list(client.scan_iter(f"{PREFIX}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def person(make_app, new_client, signup, db, redis_client):
    app = make_app(redis_url=REDIS_URL)
    return people(lambda: new_client(app), signup, db)


def names(who: Person, query: str = "") -> list[str]:
    result = who.get(f"/api/templates{query}")
    assert result.status_code == 200, result.text
    return [t["name"] for t in result.json["templates"]]


def sneak_in(db: Any, owner: Person, name: str, team_id: str | None = None) -> None:
    """A template added without the API: the cache does not know of it."""
    with db.session() as session:
        session.add(TemplateRecord(name=name, definition=DEFINITION, owner_id=uuid.UUID(owner.id),
                                   team_id=uuid.UUID(team_id) if team_id else None))
        session.commit()


def test_lists_are_cached_per_user_and_query(person, db, redis_client):
    ann = person(plan=Plan.PRO)
    create_template(ann, "a")
    assert names(ann) == ["a"]
    sneak_in(db, ann, "b")
    assert names(ann) == ["a"]
    assert names(ann, "?limit=5") == ["a", "b"]
    assert list(redis_client.scan_iter(f"{PREFIX}list:{ann.id}:*"))


def test_create_update_and_delete_make_the_next_list_fresh(person, db):
    ann = person(plan=Plan.PRO)
    first = create_template(ann, "a")
    assert names(ann) == ["a"]
    sneak_in(db, ann, "b")
    created = create_template(ann, "c")
    assert names(ann) == ["a", "b", "c"]
    path = f"/api/templates/{created['id']}"
    assert ann.put(path, {"name": "d", "definition": DEFINITION, "version": 1}).status_code == 200
    assert names(ann) == ["a", "b", "d"]
    assert ann.delete(f"/api/templates/{first['id']}").status_code == 204
    assert names(ann) == ["b", "d"]


def test_a_team_template_change_reaches_every_member(person, db):
    owner, admin, member = person(plan=Plan.TEAM), person(), person()
    team = make_team(owner, admin=[admin], member=[member])
    assert names(member) == names(admin) == []
    shared = create_template(owner, "shared", team_id=team)
    assert names(member) == names(admin) == ["shared"]
    path = f"/api/templates/{shared['id']}"
    assert admin.put(path, {"name": "renamed", "definition": DEFINITION,
                            "version": 1}).status_code == 200
    assert names(member) == names(owner) == ["renamed"]
    assert names(member, f"?team_id={team}") == ["renamed"]
    assert admin.delete(path).status_code == 204
    assert names(member) == names(owner) == names(member, f"?team_id={team}") == []


def test_joining_a_team_shows_its_templates_at_once(person):
    owner, newcomer = person(plan=Plan.TEAM), person()
    team = make_team(owner)
    create_template(owner, "shared", team_id=team)
    assert names(newcomer) == []
    join_team(owner, team, newcomer)
    assert names(newcomer) == ["shared"]


def test_a_failed_write_does_not_touch_the_counters(person, redis_client):
    ann = person()
    template = create_template(ann, "a")
    counter = f"{PREFIX}gen:{ann.id}"
    before = redis_client.get(counter)
    stale = ann.put(f"/api/templates/{template['id']}",
                    {"name": "b", "definition": DEFINITION, "version": 9})
    assert stale.status_code == 409
    assert redis_client.get(counter) == before


def test_sessions_bound_to_one_connection_have_no_cache(new_client, signup, db):
    who = people(new_client, signup, db)()
    create_template(who, "a")
    assert names(who) == ["a"]
    sneak_in(db, who, "b")
    assert names(who) == ["a", "b"]


def test_an_unreachable_redis_falls_back_to_the_database(make_app, new_client, signup, db):
    app = make_app(redis_url="redis://127.0.0.1:1/2")
    who = people(lambda: new_client(app), signup, db)()
    create_template(who, "a")
    assert names(who) == ["a"]
    sneak_in(db, who, "b")
    assert names(who) == ["a", "b"]


@contextlib.contextmanager
def own_redis(port: int) -> Iterator[None]:
    """A redis-server of this test's own (the shared one must never be stopped)."""
    server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while not _answers(client):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        client.close()
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)


def _answers(client: redis.Redis) -> bool:
    with contextlib.suppress(redis.ConnectionError):
        return client.ping()
    return False


@pytest.fixture
def retry_at_once(monkeypatch):
    """Redis tried again at once after a failure (not a second later)."""
    monkeypatch.setattr(near_module, "RETRY_SECONDS", 0.0)


@pytest.mark.usefixtures("retry_at_once")
def test_the_cache_falls_back_while_redis_is_down_and_comes_back_with_it(
        make_app, new_client, signup, db, caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with own_redis(port):
        app = make_app(redis_url=f"redis://127.0.0.1:{port}/0")
        who = people(lambda: new_client(app), signup, db)()
        create_template(who, "a")
        assert names(who) == ["a"]
        sneak_in(db, who, "b")
        assert names(who) == ["a"]
    with caplog.at_level(logging.WARNING, logger="launchpad_web.templates.cache"):
        assert names(who) == ["a", "b"]
        assert create_template(who, "c")
        assert names(who) == ["a", "b", "c"]
    assert "template list cache unavailable" in caplog.text
    assert "template list cache not invalidated" in caplog.text
    with own_redis(port):
        assert names(who) == ["a", "b", "c"]
        sneak_in(db, who, "d")
        assert names(who) == ["a", "b", "c"]


def test_the_cache_is_built_from_the_url():
    cache = TemplateListCache.from_url(REDIS_URL, ttl_seconds=7)
    assert cache.ttl_seconds == 7
    assert cache.client.connection_pool.connection_kwargs["db"] == int(REDIS_URL.rsplit("/", 1)[1])


@pytest.fixture
def pooled_app(committing_engine, settings, launchpad, clock, redis_client):
    """An app on a real connection pool (``db``'s single connection has no checkouts)."""
    return service_app(attrs.evolve(settings, redis_url=REDIS_URL), launchpad=launchpad,
                      session_factory=make_session_factory(committing_engine), clock=clock)


def test_a_cached_list_is_served_without_a_database_connection(pooled_app, committing_engine,
                                                                signup):
    browser = BrowserClient(pooled_app)
    signup(browser)
    assert browser.post("/api/templates", json={"name": "a",
                                                "definition": DEFINITION}).status_code == 201
    token = browser.post("/api/tokens", json={"name": "ci"}).json["token"]
    script = testing.TestClient(pooled_app, headers={"Authorization": f"Bearer {token}"})
    first = script.simulate_get("/api/templates")  # loads the token and the page, caches both
    checkouts = []

    def count(*args: Any) -> None:
        checkouts.append(args)

    event.listen(committing_engine, "checkout", count)
    try:
        cached = script.simulate_get("/api/templates")
        assert checkouts == []
        assert script.simulate_get("/api/templates?limit=5").status_code == 200
        assert len(checkouts) == 1  # a miss does read the database
    finally:
        event.remove(committing_engine, "checkout", count)
    assert cached.status_code == 200
    assert cached.headers["Content-Type"] == falcon.MEDIA_JSON
    assert cached.json == first.json
    assert [t["name"] for t in cached.json["templates"]] == ["a"]


def test_leaving_removal_and_team_deletion_hide_its_templates_at_once(person):
    owner, leaver, removed, stayer = person(plan=Plan.TEAM), person(), person(), person()
    team = make_team(owner, member=[leaver, removed, stayer])
    create_template(owner, "shared", team_id=team)
    for who in (leaver, removed, stayer):
        assert names(who) == ["shared"]
    assert leaver.delete(f"/api/teams/{team}/members/{leaver.id}").status_code == 204
    assert owner.delete(f"/api/teams/{team}/members/{removed.id}").status_code == 204
    assert names(leaver) == names(removed) == []
    assert names(stayer) == names(owner) == ["shared"]
    assert owner.delete(f"/api/teams/{team}").status_code == 204
    assert names(stayer) == names(owner) == []


def test_an_invitation_accepted_on_another_process_shows_the_teams_templates(
        person, new_client, signup, make_app, outbox):
    owner = person(plan=Plan.TEAM)
    team = make_team(owner)
    create_template(owner, "shared", team_id=team)
    invited = owner.post(f"/api/teams/{team}/invite", {"email": "later@example.org"})
    assert invited.status_code == 201, invited.text
    newcomer = new_client(make_app(redis_url=REDIS_URL))
    signup(newcomer, "later@example.org")
    assert newcomer.get("/api/templates").json["templates"] == []
    token = outbox.invitation_token("later@example.org")
    assert newcomer.post(f"/api/invitations/{token}/accept").status_code == 200
    listed = newcomer.get("/api/templates")
    assert [t["name"] for t in listed.json["templates"]] == ["shared"]


def test_a_deleted_account_s_team_templates_leave_the_members_lists(person):
    owner, admin, member = person(plan=Plan.TEAM), person(), person()
    team = make_team(owner, admin=[admin], member=[member])
    create_template(owner, "kept", team_id=team)
    create_template(admin, "gone", team_id=team)
    assert names(member) == names(owner) == ["gone", "kept"]
    deleted = admin.client.delete("/api/me", json={"password": PASSWORD})
    assert deleted.status_code == 204, deleted.text
    assert names(member) == names(owner) == ["kept"]


def test_a_role_change_keeps_the_lists_cached(person, db):
    owner, member = person(plan=Plan.TEAM), person()
    team = make_team(owner, member=[member])
    create_template(owner, "a", team_id=team)
    assert names(member) == ["a"]
    sneak_in(db, owner, "b", team_id=team)
    changed = owner.client.patch(f"/api/teams/{team}/members/{member.id}", json={"role": "admin"})
    assert changed.status_code == 200, changed.text
    assert names(member) == ["a"]


@pytest.fixture
def cache(redis_client):
    return TemplateListCache(redis_client, ttl_seconds=60)


class Loads:
    """A page loader counting its calls: each answers a new page."""

    def __init__(self):
        self.count = 0

    def __call__(self) -> dict[str, int]:
        self.count += 1
        return {"load": self.count}


def committed_change(db, cache, user_id):
    with db.session() as session:
        cache.lists_changed(session, [user_id])
        session.commit()


def test_a_page_built_before_a_change_is_never_served_after_it(db, cache, redis_client):
    user, load = uuid.uuid4(), Loads()
    assert cache.page(user_id=user, query={}, load=load) == b'{"load":1}'
    assert cache.page(user_id=user, query={}, load=load) == b'{"load":1}'
    committed_change(db, cache, user)
    assert cache.page(user_id=user, query={}, load=load) == b'{"load":2}'
    redis_client.delete(f"{PREFIX}gen:{user}")  # the generation expired
    assert cache.page(user_id=user, query={}, load=load) == b'{"load":3}'
    committed_change(db, cache, user)
    assert cache.page(user_id=user, query={}, load=load) == b'{"load":4}'
    assert cache.page(user_id=user, query={}, load=load) == b'{"load":4}'


def test_a_change_committed_while_a_page_loads_makes_that_page_stale(db, cache):
    user, load = uuid.uuid4(), Loads()

    def load_while_a_writer_commits():
        page = load()
        committed_change(db, cache, user)
        return page

    assert cache.page(user_id=user, query={}, load=load_while_a_writer_commits) == b'{"load":1}'
    assert cache.page(user_id=user, query={}, load=load) == b'{"load":2}'


def test_a_rolled_back_change_keeps_the_generation(db, cache, redis_client):
    user = uuid.uuid4()
    committed_change(db, cache, user)
    before = redis_client.get(f"{PREFIX}gen:{user}")
    with db.session() as session:
        session.execute(sa.select(1))  # services change lists inside a transaction
        cache.lists_changed(session, [user])
        session.rollback()
        session.commit()
    assert redis_client.get(f"{PREFIX}gen:{user}") == before is not None


def test_a_cached_page_holds_its_generation_and_json(cache, redis_client):
    user = uuid.uuid4()
    cache.page(user_id=user, query={"limit": 5}, load=lambda: {"name": "é"})
    [key] = redis_client.scan_iter(f"{PREFIX}list:{user}:*")
    generation = redis_client.get(f"{PREFIX}gen:{user}")
    assert len(generation) == 16  # a random generation, started by the first page
    assert redis_client.get(key) == generation + b" " + '{"name":"é"}'.encode()
    assert 0 < redis_client.ttl(key) <= 60


def test_a_vanished_generation_never_matches_an_old_page(cache, redis_client):
    """Expired or evicted (allkeys-lru): the next read starts a new generation."""
    user, loads = uuid.uuid4(), Loads()
    assert cache.page(user_id=user, query={}, load=loads) == b'{"load":1}'
    assert cache.page(user_id=user, query={}, load=loads) == b'{"load":1}'
    redis_client.delete(f"{PREFIX}gen:{user}")
    assert cache.page(user_id=user, query={}, load=loads) == b'{"load":2}'
    assert cache.page(user_id=user, query={}, load=loads) == b'{"load":2}'


# -- the near tier: each process's own copies -------------------------------------------
@pytest.fixture
def processes(redis_client):
    """Two API processes' caches: their own clients, near tiers and subscriptions."""
    made = []

    def process() -> TemplateListCache:
        made.append(TemplateListCache.from_url(REDIS_URL, ttl_seconds=60))
        return made[-1]

    yield process
    for cache in made:
        cache.client.close()


def test_a_near_hit_asks_redis_nothing(processes, redis_client):
    cache, user, load = processes(), uuid.uuid4(), Loads()
    assert cache.page(user_id=user, query={}, load=load) == b'{"load":1}'
    for key in redis_client.scan_iter(f"{PREFIX}*"):
        redis_client.delete(key)  # Redis forgets everything: only the near tier can answer
    assert cache.page(user_id=user, query={}, load=load) == b'{"load":1}'
    assert cache.page(user_id=user, query={"limit": 5}, load=load) == b'{"load":2}'


def test_a_change_committed_in_one_process_is_seen_by_the_next_read_in_another(
        db, processes):
    writer, reader, user, load = processes(), processes(), uuid.uuid4(), Loads()
    assert reader.page(user_id=user, query={}, load=load) == b'{"load":1}'
    assert reader.page(user_id=user, query={}, load=load) == b'{"load":1}'
    other = uuid.uuid4()
    assert reader.page(user_id=other, query={}, load=lambda: {"other": 1}) == b'{"other":1}'
    committed_change(db, writer, user)  # no sleep: the message is waiting when this returns
    assert reader.page(user_id=user, query={}, load=load) == b'{"load":2}'
    assert reader.page(user_id=user, query={}, load=load) == b'{"load":2}'
    assert reader.page(user_id=other, query={}, load=lambda: {"other": 2}) == b'{"other":1}'


def test_a_change_read_while_a_page_loads_keeps_that_page_out(db, processes):
    writer, reader, user, load = processes(), processes(), uuid.uuid4(), Loads()
    reader.page(user_id=user, query={}, load=load)  # subscribed

    def load_while_another_process_commits():
        page = load()
        committed_change(db, writer, user)
        # another request of the reader's process reads the message meanwhile
        reader.page(user_id=uuid.uuid4(), query={}, load=lambda: {})
        return page

    assert reader.page(user_id=user, query={"limit": 5},
                       load=load_while_another_process_commits) == b'{"load":2}'
    assert reader.page(user_id=user, query={"limit": 5}, load=load) == b'{"load":3}'


def kill_subscription(cache: TemplateListCache, redis_client: redis.Redis) -> None:
    host, port = cache.near._pubsub.connection._sock.getsockname()[:2]
    assert redis_client.client_kill_filter(addr=f"{host}:{port}") == 1


def forget_shared_pages(redis_client: redis.Redis) -> None:
    for key in redis_client.scan_iter(f"{PREFIX}*"):
        redis_client.delete(key)


@pytest.mark.usefixtures("retry_at_once")
def test_a_lost_subscription_empties_the_near_tier_until_it_is_back(db, processes, redis_client):
    writer, reader, user, load = processes(), processes(), uuid.uuid4(), Loads()
    assert reader.page(user_id=user, query={}, load=load) == b'{"load":1}'
    kill_subscription(reader, redis_client)
    committed_change(db, writer, user)  # published to nobody
    assert reader.page(user_id=user, query={}, load=load) == b'{"load":2}'
    assert reader.page(user_id=user, query={}, load=load) == b'{"load":2}'
    forget_shared_pages(redis_client)
    assert reader.page(user_id=user, query={}, load=load) == b'{"load":2}'  # near tier again
    committed_change(db, writer, user)  # and messages arrive again
    assert reader.page(user_id=user, query={}, load=load) == b'{"load":3}'


def test_a_silent_reconnection_empties_the_near_tier(db, processes, redis_client):
    """A client that retries reconnects and subscribes again on its own."""
    retrying = redis.Redis.from_url(REDIS_URL, retry=Retry(NoBackoff(), 3),
                                    retry_on_error=[redis.ConnectionError])
    reader = TemplateListCache(retrying, ttl_seconds=60, near=NearPages(retrying))
    writer, user, load = processes(), uuid.uuid4(), Loads()
    assert reader.page(user_id=user, query={}, load=load) == b'{"load":1}'
    kill_subscription(reader, redis_client)
    committed_change(db, writer, user)  # published to nobody
    forget_shared_pages(redis_client)
    assert reader.page(user_id=user, query={}, load=load) == b'{"load":2}'
    assert reader.near._pubsub is not None  # it never noticed the loss
    retrying.close()


def test_the_near_tier_is_bypassed_while_redis_is_down(make_app, new_client, signup, db,
                                                       caplog):
    port = free_port()
    with own_redis(port):
        cache = TemplateListCache.from_url(f"redis://127.0.0.1:{port}/0", ttl_seconds=60)
        user, load = uuid.uuid4(), Loads()
        assert cache.page(user_id=user, query={}, load=load) == b'{"load":1}'
    with caplog.at_level(logging.WARNING, logger="launchpad_web.templates.cache"):
        assert cache.page(user_id=user, query={}, load=load) == b'{"load":2}'
        assert cache.page(user_id=user, query={}, load=load) == b'{"load":3}'
    assert "near cache off" in caplog.text
    cache.client.close()


def test_near_pages_are_bounded_by_size_least_recently_used_first(redis_client):
    near = NearPages(redis_client, max_bytes=25)
    users = [uuid.uuid4() for _ in range(3)]
    for user in users:
        near.keep(near.lookup(user, "q"), b"0123456789")
        near.lookup(users[0], "q")  # the first user's page stays the most recently used
    near.keep(near.lookup(uuid.uuid4(), "q"), b"x" * 26)  # larger than the whole tier
    assert [near.lookup(u, "q") == b"0123456789" for u in users] == [True, False, True]


def test_forgotten_change_stamps_never_let_an_old_page_in(redis_client):
    near = NearPages(redis_client, max_stamps=2)
    user = uuid.uuid4()
    ticket = near.lookup(user, "q")
    near.forget([user])
    near.forget([uuid.uuid4(), uuid.uuid4()])  # pushes the user's stamp out
    near.keep(ticket, b"old")
    assert isinstance(near.lookup(user, "q"), Ticket)


@pytest.mark.parametrize("check", [readiness._libc_poll(), readiness._select_poll])
def test_readiness_tells_a_waiting_byte_from_none(check):
    left, right = socket.socketpair()
    with left, right:
        assert check(left) is False
        right.send(b"x")
        deadline = time.monotonic() + 5
        while not check(left):
            assert time.monotonic() < deadline
        left.recv(1)
        assert check(left) is False
        right.close()
        assert check(left) is True  # end of stream: the reader must look


def test_while_one_request_subscribes_the_others_bypass_the_tier(redis_client):
    """Subscribing may wait for Redis (up to its timeout): nobody else waits with it."""
    near = NearPages(redis_client)
    entered, release, found = threading.Event(), threading.Event(), []
    subscribe = near._subscribe

    def slow_subscribe():
        entered.set()
        release.wait(10)
        return subscribe()

    near._subscribe = slow_subscribe
    user = uuid.uuid4()
    first = threading.Thread(target=lambda: found.append(near.lookup(user, "q")))
    first.start()
    assert entered.wait(10)
    started = time.monotonic()
    assert near.lookup(user, "q") is None  # bypassed, not blocked
    assert time.monotonic() - started < 1
    release.set()
    first.join(10)
    assert isinstance(found[0], Ticket)
    near.keep(found[0], b"page")
    assert near.lookup(user, "q") == b"page"


def test_a_failed_redis_is_left_alone_for_a_moment(caplog):
    """One warning and one attempt, not one per request while Redis is down."""
    cache = TemplateListCache.from_url("redis://127.0.0.1:1/0")
    loads = Loads()
    with caplog.at_level(logging.WARNING, logger="launchpad_web.templates.cache"):
        for n in range(1, 6):
            assert cache.page(user_id=uuid.uuid4(), query={}, load=loads) == (
                f'{{"load":{n}}}'.encode())
    unavailable = [r for r in caplog.records if "cache unavailable" in r.getMessage()]
    assert len(unavailable) == 1
    assert len([r for r in caplog.records if "near cache off" in r.getMessage()]) == 1
