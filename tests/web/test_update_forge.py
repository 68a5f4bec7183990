"""Updating a project published to a forge repository, against the stand-in forge: the
update job clones the repository (the person's commits included), merges the update
into it, pushes a branch with real git and opens a pull request (GitHub) or merge
request (GitLab); a conflict with the person's edit is listed and committed with
Copier's markers; a retried job pushes no second commit and opens no second request."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import attrs
import pytest

from launchpad_core import Launchpad
from launchpad_worker.context import WorkerContext
from launchpad_worker.update import UpdateRunner

from .forge_standin import StandinForge, forge_settings
from .forge_standin import launchpad_with_forges as make_launchpad
from .test_forges import KEY, email, person, sign_in_with
from .test_jobs import add_template
from .test_publish import (  # noqa: F401 (app, forge, healthy: the fixtures)
    FORGES,
    app,
    clone,
    forge,
    git,
    healthy,
    token_of,
    tree,
)
from .test_updates import ANSWERS, V1, V2


@pytest.fixture(scope="module")
def launchpad() -> Launchpad:
    return make_launchpad()


def published(client: Any, forge: StandinForge, db: Any,  # noqa: F811
              name: str) -> dict[str, Any]:
    """A person signed in with ``name``, a project made from V1 and published there."""
    login = person(forge, (email(), True))
    assert sign_in_with(client, forge, name, login, repositories=True).status_code == 303
    me = client.get("/api/me").json
    template_id = add_template(db, me["id"], V2, versions=(V1,))
    job = client.post("/api/generate", json={"template_id": template_id, "version": 1,
                                             "answers": ANSWERS}).json
    assert job["status"] == "completed", job
    done = client.post(f"/api/generate/{job['id']}/publish",
                       json={"forge": name, "name": "rocket"}).json
    assert done["status"] == "completed", done
    [project] = [p for p in client.get("/api/projects").json["projects"]
                 if p["job_id"] == job["id"]]
    assert project["destination"] == done["destination_url"]
    return {"login": login, "project": project, "path": f"{login}/rocket"}


def edit_readme(forge: StandinForge, login: str, folder: Path,  # noqa: F811
                text: str) -> None:
    """The person commits an edit to README.md on the repository's main branch."""
    copy = clone(f"{forge.url}/{login}/rocket.git", token_of(forge, login), folder)
    (copy / "README.md").write_text(text)
    git(copy, "-c", "user.name=Dev", "-c", "user.email=dev@example.org", "commit", "-qam",
        "my edit")
    subprocess.run(["git", "-C", str(copy), "-c", basic(token_of(forge, login)), "push", "-q",
                    "origin", "main"], check=True, capture_output=True)


def basic(token: str) -> str:
    """git's ``-c`` setting that sends ``token`` as the stand-in's Basic password."""
    pair = base64.b64encode(f"x:{token}".encode()).decode()
    return f"http.extraHeader=Authorization: Basic {pair}"


@pytest.mark.parametrize("name", FORGES)
def test_an_update_opens_a_pull_request_with_the_merge(client, forge, db, tmp_path, *,  # noqa: F811
                                                       settings, launchpad, clock, name):
    who = published(client, forge, db, name)
    edit_readme(forge, who["login"], tmp_path / "mine",
                "# rocket\n\nline a\nline b edited by me\nline c\n")
    ctx = WorkerContext.from_settings(attrs.evolve(settings, forges=forge_settings(
        forge.url, KEY)), session_factory=db.session_factory, launchpad=launchpad, clock=clock)
    UpdateRunner(ctx, lambda *_: None).check(who["project"]["id"], 2)  # the fleet's check
    fleet = client.get(f"/api/templates/{who['project']['template_id']}/fleet").json
    assert fleet["projects"][0]["would_conflict"] is True  # the person's edit, on the forge
    job = client.post(f"/api/projects/{who['project']['id']}/update", json={}).json
    assert job["status"] == "completed", job
    assert job["conflicts"] == ["README.md"]
    assert job["branch"] == "launchpad/update-to-v2"
    assert [c["head"] for c in forge.change_requests[who["path"]]] == [job["branch"]]
    number = forge.change_requests[who["path"]][0]["number"]
    expected = (f"{forge.url}/{who['path']}/pull/{number}" if name == "github"
                else f"{forge.url}/{who['path']}/-/merge_requests/{number}")
    assert job["change_url"] == expected
    token = token_of(forge, who["login"])
    branch = tmp_path / "branch"
    subprocess.run(["git", "-c", basic(token), "clone", "-q", "-b", job["branch"],
                    f"{forge.url}/{who['path']}.git", str(branch)], check=True,
                   capture_output=True)
    files = tree(branch)
    assert files["LICENSE"] == b"MIT\n" and "old.txt" not in files
    assert b"<<<<<<< before updating" in files["README.md"]
    assert b"line b edited by me" in files["README.md"] and b"line B" in files["README.md"]
    assert git(branch, "rev-parse", "HEAD") == job["commit_sha"]
    assert git(branch, "rev-parse", "HEAD~1") == git(tmp_path / "mine", "rev-parse", "HEAD")
    assert git(branch, "log", "-1", "--format=%s") == "Update to version 2 of the template"
    patch = client.get(job["patch"])
    assert patch.status_code == 200 and b"+MIT" in patch.content


@pytest.mark.parametrize("switch", ["fail_pushes", "fail_change_requests"])
def test_a_retried_update_pushes_once_and_opens_one_request(client, forge, db, *,  # noqa: F811
                                                            switch):
    who = published(client, forge, db, "github")
    setattr(forge, switch, 1)  # the branch lands (or the request opens), the forge answers
    # 502: the job is retried
    job = client.post(f"/api/projects/{who['project']['id']}/update", json={}).json
    assert job["status"] == "completed", job
    assert job["attempts"] == 2 and "retrying" in [s["step"] for s in job["log"]]
    assert len(forge.change_requests[who["path"]]) == 1
    assert len(forge.commits(who["path"])) == 2  # the published one and the update
    again = client.post(f"/api/projects/{who['project']['id']}/update", json={}).json
    assert again["status"] == "completed" and again["commit_sha"] == job["commit_sha"]
    assert again["change_url"] == job["change_url"]
    assert len(forge.change_requests[who["path"]]) == 1
    assert len(forge.commits(who["path"])) == 2


def test_the_forge_plugins_answer_an_open_request_instead_of_a_second(client, forge, db):  # noqa: F811
    who = published(client, forge, db, "gitlab")
    client.post(f"/api/projects/{who['project']['id']}/update", json={})
    lab = make_launchpad().hooks.forges(settings=forge_settings(forge.url, KEY).forges)["gitlab"]
    token = token_of(forge, who["login"])
    repository = lab.repository(token, who["path"])
    first = lab.open_change_request(token, repository=repository,
                                    branch="launchpad/update-to-v2", base="main", title="t")
    assert first.number == 1 and len(forge.change_requests[who["path"]]) == 1
