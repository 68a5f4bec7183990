"""Teams over the API: creating, listing, renaming, deleting, invitations, members and roles.

Each rule of :mod:`launchpad_web.teams.policy` is checked through HTTP, and the
database is read afterwards to see that a refused request changed nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from launchpad_core import hookimpl
from launchpad_core.testing import launchpad_with
from launchpad_web.accounts.models import User
from launchpad_web.billing.models import Plan
from launchpad_web.teams.models import Team, TeamInvitation, TeamMembership, TeamRole
from launchpad_worker.compose import service_app

from .conftest import PASSWORD, Person, join_team, people


# -- helpers (the access matrix uses them too) ----------------------------------------
@pytest.fixture
def person(new_client, signup, db) -> Callable[..., Person]:
    return people(new_client, signup, db)


def create_team(owner: Person, name: str = "Rocket") -> dict[str, Any]:
    result = owner.post("/api/teams", {"name": name})
    assert result.status_code == 201, result.text
    return result.json


def add_member(team: dict[str, Any], by: Person, who: Person, role: str = "member") -> None:
    join_team(by, team["id"], who, role)


def roles(db: Any, team_id: str) -> dict[str, str]:
    with db.session() as session:
        rows = session.execute(sa.select(TeamMembership.user_id, TeamMembership.role).where(
            TeamMembership.team_id == uuid.UUID(team_id)))
        return {str(user_id): str(role) for user_id, role in rows}


def team_row(db: Any, team_id: str) -> Team | None:
    with db.session() as session:
        return session.get(Team, uuid.UUID(team_id))


def problem(result: Any, status: int, code: str) -> dict[str, Any]:
    assert result.status_code == status, result.text
    assert result.json["code"] == code, result.json
    return result.json


@attrs.frozen
class World:
    """A team with an owner, an admin and two members (all on the team's page)."""

    team: dict[str, Any]
    owner: Person
    admin: Person
    member: Person
    other_member: Person

    @property
    def path(self) -> str:
        return f"/api/teams/{self.team['id']}"

    def member_path(self, who: Person) -> str:
        return f"{self.path}/members/{who.id}"


@pytest.fixture
def world(person) -> World:
    owner = person(plan=Plan.TEAM)
    team = create_team(owner)
    admin, member, other = person(), person(), person()
    add_member(team, owner, admin, "admin")
    add_member(team, owner, member)
    add_member(team, owner, other)
    return World(team, owner, admin, member, other)


# -- creating and listing ------------------------------------------------------------
def test_the_creator_becomes_owner_and_sees_the_team(person, db):
    owner = person(plan=Plan.TEAM)
    team = create_team(owner, "  Rocket  ")
    assert team["name"] == "Rocket"
    assert team["role"] == "owner" and team["owner_id"] == owner.id
    assert roles(db, team["id"]) == {owner.id: "owner"}
    listed = owner.get("/api/teams").json["teams"]
    assert [(t["id"], t["role"]) for t in listed] == [(team["id"], "owner")]


def test_a_list_shows_only_my_teams_with_my_role(world, person):
    stranger = person(plan=Plan.TEAM)
    create_team(stranger, "Elsewhere")
    assert [t["role"] for t in world.admin.get("/api/teams").json["teams"]] == ["admin"]
    assert [t["role"] for t in world.member.get("/api/teams").json["teams"]] == ["member"]
    assert [t["name"] for t in stranger.get("/api/teams").json["teams"]] == ["Elsewhere"]
    assert person().get("/api/teams").json == {"teams": []}


def test_teams_need_a_signed_in_user(client):
    problem(client.get("/api/teams"), 401, "unauthenticated")
    problem(client.post("/api/teams", json={"name": "x"}), 401, "unauthenticated")


def test_creating_a_team_asks_the_quota_first(person, db):
    free = person()
    problem(free.post("/api/teams", {"name": "Rocket"}), 402, "plan_required")
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Team)) == 0


@pytest.mark.parametrize("field, value", [
    ("owner_id", "00000000-0000-0000-0000-000000000001"),
    ("plan", "team"),
    ("role", "owner"),
    ("id", "00000000-0000-0000-0000-000000000001"),
])
def test_creating_refuses_forbidden_fields(person, db, field, value):
    owner = person(plan=Plan.TEAM)
    doc = problem(owner.post("/api/teams", {"name": "Rocket", field: value}), 422,
                  "invalid_request")
    assert [(e["code"], e["field"]) for e in doc["errors"]] == [("unknown_field", f"$.{field}")]
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Team)) == 0


@pytest.mark.parametrize("body, code, field", [
    ({"name": "   "}, "blank", "$.name"),
    ({"name": "x" * 101}, "too_long", "$.name"),
    ({"name": 7}, "invalid_type", "$.name"),
    ({}, "missing_field", "$.name"),
])
def test_a_team_name_is_checked(person, body, code, field):
    owner = person(plan=Plan.TEAM)
    doc = problem(owner.post("/api/teams", body), 422, "invalid_request")
    assert (doc["errors"][0]["code"], doc["errors"][0]["field"]) == (code, field)


# -- reading, renaming, deleting ----------------------------------------------------
def test_members_see_the_team_and_its_members(world):
    doc = world.member.get(world.path).json
    assert doc["role"] == "member" and doc["name"] == "Rocket"
    members = {m["user_id"]: (m["email"], m["role"]) for m in doc["members"]}
    assert members == {
        world.owner.id: (world.owner.email, "owner"),
        world.admin.id: (world.admin.email, "admin"),
        world.member.id: (world.member.email, "member"),
        world.other_member.id: (world.other_member.email, "member"),
    }


def test_non_members_get_404_for_a_team(world, person):
    stranger = person(plan=Plan.TEAM)
    doc = problem(stranger.get(world.path), 404, "not_found")
    unknown = problem(stranger.get(f"/api/teams/{uuid.uuid4()}"), 404, "not_found")
    assert doc == unknown
    problem(stranger.get("/api/teams/not-a-uuid"), 404, "not_found")


@pytest.mark.parametrize("who", ["owner", "admin"])
def test_owners_and_admins_rename(world, db, who):
    result = getattr(world, who).patch(world.path, {"name": "Moonshot"})
    assert result.status_code == 200 and result.json["name"] == "Moonshot"
    assert result.json["role"] == who
    assert team_row(db, world.team["id"]).name == "Moonshot"


def test_members_cannot_rename(world, db):
    problem(world.member.patch(world.path, {"name": "Mine now"}), 403, "forbidden")
    assert team_row(db, world.team["id"]).name == "Rocket"


def test_renaming_refuses_other_fields(world, db):
    doc = problem(world.owner.patch(world.path, {"name": "X", "owner_id": world.member.id}),
                  422, "invalid_request")
    assert doc["field"] == "$.owner_id"
    assert team_row(db, world.team["id"]).owner_id == uuid.UUID(world.owner.id)


@pytest.mark.parametrize("who", ["admin", "member"])
def test_only_owners_delete_a_team(world, db, who):
    problem(getattr(world, who).delete(world.path), 403, "forbidden")
    assert team_row(db, world.team["id"]) is not None
    assert len(roles(db, world.team["id"])) == 4


def test_an_owner_deletes_the_team_with_its_memberships_and_invitations(world, db):
    world.owner.post(f"{world.path}/invite", {"email": "later@example.org"})
    assert world.owner.delete(world.path).status_code == 204
    assert team_row(db, world.team["id"]) is None
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(TeamMembership)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(TeamInvitation)) == 0
        assert session.get(User, uuid.UUID(world.member.id)).role == "free"
    problem(world.owner.get(world.path), 404, "not_found")
    assert world.member.get("/api/teams").json == {"teams": []}


# -- invitations ---------------------------------------------------------------------
def invite(world: World, email: str, role: str = "member", by: str = "owner") -> dict[str, Any]:
    result = getattr(world, by).post(f"{world.path}/invite", {"email": email, "role": role})
    assert result.status_code == 201, result.text
    return result.json


def pending_invitations(session: Any) -> int:
    """Invitations not accepted (the team's members' accepted ones stay, answered)."""
    return session.scalar(sa.select(sa.func.count()).select_from(TeamInvitation).where(
        TeamInvitation.accepted_at.is_(None)))


def link(outbox: Any, email: str, action: str = "") -> str:
    return f"/api/invitations/{outbox.invitation_token(email)}{action}"


def test_the_answer_is_the_same_whether_or_not_the_email_has_an_account(world, person, db,
                                                                        outbox):
    ann = person()
    known, unknown = invite(world, ann.email), invite(world, "nobody@example.org")
    assert known.keys() == unknown.keys() == {
        "id", "email", "role", "invited_by", "created_at", "expires_at"}
    assert {k: v for k, v in known.items() if k not in ("id", "email")} == {
        k: v for k, v in unknown.items() if k not in ("id", "email")}
    assert ann.id not in roles(db, world.team["id"]), "nobody joins without consent"
    assert ann.get("/api/teams").json == {"teams": []}
    assert [len(outbox.to(e)) for e in (ann.email, "nobody@example.org")] == [1, 1]


def test_the_link_is_mailed_and_only_its_hash_is_stored(world, db, outbox):
    made = invite(world, "New.Person@Example.org", by="admin")
    assert made["email"] == "new.person@example.org" and made["invited_by"] == world.admin.id
    [notice] = outbox.to("new.person@example.org")
    assert "Rocket" in notice.subject and world.admin.email in notice.message
    token = outbox.invitation_token("new.person@example.org")
    assert len(token) >= 43 and token not in str(made)
    with db.session() as session:
        stored = session.get(TeamInvitation, uuid.UUID(made["id"]))
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    listed = world.owner.get(f"{world.path}/invitations").json["invitations"]
    assert [i["id"] for i in listed] == [made["id"]]


def test_the_invited_person_reads_and_accepts(world, person, db, outbox):
    ann = person()
    invite(world, ann.email, "admin", by="owner")
    shown = ann.get(link(outbox, ann.email))
    assert shown.status_code == 200, shown.text
    assert shown.json == {**shown.json, "team_id": world.team["id"], "team_name": "Rocket",
                          "role": "admin", "email": ann.email,
                          "invited_by_email": world.owner.email}
    accepted = ann.post(link(outbox, ann.email, "/accept"), None)
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json["id"], accepted.json["role"]) == (world.team["id"], "admin")
    assert roles(db, world.team["id"])[ann.id] == "admin"
    assert ann.get("/api/me").json["role"] == "team_member"
    assert world.owner.get(f"{world.path}/invitations").json == {"invitations": []}
    problem(ann.post(link(outbox, ann.email, "/accept"), None), 404, "invitation_not_found")


@pytest.mark.parametrize("call", [("GET", ""), ("POST", "/accept"), ("POST", "/decline")])
def test_another_account_cannot_use_the_link(world, person, db, outbox, call):
    method, action = call
    ann, bob = person(), person()
    invite(world, ann.email)
    before = roles(db, world.team["id"])
    path = link(outbox, ann.email, action)
    doc = problem(bob.client.request(method, path), 403, "invitation_for_another_email")
    assert ann.email not in str(doc)
    problem(world.owner.client.request(method, path), 403, "invitation_for_another_email")
    assert roles(db, world.team["id"]) == before
    assert len(world.owner.get(f"{world.path}/invitations").json["invitations"]) == 1
    problem(bob.client.request(method, f"/api/invitations/{'x' * 43}{action}"), 404,
            "invitation_not_found")


def test_the_link_needs_a_signed_in_user(client, world, outbox):
    invite(world, "ann@example.org")
    problem(client.get(link(outbox, "ann@example.org")), 401, "unauthenticated")
    problem(client.post(link(outbox, "ann@example.org", "/accept")), 401, "unauthenticated")


def test_signing_up_with_an_invited_email_joins_nothing_until_accepted(world, person, db,
                                                                       outbox):
    invite(world, "later@example.org", "owner")
    later = person("later@example.org")
    assert later.id not in roles(db, world.team["id"])
    assert later.get("/api/teams").json == {"teams": []}
    assert later.post(link(outbox, later.email, "/accept"), None).status_code == 200
    assert roles(db, world.team["id"])[later.id] == "owner"


def test_the_invited_person_may_decline(world, person, db, outbox):
    ann = person()
    invite(world, ann.email)
    assert ann.post(link(outbox, ann.email, "/decline"), None).status_code == 204
    assert ann.id not in roles(db, world.team["id"])
    assert world.owner.get(f"{world.path}/invitations").json == {"invitations": []}
    problem(ann.post(link(outbox, ann.email, "/accept"), None), 404, "invitation_not_found")


def test_an_invitation_expires_after_seven_days(world, person, db, clock, outbox):
    late = person()
    made = invite(world, late.email)
    assert made["expires_at"].startswith("2030-01-08T12:00:00")
    clock.advance(days=7, seconds=1)
    for who in (world.owner, late):
        who.post("/api/auth/login", {"email": who.email, "password": PASSWORD})
    assert world.owner.get(f"{world.path}/invitations").json == {"invitations": []}
    problem(late.get(link(outbox, late.email)), 410, "invitation_expired")
    problem(late.post(link(outbox, late.email, "/accept"), None), 410, "invitation_expired")
    assert late.id not in roles(db, world.team["id"])


def test_inviting_again_replaces_the_invitation_and_its_link(world, person, db, clock, outbox):
    ann = person()
    first = invite(world, ann.email)
    old_link = link(outbox, ann.email, "/accept")
    clock.advance(hours=1)
    again = invite(world, ann.email, "admin")
    assert again["id"] != first["id"] and again["role"] == "admin"
    assert again["expires_at"].startswith("2030-01-08T13:00:00")
    with db.session() as session:
        assert pending_invitations(session) == 1
    problem(ann.post(old_link, None), 404, "invitation_not_found")
    assert ann.post(link(outbox, ann.email, "/accept"), None).json["role"] == "admin"


def test_inviting_a_member_again_is_a_conflict(world, db):
    doc = problem(world.owner.post(f"{world.path}/invite", {"email": world.member.email}),
                  409, "already_member")
    assert doc["field"] == "$.email"
    assert roles(db, world.team["id"])[world.member.id] == "member"


def test_invitations_to_several_teams_are_answered_one_by_one(person, outbox):
    one, two, both = person(plan=Plan.TEAM), person(plan=Plan.TEAM), person()
    teams = [create_team(one, "One"), create_team(two, "Two")]
    join_team(one, teams[0]["id"], both)
    join_team(two, teams[1]["id"], both, "admin")
    mine = {t["name"]: t["role"] for t in both.get("/api/teams").json["teams"]}
    assert mine == {"One": "member", "Two": "admin"}


@pytest.mark.parametrize("who, role", [
    ("member", "member"), ("admin", "admin"), ("admin", "owner"),
])
def test_who_may_invite_with_which_role(world, db, who, role):
    result = getattr(world, who).post(f"{world.path}/invite",
                                      {"email": "n@example.org", "role": role})
    problem(result, 403, "forbidden")
    with db.session() as session:
        assert pending_invitations(session) == 0


def test_an_admin_cannot_downgrade_an_owner_invitation_by_inviting_again(world):
    world.owner.post(f"{world.path}/invite", {"email": "o@example.org", "role": "owner"})
    problem(world.admin.post(f"{world.path}/invite", {"email": "o@example.org"}), 403,
            "forbidden")
    listed = world.owner.get(f"{world.path}/invitations").json["invitations"]
    assert [i["role"] for i in listed] == ["owner"]


@pytest.mark.parametrize("body, field", [
    ({"email": "not-an-email"}, "$.email"),
    ({"email": "a@example.org", "role": "boss"}, "$.role"),
    ({"email": "a@example.org", "team_id": str(uuid.uuid4())}, "$.team_id"),
    ({"role": "member"}, "$.email"),
])
def test_invitation_bodies_are_checked(world, body, field):
    doc = problem(world.owner.post(f"{world.path}/invite", body), 422, "invalid_request")
    assert [e["field"] for e in doc["errors"]] == [field]


def test_members_cannot_see_invitations(world):
    problem(world.member.get(f"{world.path}/invitations"), 403, "forbidden")


def test_owners_and_admins_revoke_invitations(world, db):
    made = world.owner.post(f"{world.path}/invite", {"email": "r@example.org"}).json
    path = f"{world.path}/invitations/{made['id']}"
    problem(world.member.delete(path), 403, "forbidden")
    assert world.admin.delete(path).status_code == 204
    problem(world.admin.delete(path), 404, "not_found")
    with db.session() as session:
        assert pending_invitations(session) == 0


def test_an_admin_cannot_revoke_an_admin_invitation(world, db):
    made = world.owner.post(f"{world.path}/invite", {"email": "a@example.org",
                                                     "role": "admin"}).json
    path = f"{world.path}/invitations/{made['id']}"
    problem(world.admin.delete(path), 403, "forbidden")
    assert world.owner.delete(path).status_code == 204


def test_an_accepted_invitation_cannot_be_revoked(world, person, outbox):
    made = invite(world, "acc@example.org")
    accepted = person("acc@example.org").post(link(outbox, "acc@example.org", "/accept"), None)
    assert accepted.status_code == 200
    problem(world.owner.delete(f"{world.path}/invitations/{made['id']}"), 404, "not_found")


def test_a_revoked_invitation_s_link_is_dead(world, person, outbox):
    ann = person()
    made = invite(world, ann.email)
    assert world.admin.delete(f"{world.path}/invitations/{made['id']}").status_code == 204
    problem(ann.post(link(outbox, ann.email, "/accept"), None), 404, "invitation_not_found")
    assert ann.id not in {m["user_id"] for m in world.owner.get(world.path).json["members"]}


# -- removing members ----------------------------------------------------------------
ALLOWED_REMOVALS = [("owner", "admin"), ("owner", "member"), ("admin", "member")]
REFUSED_REMOVALS = [("admin", "owner"), ("member", "admin"), ("member", "owner"),
                    ("member", "other_member")]


@pytest.mark.parametrize("actor, target", ALLOWED_REMOVALS)
def test_managers_remove_members_below_them(world, db, actor, target):
    victim = getattr(world, target)
    assert getattr(world, actor).delete(world.member_path(victim)).status_code == 204
    assert victim.id not in roles(db, world.team["id"])
    problem(victim.get(world.path), 404, "not_found")


@pytest.mark.parametrize("actor, target", REFUSED_REMOVALS)
def test_removals_beyond_ones_rights_are_forbidden(world, db, actor, target):
    before = roles(db, world.team["id"])
    problem(getattr(world, actor).delete(world.member_path(getattr(world, target))), 403,
            "forbidden")
    assert roles(db, world.team["id"]) == before


def test_an_admin_cannot_remove_another_admin(world, person, db):
    second = person()
    add_member(world.team, world.owner, second, "admin")
    problem(world.admin.delete(world.member_path(second)), 403, "forbidden")
    assert roles(db, world.team["id"])[second.id] == "admin"


@pytest.mark.parametrize("who", ["member", "admin"])
def test_anyone_may_leave(world, db, who):
    leaver = getattr(world, who)
    assert leaver.delete(world.member_path(leaver)).status_code == 204
    assert leaver.id not in roles(db, world.team["id"])
    assert leaver.get("/api/teams").json == {"teams": []}


def test_the_last_owner_cannot_leave(world, db):
    problem(world.owner.delete(world.member_path(world.owner)), 409, "last_owner")
    assert roles(db, world.team["id"])[world.owner.id] == "owner"


def test_when_the_primary_owner_leaves_another_owner_takes_over(world, db):
    world.owner.patch(world.member_path(world.admin), {"role": "owner"})
    assert world.owner.delete(world.member_path(world.owner)).status_code == 204
    assert team_row(db, world.team["id"]).owner_id == uuid.UUID(world.admin.id)
    assert world.admin.get(world.path).json["owner_id"] == world.admin.id


def test_removing_someone_not_in_the_team_is_404(world, person):
    outsider = person()
    problem(world.owner.delete(world.member_path(outsider)), 404, "not_found")
    problem(world.owner.delete(f"{world.path}/members/{uuid.uuid4()}"), 404, "not_found")


def test_a_removed_member_leaves_team_member_role(world):
    world.owner.delete(world.member_path(world.member))
    assert world.member.get("/api/me").json["role"] == "free"


# -- role changes --------------------------------------------------------------------
ALLOWED_CHANGES = [
    ("owner", "member", "admin"),
    ("owner", "member", "owner"),
    ("owner", "admin", "member"),
    ("owner", "admin", "owner"),
    ("admin", "member", "member"),
]
REFUSED_CHANGES = [
    ("admin", "member", "admin"),
    ("admin", "member", "owner"),
    ("admin", "owner", "member"),
    ("member", "other_member", "admin"),
    ("member", "admin", "member"),
    ("member", "member", "admin"),
    ("admin", "admin", "owner"),
]


@pytest.mark.parametrize("actor, target, role", ALLOWED_CHANGES)
def test_allowed_role_changes(world, db, actor, target, role):
    who = getattr(world, target)
    result = getattr(world, actor).patch(world.member_path(who), {"role": role})
    assert result.status_code == 200, result.text
    assert result.json == {**result.json, "user_id": who.id, "email": who.email, "role": role}
    assert roles(db, world.team["id"])[who.id] == role


@pytest.mark.parametrize("actor, target, role", REFUSED_CHANGES)
def test_refused_role_changes_change_nothing(world, db, actor, target, role):
    before = roles(db, world.team["id"])
    result = getattr(world, actor).patch(world.member_path(getattr(world, target)),
                                         {"role": role})
    assert problem(result, 403, "forbidden")["field"] == "$.role"
    assert roles(db, world.team["id"]) == before


def test_an_admin_cannot_demote_another_admin(world, person, db):
    second = person()
    add_member(world.team, world.owner, second, "admin")
    problem(world.admin.patch(world.member_path(second), {"role": "member"}), 403, "forbidden")
    assert roles(db, world.team["id"])[second.id] == "admin"


def test_one_may_step_down(world, db):
    assert world.admin.patch(world.member_path(world.admin),
                             {"role": "member"}).status_code == 200
    assert roles(db, world.team["id"])[world.admin.id] == "member"


def test_the_last_owner_cannot_step_down(world, db):
    problem(world.owner.patch(world.member_path(world.owner), {"role": "admin"}), 409,
            "last_owner")
    assert roles(db, world.team["id"])[world.owner.id] == "owner"


def test_an_owner_demoting_the_primary_owner_takes_over(world, db):
    world.owner.patch(world.member_path(world.admin), {"role": "owner"})
    result = world.admin.patch(world.member_path(world.owner), {"role": "member"})
    assert result.status_code == 200
    assert team_row(db, world.team["id"]).owner_id == uuid.UUID(world.admin.id)
    problem(world.admin.patch(world.member_path(world.admin), {"role": "member"}), 409,
            "last_owner")


@pytest.mark.parametrize("body, field, code", [
    ({"role": "emperor"}, "$.role", "invalid_value"),
    ({"role": "admin", "team_id": str(uuid.uuid4())}, "$.team_id", "unknown_field"),
    ({}, "$.role", "missing_field"),
])
def test_role_bodies_are_checked(world, db, body, field, code):
    doc = problem(world.owner.patch(world.member_path(world.member), body), 422,
                  "invalid_request")
    assert [(e["field"], e["code"]) for e in doc["errors"]] == [(field, code)]
    assert roles(db, world.team["id"])[world.member.id] == "member"


def test_a_role_change_for_a_non_member_is_404(world, person):
    problem(world.owner.patch(world.member_path(person()), {"role": "admin"}), 404,
            "not_found")


def test_team_roles_are_the_documented_three():
    assert [r.value for r in TeamRole] == ["member", "admin", "owner"]


class BrokenMail:
    """A ``launchpad_notify`` whose mail server is down."""

    @hookimpl
    def launchpad_notify(self, kind, recipient, subject, message, settings):
        raise OSError("the mail server is down")


def test_an_invitation_is_kept_when_its_email_cannot_be_sent(settings, db, new_client, signup,
                                                             caplog):
    app = service_app(settings, session_factory=db.session_factory,
                     launchpad=launchpad_with(BrokenMail()))
    owner = people(lambda: new_client(app), signup, db)(plan=Plan.TEAM)
    team = create_team(owner)
    result = owner.post(f"/api/teams/{team['id']}/invite", {"email": "x@example.org"})
    assert result.status_code == 201, result.text
    assert "notification failed" in caplog.text
    assert "the mail server is down" in caplog.text
    listed = owner.get(f"/api/teams/{team['id']}/invitations").json["invitations"]
    assert [i["email"] for i in listed] == ["x@example.org"]
