"""The template list cache without Redis: pages kept per process, checked against
each user's generation in the database (``templates/database_pages.py``).

Two apps on one committing database stand for two API processes. A row inserted
behind the API's back shows whether a list came from the cache; every write through
either process must make each affected user's next list fresh in both.
"""

from __future__ import annotations

import types
import uuid
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from launchpad_web.billing.models import Plan
from launchpad_web.db import make_session_factory
from launchpad_web.templates.database_pages import DatabaseListCache
from launchpad_web.templates.models import TemplateListGeneration, TemplateRecord
from launchpad_worker.compose import service_app

from .conftest import BrowserClient, join_team, people
from .test_templates import DEFINITION, Person, create_template, make_team


@pytest.fixture
def processes(committing_engine, settings, launchpad, clock):
    """Two API apps (processes) on one database, without Redis."""
    changed = attrs.evolve(settings, redis_url=None)
    return [service_app(changed, session_factory=make_session_factory(committing_engine),
                        launchpad=launchpad, clock=clock) for _ in range(2)]


@pytest.fixture
def person(processes, signup, committing_engine):
    database = types.SimpleNamespace(session=make_session_factory(committing_engine))
    return people(lambda: BrowserClient(processes[0]), signup, database)


def on(process: Any, who: Person) -> Person:
    """``who``'s browser talking to another process."""
    client = BrowserClient(process)
    client.cookies = who.client.cookies
    return Person(client, who.id, who.email)


def names(who: Person, query: str = "") -> list[str]:
    result = who.get(f"/api/templates{query}")
    assert result.status_code == 200, result.text
    return [t["name"] for t in result.json["templates"]]


def sneak_in(engine: sa.Engine, owner: Person, name: str) -> None:
    with make_session_factory(engine)() as session:
        session.add(TemplateRecord(name=name, definition=DEFINITION, owner_id=uuid.UUID(owner.id)))
        session.commit()


def test_lists_are_kept_per_user_and_query_until_a_write(person, committing_engine):
    ann, bob = person(plan=Plan.PRO), person()
    create_template(ann, "a")
    assert names(ann) == ["a"]
    sneak_in(committing_engine, ann, "b")
    assert names(ann) == ["a"]  # kept
    assert names(ann, "?limit=5") == ["a", "b"]  # another query: loaded
    assert names(bob) == []
    created = create_template(ann, "c")
    assert names(ann) == ["a", "b", "c"]
    assert ann.put(f"/api/templates/{created['id']}",
                   {"name": "d", "definition": DEFINITION, "version": 1}).status_code == 200
    assert names(ann) == ["a", "b", "d"]
    assert ann.delete(f"/api/templates/{created['id']}").status_code == 204
    assert names(ann) == ["a", "b"]


def test_a_write_in_one_process_reaches_the_other(person, processes, committing_engine):
    ann = person(plan=Plan.PRO)
    elsewhere = on(processes[1], ann)
    create_template(ann, "a")
    assert names(elsewhere) == ["a"]
    sneak_in(committing_engine, ann, "b")
    assert names(elsewhere) == ["a"]  # the other process keeps its page too
    create_template(ann, "c")  # written through the first process
    assert names(elsewhere) == ["a", "b", "c"]


def test_team_changes_reach_every_member_in_every_process(person, processes):
    owner, member, newcomer = person(plan=Plan.TEAM), person(), person()
    team = make_team(owner, member=[member])
    member_elsewhere, newcomer_elsewhere = on(processes[1], member), on(processes[1], newcomer)
    assert names(member_elsewhere) == names(newcomer_elsewhere) == []
    create_template(owner, "shared", team_id=team)
    assert names(member_elsewhere) == ["shared"]
    join_team(owner, team, newcomer)
    assert names(newcomer_elsewhere) == ["shared"]
    assert owner.delete(f"/api/teams/{team}").status_code == 204
    assert names(member_elsewhere) == names(newcomer_elsewhere) == []


def test_a_refused_write_leaves_the_generation_alone(person, committing_engine):
    ann = person()
    template = create_template(ann, "a")
    before = generation(committing_engine, ann)
    stale = ann.put(f"/api/templates/{template['id']}",
                    {"name": "b", "definition": DEFINITION, "version": 9})
    assert stale.status_code == 409
    assert generation(committing_engine, ann) == before is not None


def generation(engine: sa.Engine, who: Person) -> str | None:
    with engine.connect() as connection:
        return connection.scalar(sa.select(TemplateListGeneration.generation).where(
            TemplateListGeneration.user_id == uuid.UUID(who.id)))


def test_an_unreadable_generation_loads_the_page_uncached(committing_engine):
    cache = DatabaseListCache(committing_engine)
    user = uuid.uuid4()
    loads: list[int] = []

    def load() -> dict[str, Any]:
        loads.append(1)
        return {"n": len(loads)}

    assert cache.page(user_id=user, query={}, load=load) == b'{"n":1}'
    assert cache.page(user_id=user, query={}, load=load) == b'{"n":1}'  # kept
    cache._own.reader[1].close()  # the thread's connection breaks
    assert cache.page(user_id=user, query={}, load=load) == b'{"n":2}'  # uncached, no error
    # reconnected: the page kept at this generation is still the right one
    assert cache.page(user_id=user, query={}, load=load) == b'{"n":1}'
    assert len(loads) == 2
    cache.close()


def test_pages_are_bounded_by_size(committing_engine):
    cache = DatabaseListCache(committing_engine, max_bytes=40)
    users = [uuid.uuid4() for _ in range(3)]
    loads: list[uuid.UUID] = []

    def load_for(user: uuid.UUID) -> Any:
        return lambda: loads.append(user) or {"page": "x" * 5}

    for user in users:  # 16 bytes each: the first is dropped for the third
        cache.page(user_id=user, query={}, load=load_for(user))
    for user in reversed(users):
        cache.page(user_id=user, query={}, load=load_for(user))
    assert loads == [*users, users[0]]
    cache.close()
