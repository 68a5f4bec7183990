"""The template list cache, on a real Redis (database 2).

A row inserted behind the API's back shows whether a list came from the cache;
every write through the API must make each affected user's next list fresh.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from launchpad_web.billing.models import Plan
from launchpad_web.templates.cache import TemplateListCache
from launchpad_web.templates.models import TemplateRecord

from .test_templates import DEFINITION, Person, create_template, make_team, people

REDIS_URL = "redis://127.0.0.1:6379/2"
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
    ann = person(Plan.PRO)
    create_template(ann, "a")
    assert names(ann) == ["a"]
    sneak_in(db, ann, "b")
    assert names(ann) == ["a"]
    assert names(ann, "?limit=5") == ["a", "b"]
    assert list(redis_client.scan_iter(f"{PREFIX}list:{ann.id}:*"))


def test_create_update_and_delete_make_the_next_list_fresh(person, db):
    ann = person(Plan.PRO)
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
    owner, admin, member = person(Plan.TEAM), person(), person()
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
    owner, newcomer = person(Plan.TEAM), person()
    team = make_team(owner)
    create_template(owner, "shared", team_id=team)
    assert names(newcomer) == []
    invited = owner.post(f"/api/teams/{team}/invite", {"email": newcomer.email})
    assert invited.status_code == 201, invited.text
    assert names(newcomer) == ["shared"]


def test_a_failed_write_does_not_touch_the_counters(person, redis_client):
    ann = person()
    template = create_template(ann, "a")
    counter = f"{PREFIX}gen:user:{ann.id}"
    before = redis_client.get(counter)
    stale = ann.put(f"/api/templates/{template['id']}",
                    {"name": "b", "definition": DEFINITION, "version": 9})
    assert stale.status_code == 409
    assert redis_client.get(counter) == before


def test_without_redis_there_is_no_cache(new_client, signup, db):
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


def test_the_cache_is_built_from_the_url():
    cache = TemplateListCache.from_url(REDIS_URL, ttl_seconds=7)
    assert cache.ttl_seconds == 7
    assert cache.client.connection_pool.connection_kwargs["db"] == 2
