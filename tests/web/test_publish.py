"""Publishing a completed job to a repository, against the stand-in forge: real OAuth
sign-in, real repositories served by ``git http-backend``, real git clone of the result.
Jobs run inside the request (Huey's immediate mode) on the test transaction."""

from __future__ import annotations

import base64
import io
import logging
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import attrs
import pytest
import sqlalchemy as sa

from launchpad_core import Launchpad
from launchpad_web.forges.encryption import TokenCipher
from launchpad_web.forges.models import ForgeAccount
from launchpad_web.jobs.models import JobStatus
from launchpad_web.publishing.models import PublishJob
from launchpad_worker.context import WorkerContext
from launchpad_worker.sweeper import sweep

from .forge_standin import StandinForge, forge_settings, launchpad_with_forges, running
from .test_forges import KEY, LOCAL, allow_repositories, at_forge, email, person, sign_in_with
from .test_jobs import HELLO, add_template

FORGES = ("github", "gitlab")


@pytest.fixture(scope="module")
def launchpad() -> Launchpad:
    return launchpad_with_forges()


@pytest.fixture(scope="module")
def forge() -> Iterator[StandinForge]:
    standin = StandinForge()
    with running(standin):
        standin.register_clients(LOCAL)
        yield standin


@pytest.fixture(autouse=True)
def healthy(forge: StandinForge) -> Iterator[None]:
    yield
    forge.down, forge.fail_creates, forge.fail_pushes = False, 0, 0


@pytest.fixture
def app(make_app: Any, forge: StandinForge, settings: Any) -> Any:
    return make_app(forges=forge_settings(forge.url, KEY),
                    jobs=attrs.evolve(settings.jobs, immediate=True, cpu_seconds=2))


@attrs.frozen
class Publisher:
    client: Any
    login: str
    email: str
    job: dict[str, Any]


def signed_in(client: Any, forge: StandinForge, db: Any, name: str = "github", *,
              repositories: bool = True) -> Publisher:
    """A person signed in with the forge (and, unless told, who allowed LaunchPad to use
    their repositories), with a completed generation job."""
    address = email()
    login = person(forge, (address, True))
    assert sign_in_with(client, forge, name, login,
                        repositories=repositories).status_code == 303
    me = client.get("/api/me").json
    template_id = add_template(db, me["id"], HELLO)
    job = client.post("/api/generate", json={"template_id": template_id, "answers": {
        "project_name": "rocket", "token": "s3cr3t"}}).json
    assert job["status"] == "completed", job
    return Publisher(client, login, address, job)


def publish(who: Publisher, **body: Any) -> Any:
    return who.client.post(f"/api/generate/{who.job['id']}/publish",
                           json={"forge": "github", **body})


def token_of(forge: StandinForge, login: str) -> str:
    return forge.repository_token(login)


def clone(url: str, token: str, dest: Path) -> Path:
    header = "Authorization: Basic " + base64.b64encode(f"x:{token}".encode()).decode()
    subprocess.run(["git", "-c", f"http.extraHeader={header}", "clone", "-q", url, str(dest)],
                   check=True, capture_output=True)
    return dest


def archive_files(who: Publisher) -> dict[str, bytes]:
    zipped = who.client.get(f"/api/generate/{who.job['id']}/download")
    assert zipped.status_code == 200
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(folder).parts}


def git(folder: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.mark.parametrize("name", FORGES)
def test_publish_then_clone_gives_the_archives_files(client, forge, db, tmp_path, caplog,
                                                     *, name):
    who = signed_in(client, forge, db, name)
    caplog.clear()  # the stand-in's OAuth server logs the tokens it issues: not ours
    caplog.set_level(logging.DEBUG)
    result = publish(who, forge=name, name="rocket", private=True, description="made here")
    assert result.status_code == 202, result.text
    done = result.json
    assert result.headers["Location"] == f"/api/generate/{who.job['id']}/publish/{done['id']}"
    assert done["status"] == "completed", done
    assert done["repository"] == f"{who.login}/rocket"
    assert done["destination_url"] == f"{forge.url}/{who.login}/rocket"
    assert [s["step"] for s in done["log"]] == ["queued", "started", "creating", "created",
                                                "pushed", "completed"]
    assert forge.repositories[f"{who.login}/rocket"].private
    token = token_of(forge, who.login)
    copy = clone(f"{forge.url}/{who.login}/rocket.git", token, tmp_path / "copy")
    assert tree(copy) == archive_files(who)  # byte for byte, nothing more
    assert git(copy, "rev-list", "--count", "HEAD") == "1"
    assert git(copy, "log", "-1", "--format=%an <%ae>") == f"{who.login} <{who.email}>"
    assert git(copy, "rev-parse", "HEAD") == done["commit_sha"]
    assert "100755" in git(copy, "ls-files", "-s", "rocket/run.sh")
    again = client.get(f"/api/generate/{who.job['id']}/publish/{done['id']}").json
    assert again == done
    listed = client.get(f"/api/generate/{who.job['id']}/publish").json["publish_jobs"]
    assert [p["id"] for p in listed] == [done["id"]]
    assert token not in str(done) and token not in caplog.text  # never in a log
    # the project the generation recorded says where it went
    [project] = [p for p in client.get("/api/projects").json["projects"]
                 if p["job_id"] == who.job["id"]]
    assert project["destination"] == done["destination_url"]


def test_publishing_into_an_existing_empty_repository(client, forge, db, tmp_path):
    who = signed_in(client, forge, db)
    hub = launchpad_with_forges().hooks.forges(
        settings=forge_settings(forge.url, KEY).forges)["github"]
    token = token_of(forge, who.login)
    hub.create_repository(token, name="empty", private=False)
    creations = forge.requests.count(("POST", "/user/repos"))
    done = publish(who, repository=f"{who.login}/empty").json
    assert done["status"] == "completed", done
    assert forge.requests.count(("POST", "/user/repos")) == creations
    copy = clone(f"{forge.url}/{who.login}/empty.git", token, tmp_path / "copy")
    assert tree(copy) == archive_files(who)
    # the same job again: its commit is there already, nothing new is pushed
    twice = publish(who, repository=f"{who.login}/empty").json
    assert twice["status"] == "completed" and twice["commit_sha"] == done["commit_sha"]
    assert "already pushed" in twice["log"][-2]["message"]
    assert len(forge.commits(f"{who.login}/empty")) == 1


def test_a_repository_with_commits_is_refused(client, forge, db, tmp_path):
    who = signed_in(client, forge, db)
    first = publish(who, name="full").json
    assert first["status"] == "completed"
    other = client.post("/api/generate", json={"template_id": who.job["template_id"],
                                               "answers": {"project_name": "other"}}).json
    result = client.post(f"/api/generate/{other['id']}/publish",
                         json={"forge": "github", "repository": f"{who.login}/full"}).json
    assert result["status"] == "failed"
    assert "is not empty" in result["error"]
    assert len(forge.commits(f"{who.login}/full")) == 1


def test_a_name_taken_fails_clearly_and_the_archive_stays(client, forge, db):
    who = signed_in(client, forge, db)
    hub = launchpad_with_forges().hooks.forges(
        settings=forge_settings(forge.url, KEY).forges)["github"]
    hub.create_repository(token_of(forge, who.login), name="taken", private=True)
    done = publish(who, name="taken").json
    assert done["status"] == "failed" and done["attempts"] == 1
    assert "exists already" in done["error"] and "choose another name" in done["error"]
    assert forge.commits(f"{who.login}/taken") == []
    assert archive_files(who)
    events = [e for e in client.get("/api/events").json["events"] if e["kind"] == "job_failed"]
    assert [e["job_id"] for e in events] == [who.job["id"]]
    assert "could not be published" in events[0]["message"]


def test_a_revoked_token_fails_clearly_and_is_dropped(client, forge, db):
    who = signed_in(client, forge, db)
    forge.revoke(who.login)
    done = publish(who, name="late").json
    assert done["status"] == "failed"
    assert "no longer accepts LaunchPad's access" in done["error"]
    assert client.get("/api/me/forges").json[0]["token"] == "revoked"
    assert archive_files(who)
    refused = publish(who, name="later")  # known revoked: refused before a job is made
    assert refused.status_code == 409 and refused.json["code"] == "forge_token_revoked"


@pytest.mark.parametrize("switch", ["fail_pushes", "fail_creates"])
def test_a_forge_failing_mid_way_is_retried_without_a_second_commit(client, forge, db,
                                                                    tmp_path, *, switch):
    who = signed_in(client, forge, db)
    setattr(forge, switch, 1)  # the push (or creation) lands, but the forge answers 502
    done = publish(who, name="flaky").json
    assert done["status"] == "completed", done
    assert done["attempts"] == 2
    assert "retrying" in [s["step"] for s in done["log"]]
    assert len(forge.commits(f"{who.login}/flaky")) == 1
    assert [p for p in forge.repositories if p.startswith(f"{who.login}/")] == \
        [f"{who.login}/flaky"]
    copy = clone(f"{forge.url}/{who.login}/flaky.git", token_of(forge, who.login),
                 tmp_path / "copy")
    assert git(copy, "rev-parse", "HEAD") == done["commit_sha"]


def test_a_forge_that_stays_down_fails_after_every_attempt(client, forge, db, settings):
    who = signed_in(client, forge, db)
    forge.down = True
    done = publish(who, name="never").json
    assert done["status"] == "failed"
    assert done["attempts"] == settings.jobs.max_attempts
    assert "GitHub answered 503" in done["error"] and "publish again later" in done["error"]
    forge.down = False
    assert archive_files(who)


def test_bad_requests_are_refused_with_the_field(client, forge, db, new_client, signup):
    who = signed_in(client, forge, db)
    for body, field in (({"name": "a", "repository": "o/n"}, "$.name"), ({}, "$.name"),
                        ({"name": "bad name"}, "$.name"), ({"name": "x.git"}, "$.name"),
                        ({"repository": "no-owner"}, "$.repository"),
                        ({"name": "ok", "forge": "nowhere"}, "$.forge")):
        result = publish(who, **body)
        assert result.status_code in (404, 422), (body, result.text)
        assert result.json["errors"][0]["field"] == field if result.status_code == 422 \
            else result.json["field"] == field
    other = new_client()
    signup(other)
    assert other.post(f"/api/generate/{who.job['id']}/publish",
                      json={"forge": "github", "name": "x"}).status_code == 404
    assert other.get(f"/api/generate/{who.job['id']}/publish").status_code == 404
    unlinked = publish(who, forge="gitlab", name="x")
    assert unlinked.status_code == 404 and unlinked.json["code"] == "forge_not_linked"
    missing = client.get(f"/api/generate/{who.job['id']}/publish/{uuid.uuid4()}")
    assert missing.status_code == 404


# -- the job page -----------------------------------------------------------------------------
def test_the_job_page_publishes_with_its_form(client, forge, db):
    who = signed_in(client, forge, db)
    page = client.get(f"/jobs/{who.job['id']}").text
    assert "Publish to a repository" in page and 'action="/jobs/' in page
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"csrf_token": token, "forge": "github", "name": "bad name", "description": "d"}
    refused = client.post(f"/jobs/{who.job['id']}/publish", body=urlencode(form),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert refused.status_code == 422
    assert 'id="publish-name-error"' in refused.text and 'value="bad name"' in refused.text
    form["name"] = "from-page"
    sent = client.post(f"/jobs/{who.job['id']}/publish", body=urlencode(form),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/jobs/{who.job['id']}#publish"
    shown = client.get(f"/jobs/{who.job['id']}").text
    assert f'href="{forge.url}/{who.login}/from-page"' in shown
    assert not forge.repositories[f"{who.login}/from-page"].private  # the box was unticked
    missing = client.post(f"/jobs/{uuid.uuid4()}/publish", body=urlencode(form),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert missing.status_code == 404


def test_without_a_linked_forge_the_page_says_where_to_link(new_client, signup, db, app):
    other = new_client()
    me = signup(other)
    template_id = add_template(db, me["id"], HELLO)
    job = other.post("/api/generate", json={"template_id": template_id,
                                            "answers": {"project_name": "p"}}).json
    page = other.get(f"/jobs/{job['id']}").text
    assert "Publish to a repository" in page and 'href="/account"' in page
    assert 'action="/jobs/' not in page


def test_the_sweeper_retries_an_abandoned_publish_job_then_gives_up(client, forge, db, *,
                                                                    settings, launchpad, clock):
    who = signed_in(client, forge, db)
    ctx = WorkerContext.from_settings(settings, session_factory=db.session_factory,
                                      launchpad=launchpad, clock=clock)
    with db.session() as session:
        row = PublishJob(user_id=uuid.UUID(client.get("/api/me").json["id"]),
                         job_id=uuid.UUID(who.job["id"]), forge="github", name="abandoned",
                         status=JobStatus.PROCESSING, attempts=1, lease_owner="gone/1/x",
                         lease_expires_at=clock() - timedelta(seconds=1), log=[],
                         created_at=clock(), updated_at=clock())
        session.add(row)
        session.commit()
        publish_id = row.id
    generation, publishing = [], []
    report = sweep(ctx, generation.append, publishing.append)
    assert report.retried == (publish_id,) and publishing == [publish_id] and generation == []
    with db.session() as session:
        again = session.get(PublishJob, publish_id, populate_existing=True)
        assert again.status == JobStatus.PENDING and again.log[-1]["step"] == "retrying"
        again.status, again.attempts = JobStatus.PROCESSING, settings.jobs.max_attempts
        again.lease_expires_at = clock() - timedelta(seconds=1)
        session.commit()
    assert sweep(ctx, generation.append, publishing.append).failed == (publish_id,)
    shown = client.get(f"/api/generate/{who.job['id']}/publish/{publish_id}").json
    assert shown["status"] == "failed" and "interrupted" in shown["error"]


@pytest.mark.parametrize("name", FORGES)
def test_signing_in_asks_no_repository_access_and_publishing_asks_for_it_first(
        client, forge, db, name):
    who = signed_in(client, forge, db, name, repositories=False)
    (link,) = client.get("/api/me/forges").json
    assert (link["token"], link["repositories"]) == ("active", False)
    refused = publish(who, forge=name, name="rocket")
    assert (refused.status_code, refused.json["code"], refused.json["field"]) == (
        409, "forge_access_needed", "$.forge")
    assert f"{who.login}/rocket" not in forge.repositories
    page = client.get(f"/jobs/{who.job['id']}").text
    assert f"Allow {link['label']} repositories" in page and 'id="publish-name"' not in page
    url = allow_repositories(client, name, back=f"/jobs/{who.job['id']}#publish")
    asked = parse_qs(urlsplit(url).query)["scope"][0].split()
    assert {"repo"} <= set(asked) if name == "github" else {"read_user", "api"} <= set(asked)
    back = client.get(at_forge(url))
    assert back.headers["location"] == f"/jobs/{who.job['id']}#publish"
    assert client.get("/api/me/forges").json[0]["repositories"] is True
    assert 'id="publish-name"' in client.get(f"/jobs/{who.job['id']}").text
    done = publish(who, forge=name, name="rocket")
    assert done.status_code == 202 and done.json["status"] == "completed", done.text


def test_signing_in_again_keeps_the_token_that_may_use_repositories(client, forge, db,
                                                                     new_client):
    who = signed_in(client, forge, db, "github")
    cipher = TokenCipher((KEY,))
    with db.session() as session:
        row = session.scalars(sa.select(ForgeAccount).where(ForgeAccount.login == who.login)).one()
        strong = cipher.decrypt(row.access_token)
        assert set(row.scopes.split()) >= {"repo", "read:user"}  # as GitHub said, comma-separated
    again = new_client()
    assert sign_in_with(again, forge, "github", who.login).status_code == 303  # asks for less
    with db.session() as session:
        row = session.scalars(sa.select(ForgeAccount).where(ForgeAccount.login == who.login)).one()
        assert cipher.decrypt(row.access_token) == strong
    assert again.get("/api/me/forges").json[0]["repositories"] is True
    forge.revoke(who.login)  # the strong one stops working: the next sign-in's is kept
    assert sign_in_with(again, forge, "github", who.login).status_code == 303
    (link,) = again.get("/api/me/forges").json
    assert (link["token"], link["repositories"]) == ("active", False)
    assert "Allow GitHub repositories" in again.get("/account").text
