"""Updating a project through the HTTP API: the update job's patch ``git apply``s onto the
project's files and leaves what the core's merge (``launchpad update``'s) leaves; the
checks of the request; owners only; the plan's bound on "update all". Jobs run inside
the request (Huey's immediate mode) on the test transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import uuid
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa
import yaml
from core.update_fixtures import GIT_ENV, committed, git

from launchpad_core import default_launchpad
from launchpad_core.cli import main as cli
from launchpad_core.model.serialization import structure_template
from launchpad_core.sources.loading import write_directory
from launchpad_core.update.merging import files_by_path, plan_update
from launchpad_core.update.project_writes import apply_plan
from launchpad_web.billing.models import Plan
from launchpad_web.jobs.models import GenerationJob
from launchpad_web.projects.models import ProjectCheck
from launchpad_web.updates.models import UpdateJob
from launchpad_worker.context import WorkerContext
from launchpad_worker.sweeper import sweep
from launchpad_worker.update import UpdateRunner

from .conftest import Person, people
from .test_jobs import add_template
from .test_pages import post_form, token_of

V1 = {
    "name": "service",
    "variables": [
        {"name": "project_name", "type": "str"},
        {"name": "token", "type": "str", "secret": True, "default": ""},
    ],
    "files": [
        {"path": "README.md", "content": "# {{ project_name }}\n\nline a\nline b\nline c\n"},
        {"path": "app.py", "content": "print('{{ project_name }}')\n"},
        {"path": "old.txt", "content": "to be removed\n"},
        {"path": "run.sh", "content": "echo {{ token }}\n", "mode": 0o755},
    ],
}
V2 = {
    **V1,
    "variables": [*V1["variables"], {"name": "license", "type": "str", "default": "MIT"}],
    "files": [
        {"path": "README.md", "content": "# {{ project_name }}\n\nline a\nline B\nline c\n"},
        {"path": "app.py", "content": "print('{{ project_name }}')\n"},
        {"path": "run.sh", "content": "echo {{ token }}\n", "mode": 0o755},
        {"path": "LICENSE", "content": "{{ license }}\n"},
    ],
}
#: Changes the line that uses the secret.
V3 = {**V2, "files": [*V2["files"][:2], {"path": "run.sh", "content": "exec {{ token }}\n",
                                          "mode": 0o755}, V2["files"][3]]}
ANSWERS = {"project_name": "rocket", "token": "s3cr3t"}


@pytest.fixture
def jobs_app(make_app, settings):
    return make_app(jobs=attrs.evolve(settings.jobs, immediate=True, cpu_seconds=5))


@pytest.fixture
def person(jobs_app, new_client, signup, db):
    return people(lambda: new_client(jobs_app), signup, db)


def made(who: Person, db: Any, *versions: dict[str, Any], answers: dict[str, Any] = ANSWERS,
         template_id: str | None = None) -> tuple[str, dict[str, Any]]:
    """A template of ``versions`` (unless given) and a project made from its first."""
    template_id = template_id or add_template(db, who.id, versions[-1], versions=versions[:-1])
    job = who.post("/api/generate", {"template_id": template_id, "version": 1,
                                     "answers": answers})
    assert job.json["status"] == "completed", job.json
    project = next(p for p in who.get("/api/projects?limit=100").json["projects"]
                   if p["job_id"] == job.json["id"])
    return template_id, project


def update(who: Person, project: dict[str, Any], **body: Any) -> Any:
    return who.post(f"/api/projects/{project['id']}/update", body)


def generated(who: Person, project: dict[str, Any], dest: Path) -> Path:
    """The project's files as its generation made them (its tar.gz)."""
    answer = who.get(f"/api/generate/{project['job_id']}/download?format=tar.gz")
    assert answer.status_code == 200
    dest.mkdir()
    with tarfile.open(fileobj=io.BytesIO(answer.content), mode="r:gz") as tar:
        tar.extractall(dest, filter="data")
    return dest


def tree(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mode & 0o111)
            for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts}


def merged_locally(folder: Path, old: dict[str, Any], new: dict[str, Any],
                   answers: dict[str, Any]) -> None:
    """What the core's merge (``launchpad update``'s) does to ``folder``, in process."""
    lp = default_launchpad()
    rendered = []
    for definition in (old, new):
        template = structure_template(definition)
        known = {v.name for v in template.variables}
        resolved = lp.resolve_answers(template, {k: v for k, v in answers.items() if k in known})
        rendered.append(files_by_path(lp.render(template, resolved)))
    apply_plan(folder, plan_update(folder, *rendered, answers_path=".launchpad-answers.yml"))


def test_the_patch_applies_and_equals_the_local_update(person, db, tmp_path):
    who = person()
    _template, project = made(who, db, V1, V2)
    result = update(who, project)
    assert result.status_code == 202, result.text
    job = result.json
    assert job["status"] == "completed", job
    assert (job["from_version"], job["target_version"]) == (1, 2)
    assert job["conflicts"] == [] and job["changed_files"] == 3  # README, LICENSE, old.txt
    assert job["change_url"] is None
    patch = who.get(job["patch"])
    assert patch.status_code == 200
    assert patch.headers["content-type"].startswith("text/x-diff")
    assert b"s3cr3t" not in patch.content and b"__launchpad" not in patch.content
    applied = generated(who, project, tmp_path / "applied")
    (tmp_path / "update.patch").write_bytes(patch.content)
    subprocess.run(["git", "apply", "--check", str(tmp_path / "update.patch")],
                   cwd=applied, check=True)
    subprocess.run(["git", "apply", str(tmp_path / "update.patch")], cwd=applied, check=True)
    local = shutil.copytree(generated(who, project, tmp_path / "generated"), tmp_path / "local")
    merged_locally(local, V1, V2, ANSWERS)
    assert tree(applied) == tree(local)
    assert tree(applied)["LICENSE"][0] == b"MIT\n" and "old.txt" not in tree(applied)
    assert tree(applied)["run.sh"] == (b"echo s3cr3t\n", 0o111)  # the secret, unchanged
    conflicts = who.get(job["conflicts_download"]).json
    assert conflicts["conflicts"] == [] and "LICENSE" in conflicts["changed"]
    with db.session() as session:
        checked = session.scalars(sa.select(ProjectCheck.would_conflict).where(
            ProjectCheck.project_id == uuid.UUID(project["id"]))).all()
    assert checked == [False]
    listed = who.get(f"/api/projects/{project['id']}/updates").json["update_jobs"]
    assert [j["id"] for j in listed] == [job["id"]]


def test_the_patch_equals_launchpad_update_on_the_command_line(person, db, tmp_path,
                                                               monkeypatch):
    """The same two versions as a template repository tagged v1 and v2, the project as
    generated with the answers file ``launchpad update`` reads: the CLI's update and the
    hosted patch leave the same tree (the answers file aside, which only the CLI keeps)."""
    for key, value in {"LAUNCHPAD_PLUGINS": "", "LAUNCHPAD_CACHE_DIR": str(tmp_path / "c"),
                       **GIT_ENV}.items():
        monkeypatch.setenv(key, value)
    who = person()
    _template, project = made(who, db, V1, V2)
    patch = who.get(update(who, project).json["patch"]).content
    repo = tmp_path / "template"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for number, definition in enumerate((V1, V2), start=1):
        for entry in repo.iterdir():
            if entry.name != ".git":
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        write_directory(structure_template(definition), repo)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", f"version {number}")
        git(repo, "tag", f"v{number}")
    local = generated(who, project, tmp_path / "local")
    answers = {"_template": "service", "_src_path": str(repo), "_commit": "v1",
               "project_name": "rocket"}
    (local / ".launchpad-answers.yml").write_text(yaml.safe_dump(answers))
    committed(local)
    assert cli.main(["update", str(local), "--to", "v2", "-d", "token=s3cr3t", "--defaults",
                     "-q"]) == 0
    applied = generated(who, project, tmp_path / "applied")
    (tmp_path / "update.patch").write_bytes(patch)
    subprocess.run(["git", "apply", str(tmp_path / "update.patch")], cwd=applied, check=True)
    by_cli = {k: v for k, v in tree(local).items() if k != ".launchpad-answers.yml"}
    assert tree(applied) == by_cli
    assert "LICENSE" in by_cli and "old.txt" not in by_cli


def test_new_answers_are_used_and_checked(person, db, tmp_path):
    who = person()
    _template, project = made(who, db, V1, V2)
    unknown = update(who, project, answers={"nope": 1})
    assert unknown.status_code == 422
    assert unknown.json["errors"][0]["field"] == "$.answers.nope"
    assert unknown.json["errors"][0]["code"] == "unknown_question"
    wrong = update(who, project, answers={"license": 3})
    assert wrong.status_code == 422 and wrong.json["errors"][0]["field"] == "$.answers.license"
    for version in (1, 3, 0):
        refused = update(who, project, version=version)
        assert refused.status_code == 422, version
        assert refused.json["errors"][0] == {**refused.json["errors"][0],
                                             "code": "invalid_version", "field": "$.version"}
    job = update(who, project, answers={"license": "Apache-2.0"}).json
    assert job["status"] == "completed" and job["answers"] == {"license": "Apache-2.0"}
    assert b"+Apache-2.0" in who.get(job["patch"]).content


def test_a_secret_not_given_again_is_asked_for_only_when_its_lines_change(person, db):
    who = person()
    _template, project = made(who, db, V1, V2, V3)
    failed = update(who, project, version=3).json
    assert failed["status"] == "failed"
    assert "secret" in failed["error"] and "token" in failed["error"]
    given = update(who, project, version=3, answers={"token": "s3cr3t"}).json
    assert given["status"] == "completed", given
    assert given["answers"] == {"token": "***"}  # stored redacted
    assert b"+exec s3cr3t" in who.get(given["patch"]).content


def test_another_user_gets_404_and_a_team_member_403(person, db):
    who, other = person(), person()
    _template, project = made(who, db, V1, V2)
    job = update(who, project).json
    assert update(other, project).status_code == 404
    base = f"/api/projects/{project['id']}"
    for path in (f"{base}/updates", f"{base}/updates/{job['id']}", job["patch"],
                 job["conflicts_download"]):
        assert other.get(path).status_code == 404, path
    assert who.get(f"{base}/updates/{uuid.uuid4()}").json["code"] == "update_job_not_found"


def test_update_all_is_bounded_by_the_plan(person, db):
    who = person()  # Free: 2 jobs in flight
    template_id, _project = made(who, db, V1, V2)
    for _ in range(2):
        made(who, db, template_id=template_id)
    refused = who.post(f"/api/templates/{template_id}/fleet/update", {})
    assert refused.status_code == 402, refused.text
    assert refused.json["code"] == "quota_exceeded" and "3 updates" in refused.json["detail"]
    pro = person(plan=Plan.PRO)
    pro_template, _ = made(pro, db, V1, V2)
    made(pro, db, template_id=pro_template)
    queued = pro.post(f"/api/templates/{pro_template}/fleet/update", {})
    assert queued.status_code == 202, queued.text
    jobs = queued.json["update_jobs"]
    assert len({j["project_id"] for j in jobs}) == 2
    for job in jobs:
        ran = pro.get(f"/api/projects/{job['project_id']}/updates/{job['id']}").json
        assert ran["status"] == "completed", ran
    assert who.post(f"/api/templates/{pro_template}/fleet/update", {}).status_code == 404


def test_the_fleet_learns_would_conflict_from_the_background_check(person, db, settings,
                                                                    launchpad, clock):
    who = person()
    template_id, project = made(who, db, V1, V2)
    fleet = f"/api/templates/{template_id}/fleet"
    assert who.get(fleet).json["projects"][0]["would_conflict"] is None  # unknown yet
    ctx = WorkerContext.from_settings(settings, session_factory=db.session_factory,
                                      launchpad=launchpad, clock=clock)
    queued: list[tuple[uuid.UUID, int]] = []
    report = sweep(ctx, lambda _id: None, enqueue_check=lambda p, v: queued.append((p, v)))
    assert queued == [(uuid.UUID(project["id"]), 2)] and report.checks == (queued[0][0],)
    assert sweep(ctx, lambda _id: None, enqueue_check=lambda p, v: queued.append((p, v))) \
        .checks == ()  # noted: never queued twice
    assert who.get(fleet).json["projects"][0]["would_conflict"] is None  # being computed
    clock.advance(seconds=2 * settings.jobs.lease.total_seconds() + 1)  # its worker stopped
    again = sweep(ctx, lambda _id: None, enqueue_check=lambda p, v: queued.append((p, v)))
    assert again.checks == (queued[0][0],) and len(queued) == 2  # queued once more
    UpdateRunner(ctx, lambda *_: None).check(project["id"], 2)
    assert who.get(fleet).json["projects"][0]["would_conflict"] is False
    assert sweep(ctx, lambda _id: None).pruned_checks == ()  # read by the fleet: kept


def test_answers_the_fleet_no_longer_reads_are_deleted_by_the_sweep(person, db, settings,
                                                                     launchpad, clock):
    who = person()
    template_id, project = made(who, db, V1, V2)
    ctx = WorkerContext.from_settings(settings, session_factory=db.session_factory,
                                      launchpad=launchpad, clock=clock)
    UpdateRunner(ctx, lambda *_: None).check(project["id"], 2)
    with db.session() as session:
        checked = session.scalar(sa.select(ProjectCheck.id).where(
            ProjectCheck.project_id == uuid.UUID(project["id"])))
    saved = who.put(f"/api/templates/{template_id}", {"name": V3["name"], "definition": V3,
                                                       "version": 2})
    assert saved.status_code == 200 and saved.json["version"] == 3, saved.text
    assert sweep(ctx, lambda _id: None).pruned_checks == (checked,)
    assert who.get(f"/api/templates/{template_id}/fleet").json["projects"][0][
        "would_conflict"] is None  # version 3's: unknown yet


def test_an_updates_files_go_after_retention_and_storage_checks_their_set(
        person, db, settings, launchpad, clock):
    who = person()
    _template, project = made(who, db, V1, V2)
    job = update(who, project).json
    ctx = WorkerContext.from_settings(settings, session_factory=db.session_factory,
                                      launchpad=launchpad, clock=clock)
    assert sweep(ctx, lambda _id: None).deleted_artifacts == ()  # named by its job: kept
    clock.advance(seconds=settings.jobs.retention.total_seconds() + 1)
    assert len(sweep(ctx, lambda _id: None).deleted_artifacts) >= 2  # the archive, the patch
    with db.session() as session:  # (the session cookie has expired too)
        row = session.get(UpdateJob, uuid.UUID(job["id"]), populate_existing=True)
        assert row.artifact_key is None and row.status.value == "completed"
    with ctx.storage.staging() as staging:
        (staging / "p").write_text("")
        with pytest.raises(ValueError, match="every format of"):
            ctx.storage.save(f"{uuid.uuid4()}/x", {"patch": staging / "p"})


def test_the_pages_forms_need_their_token_and_show_problems(person, db):
    who = person()
    template_id, project = made(who, db, V1, V2)
    for _ in range(2):
        made(who, db, template_id=template_id)
    page = f"/projects/{project['id']}"
    assert post_form(who.client, page, {"version": "2"}).status_code == 403
    token = token_of(who.get(page).text)
    wrong = post_form(who.client, page, {"version": "1"}, token=token)
    assert wrong.status_code == 422 and 'id="update-version-error"' in wrong.text
    assert 'aria-invalid="true"' in wrong.text
    asked = post_form(who.client, page, {"version": "2"}, token=token)
    assert asked.status_code == 200 and "Version 2 asks the questions below" in asked.text
    assert 'name="answers.license" type="text" value="MIT"' in asked.text  # new, its default
    assert 'name="answers.token" type="password" value=""' in asked.text  # a secret: not kept
    assert 'name="answers.project_name"' not in asked.text  # answered already
    second = {"version": "2", "step": "answers", "answers.license": "", "answers.token": ""}
    bad = post_form(who.client, page, {**second, "version": "2" * 5000}, token=token)
    assert bad.status_code == 422 and 'id="update-version-error"' in bad.text
    done = post_form(who.client, page, {**second, "answers.license": "Apache-2.0"}, token=token)
    assert done.status_code == 303
    assert done.headers["Location"] == f"{page}?done=queued#updates"
    shown = who.get(page).text
    assert f"/api/projects/{project['id']}/updates/" in shown and "s3cr3t" not in shown
    job = who.get(f"/api/projects/{project['id']}/updates").json["update_jobs"][0]
    assert job["answers"] == {"license": "Apache-2.0"}, job  # the empty secret: unchanged
    assert job["status"] == "completed" and b"+Apache-2.0" in who.get(job["patch"]).content
    fleet = f"/templates/{template_id}/projects"
    assert post_form(who.client, fleet, {}).status_code == 403
    refused = post_form(who.client, fleet, {}, token=token_of(who.get(fleet).text))
    assert refused.status_code == 402 and "update fewer projects" in refused.text


def test_the_pages_second_step_shows_a_bad_answer_at_its_field_and_keeps_what_was_typed(
        person, db):
    who = person()
    v2 = {**V2, "variables": [*V1["variables"],
                              {"name": "port", "type": "int", "default": 8000}]}
    _template, project = made(who, db, V1, v2)
    page = f"/projects/{project['id']}"
    token = token_of(who.get(page).text)
    typed = {"version": "2", "step": "answers", "answers.port": "eighty", "answers.token": ""}
    refused = post_form(who.client, page, typed, token=token)
    assert refused.status_code == 422, refused.text
    assert 'id="answer-' in refused.text and 'value="eighty"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert who.get(f"/api/projects/{project['id']}/updates").json["update_jobs"] == []


def test_a_version_asking_nothing_new_updates_at_once_from_the_page(person, db):
    who = person()
    plain = {**V1, "variables": V1["variables"][:1], "files": V1["files"][:2]}
    _template, project = made(who, db, plain, {**plain, "files": plain["files"][:1]},
                              answers={"project_name": "rocket"})
    page = f"/projects/{project['id']}"
    done = post_form(who.client, page, {"version": "2"}, token=token_of(who.get(page).text))
    assert done.status_code == 303, done.text


def test_a_project_whose_archive_has_expired_is_updated_from_its_version_rendered_again(
        person, db):
    who = person()
    _template, project = made(who, db, V1, V2)
    from_archive = who.get(update(who, project).json["patch"]).content
    with db.session() as session:  # what the retention sweep does to the generation's archive
        session.execute(sa.update(GenerationJob).where(
            GenerationJob.id == uuid.UUID(project["job_id"])).values(artifact_key=None))
        session.commit()
    job = update(who, project).json
    assert job["status"] == "completed", job
    assert "rebuilt" in [step["step"] for step in job["log"]]
    assert who.get(job["patch"]).content == from_archive  # nothing here depends on time or chance
    assert b"unchanged_secret" not in from_archive


def test_conflicts_json_is_valid_json(person, db):
    who = person()
    _template, project = made(who, db, V1, V2)
    job = update(who, project).json
    body = who.get(job["conflicts_download"])
    assert body.headers["content-type"] == "application/json"
    assert json.loads(body.content)["target_version"] == 2
