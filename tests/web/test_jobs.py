"""Generation jobs through the HTTP API, with jobs run inside the request (Huey's
immediate mode) on the test transaction; real workers are in tests/jobs/."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import attrs
import pytest
import sqlalchemy as sa

from launchpad_web.db import make_session_factory
from launchpad_web.jobs import storage as jobs_storage
from launchpad_web.jobs.models import Event, GenerationJob, JobStatus
from launchpad_web.jobs.storage import STAGING, derive
from launchpad_web.teams.models import Team, TeamMembership
from launchpad_web.testing import insert_template
from launchpad_worker.compose import service_app

from .conftest import BrowserClient

T0 = datetime(2030, 1, 1, tzinfo=UTC)
HELLO = {
    "name": "hello world",
    "variables": [
        {"name": "project_name", "type": "str"},
        {"name": "port", "type": "int", "default": 8000},
        {"name": "token", "type": "str", "secret": True, "default": ""},
    ],
    "files": [
        {"path": "{{ project_name }}/README.md", "content": "# {{ project_name }} on {{ port }}"},
        {"path": "{{ project_name }}/run.sh", "content": "echo {{ token }}", "mode": 0o755},
    ],
}


def add_template(db, owner_id, definition=HELLO, *, team_id=None, versions=()):
    """A template row (latest = ``definition``) with older ``versions``, committed."""
    with db.session() as session:
        row = insert_template(session, owner_id=owner_id, definition=definition,
                              team_id=team_id, history=versions, at=T0)
        session.commit()
        return str(row.id)


@pytest.fixture
def jobs_app(make_app, settings):
    return make_app(jobs=attrs.evolve(settings.jobs, immediate=True, cpu_seconds=2,
                                      event_stream=timedelta(seconds=1)))


@pytest.fixture
def user(jobs_app, new_client, signup):
    client = new_client(jobs_app)
    return client, signup(client)


def generate(client, template_id, answers, **extra):
    return client.post("/api/generate", json={"template_id": template_id, "answers": answers,
                                              **extra})


def test_a_job_runs_to_completion_and_downloads_as_zip_and_tar_gz(db, user):
    client, me = user
    template_id = add_template(db, me["id"])
    result = generate(client, template_id, {"project_name": "rocket", "token": "s3cr3t"})
    assert result.status_code == 202, result.text
    job = result.json
    assert result.headers["Location"] == f"/api/generate/{job['id']}"
    assert job["status"] == "completed"
    assert job["attempts"] == 1
    assert job["template_version"] == 1
    assert [step["step"] for step in job["log"]] == ["queued", "started", "completed"]
    assert job["files"] == 2
    assert job["error"] is None
    assert job["started_at"] and job["finished_at"]

    assert job["artifact"]["formats"] == ["zip", "tar.gz"]

    zipped = client.get(f"/api/generate/{job['id']}/download")
    assert zipped.status_code == 200
    assert zipped.headers["Content-Type"] == "application/zip"
    assert zipped.headers["Content-Disposition"] == (
        f'attachment; filename="hello-world-{job["id"][:8]}.zip"')
    assert len(zipped.content) == job["artifact"]["size"]
    assert hashlib.sha256(zipped.content).hexdigest() == job["artifact"]["sha256"]
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        assert archive.read("rocket/README.md") == b"# rocket on 8000"
        assert archive.read("rocket/run.sh") == b"echo s3cr3t"

    tarred = client.get(f"/api/generate/{job['id']}/download", params={"format": "tar.gz"})
    assert tarred.status_code == 200
    assert tarred.headers["Content-Type"] == "application/gzip"
    assert tarred.headers["Content-Disposition"] == (
        f'attachment; filename="hello-world-{job["id"][:8]}.tar.gz"')
    with tarfile.open(fileobj=io.BytesIO(tarred.content), mode="r:gz") as archive:
        assert archive.extractfile("rocket/README.md").read() == b"# rocket on 8000"
        assert archive.getmember("rocket/run.sh").mode == 0o755

    events = client.get("/api/events").json["events"]
    assert [(e["kind"], e["job_id"]) for e in events] == [("job_completed", job["id"])]


def test_downloads_stream_the_stored_archives_and_make_the_tar_gz_once(db, user, settings):
    client, me = user
    job = generate(client, add_template(db, me["id"]), {"project_name": "rocket"}).json
    with db.session() as session:
        key = session.get(GenerationJob, uuid.UUID(job["id"])).artifact_key
    root = settings.jobs.artifact_dir
    assert sorted(p.name for p in (root / key).iterdir()) == ["artifact.zip"]  # the render's
    first = client.get(f"/api/generate/{job['id']}/download", params={"format": "tar.gz"})
    assert sorted(p.name for p in (root / key).iterdir()) == ["artifact.tar.gz", "artifact.zip"]
    for fmt in ("zip", "tar.gz"):
        stored = (root / key / f"artifact.{fmt}").read_bytes()
        download = client.get(f"/api/generate/{job['id']}/download", params={"format": fmt})
        assert download.content == stored  # streamed as stored, not made again
        assert download.headers["Content-Length"] == str(len(stored))
    assert first.content == stored
    assert list((root / STAGING).iterdir()) == []  # nothing left behind

    (root / key / "artifact.zip").unlink()  # say, removed by hand: nothing to make it of
    (root / key / "artifact.tar.gz").unlink()
    for fmt in ("zip", "tar.gz"):
        gone = client.get(f"/api/generate/{job['id']}/download", params={"format": fmt})
        assert (gone.status_code, gone.json["code"]) == (409, "artifact_not_ready")
    assert list((root / STAGING).iterdir()) == []


def test_making_a_tar_gz_holds_no_database_connection(committing_engine, settings, signup,
                                                     monkeypatch):
    """Converting a large project takes seconds: were the request's transaction open
    across it, SQLite's write lock would keep every other request waiting."""
    changed = attrs.evolve(settings, jobs=attrs.evolve(settings.jobs, immediate=True))
    client = BrowserClient(service_app(changed,
                                       session_factory=make_session_factory(committing_engine)))
    signup(client)
    made = client.post("/api/templates", json={"name": "hello", "definition": HELLO})
    job = generate(client, made.json["id"], {"project_name": "rocket"}).json
    held = []

    def watched(*args):
        held.append(committing_engine.pool.checkedout())
        return derive(*args)

    monkeypatch.setattr(jobs_storage, "derive", watched)  # what the download makes it with
    tarred = client.get(f"/api/generate/{job['id']}/download", params={"format": "tar.gz"})
    assert tarred.status_code == 200, tarred.text
    assert held == [0]


def test_a_job_stored_before_tar_gz_archives_were_kept_downloads_as_zip_only(db, user,
                                                                              settings):
    client, me = user
    template_id = add_template(db, me["id"])
    with db.session() as session:
        row = GenerationJob(user_id=uuid.UUID(me["id"]), template_id=uuid.UUID(template_id),
                            template_version=1, status=JobStatus.COMPLETED, answers={},
                            log=[], artifact_size=6, artifact_sha256="0" * 64)
        session.add(row)
        session.flush()
        row.artifact_key = key = f"{row.id}/a1b2c3d4.zip"  # its only file: the zip
        session.commit()
        job_id = str(row.id)
    stored = settings.jobs.artifact_dir / key
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"PK old")
    assert client.get(f"/api/generate/{job_id}").json["artifact"]["formats"] == ["zip"]

    zipped = client.get(f"/api/generate/{job_id}/download")
    assert (zipped.status_code, zipped.content) == (200, b"PK old")
    tarred = client.get(f"/api/generate/{job_id}/download", params={"format": "tar.gz"})
    assert (tarred.status_code, tarred.json["code"], tarred.json["field"]) == (
        409, "format_unavailable", "format")
    assert "download it as zip" in tarred.json["detail"]
    assert tarred.headers["Content-Type"] == "application/problem+json"


def test_empty_folders_reach_both_archives_and_are_not_counted_as_files(db, user):
    client, me = user
    definition = {**HELLO, "files": [*HELLO["files"], {"path": "{{ project_name }}/logs/"}]}
    job = generate(client, add_template(db, me["id"], definition), {"project_name": "p"}).json
    assert job["status"] == "completed" and job["files"] == 2
    zipped = client.get(f"/api/generate/{job['id']}/download").content
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        assert [i.filename for i in archive.infolist() if i.is_dir()] == ["p/", "p/logs/"]
    tarred = client.get(f"/api/generate/{job['id']}/download", params={"format": "tar.gz"})
    with tarfile.open(fileobj=io.BytesIO(tarred.content), mode="r:gz") as archive:
        assert [m.name for m in archive.getmembers() if m.isdir()] == ["p", "p/logs"]


def test_secret_answers_never_reach_rows_logs_or_events(db, user, caplog):
    client, me = user
    template_id = add_template(db, me["id"])
    with caplog.at_level("DEBUG"):
        job = generate(client, template_id, {"project_name": "rocket", "token": "s3cr3t"}).json
    assert job["answers"] == {"project_name": "rocket", "token": "***"}
    shown = client.get(f"/api/generate/{job['id']}")
    stream = client.get(f"/api/generate/{job['id']}/events")
    assert "s3cr3t" not in shown.text + stream.text + client.get("/api/events").text
    assert "s3cr3t" not in caplog.text
    with db.session() as session:
        row = session.get(GenerationJob, uuid.UUID(job["id"]))
        events = session.scalars(sa.select(Event.message)).all()
        assert "s3cr3t" not in json.dumps([row.answers, row.log, row.error, events])


def test_answers_are_checked_before_anything_is_queued(db, user):
    client, me = user
    template_id = add_template(db, me["id"])
    result = generate(client, template_id, {"port": "eighty", "colour": "red"})
    assert result.status_code == 422
    assert {(e["code"], e["field"]) for e in result.json["errors"]} == {
        ("unknown_variable", "$.answers.colour"),
        ("invalid_type", "$.answers.port"),
        ("required", "$.answers.project_name"),
    }
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(GenerationJob)) == 0


def test_a_given_version_is_rendered(db, user):
    client, me = user
    old = {**HELLO, "files": [{"path": "OLD.txt", "content": "v1 of {{ project_name }}"}]}
    template_id = add_template(db, me["id"], versions=[old])
    job = generate(client, template_id, {"project_name": "x"}, version=1).json
    assert job["template_version"] == 1
    with zipfile.ZipFile(io.BytesIO(
            client.get(f"/api/generate/{job['id']}/download").content)) as archive:
        assert archive.namelist() == ["OLD.txt"]
    missing = generate(client, template_id, {"project_name": "x"}, version=7)
    assert (missing.status_code, missing.json["field"]) == (404, "$.version")


def test_templates_of_others_are_not_found_but_team_templates_are_usable(db, user, new_client,
                                                                          jobs_app, signup):
    client, me = user
    other = new_client(jobs_app)
    stranger = signup(other)
    theirs = add_template(db, stranger["id"])
    result = generate(client, theirs, {"project_name": "x"})
    assert (result.status_code, result.json["code"], result.json["field"]) == (
        404, "not_found", "$.template_id")
    assert generate(client, str(uuid.uuid4()), {}).status_code == 404

    with db.session() as session:
        team = Team(name="t", owner_id=uuid.UUID(stranger["id"]), created_at=T0, updated_at=T0)
        session.add(team)
        session.flush()
        session.add(TeamMembership(team_id=team.id, user_id=uuid.UUID(me["id"])))
        session.commit()
        team_id = team.id
    shared = add_template(db, stranger["id"], team_id=team_id)
    result = generate(client, shared, {"project_name": "x"})
    # the team owner's plan decides (billing); what matters here: the template was found
    assert result.status_code in (202, 402, 403), result.text
    assert result.json.get("code") != "not_found"


def test_another_users_job_is_not_found_anywhere(db, user, new_client, jobs_app, signup):
    client, me = user
    job = generate(client, add_template(db, me["id"]), {"project_name": "x"}).json
    other = new_client(jobs_app)
    signup(other)
    for suffix in ("", "/download", "/events"):
        result = other.get(f"/api/generate/{job['id']}{suffix}")
        assert (result.status_code, result.json["code"]) == (404, "job_not_found"), suffix
    assert other.get("/api/events").json == {"events": []}
    assert client.get(f"/api/generate/{job['id']}").json["status"] == "completed"


def test_the_event_stream_replays_the_log_and_resumes_after_last_event_id(db, user):
    client, me = user
    job = generate(client, add_template(db, me["id"]), {"project_name": "x"}).json
    stream = client.get(f"/api/generate/{job['id']}/events")
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    messages = [m for m in stream.text.split("\n\n") if m]
    assert [m.splitlines()[:-1] for m in messages] == [
        ["event: progress"],  # where the render ended: every template file, no id
        ["id: 1", "event: queued"], ["id: 2", "event: started"],
        ["id: 3", "event: completed"]]
    assert json.loads(messages[0].splitlines()[1].removeprefix("data: ")) == {
        "files": 2, "total": 2, "path": None, "bytes": 16}
    assert json.loads(messages[-1].splitlines()[2].removeprefix("data: "))["status"] == (
        "completed")
    assert client.get(f"/api/generate/{job['id']}").json["progress"] == {
        "files": 2, "total": 2, "path": None, "bytes": 16}
    resumed = client.get(f"/api/generate/{job['id']}/events", headers={"Last-Event-ID": "2"})
    assert resumed.text.split("\n\n")[1].startswith("id: 3\nevent: completed\n")


def test_the_event_stream_of_an_unfinished_job_ends_with_a_retry_hint(db, user):
    client, me = user
    template_id = add_template(db, me["id"])
    with db.session() as session:
        row = GenerationJob(user_id=uuid.UUID(me["id"]), template_id=uuid.UUID(template_id),
                            template_version=1, status=JobStatus.PENDING, answers={},
                            log=[{"at": T0.isoformat(), "step": "queued", "message": "m"}])
        session.add(row)
        session.commit()
        job_id = row.id
    stream = client.get(f"/api/generate/{job_id}/events")  # bounded to 1 s here
    data = {"at": T0.isoformat(), "step": "queued", "message": "m", "files": None,
            "status": "pending"}
    assert stream.text == f"id: 1\nevent: queued\ndata: {json.dumps(data)}\n\nretry: 1000\n\n"
    download = client.get(f"/api/generate/{job_id}/download")
    assert (download.status_code, download.json["code"]) == (409, "artifact_not_ready")
    bad = client.get(f"/api/generate/{job_id}/download", params={"format": "rar"})
    assert (bad.status_code, bad.json["field"]) == (422, "format")


def test_a_template_that_runs_code_is_refused(db, user):
    client, me = user
    definition = {**HELLO, "settings": {"jinja_extensions": ["evil.Extension"]}}
    result = generate(client, add_template(db, me["id"], definition), {"project_name": "x"})
    assert (result.status_code, result.json["errors"][0]["code"], result.json["field"]) == (
        422, "untrusted_code", "$.template_id")


def test_a_template_with_tasks_renders_without_them_and_the_log_says_so(db, user):
    client, me = user
    definition = {**HELLO, "settings": {"tasks": [{"command": "touch /tmp/lp-task-ran"}]}}
    result = generate(client, add_template(db, me["id"], definition), {"project_name": "x"})
    assert result.status_code == 202, result.text
    [skipped] = [step for step in result.json["log"] if step["step"] == "tasks_skipped"]
    assert "touch /tmp/lp-task-ran" in skipped["message"]


def test_an_import_warning_is_in_the_job_log(db, user):
    client, me = user
    warning = "skipped .git: LaunchPad never writes a '.git'"
    definition = {**HELLO, "settings": {"origin": {"format": "copier", "warnings": [warning]}}}
    result = generate(client, add_template(db, me["id"], definition), {"project_name": "x"})
    assert result.status_code == 202, result.text
    assert [step["message"] for step in result.json["log"]
            if step["step"] == "import_warning"] == [warning]


def test_a_hostile_template_fails_with_a_clear_reason(db, user):
    client, me = user
    spin = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    hostile = {"name": "spin", "files": [{"path": "a.txt", "content": spin}]}
    job = generate(client, add_template(db, me["id"], hostile), {}).json
    assert job["status"] == "failed"
    assert job["error"] == "the template needed more than 2 seconds of CPU time and was stopped"
    assert job["artifact"] is None
    events = client.get("/api/events").json["events"]
    assert events[0]["kind"] == "job_failed"
    assert "CPU time" in events[0]["message"]
    fine = generate(client, add_template(db, me["id"]), {"project_name": "x"}).json
    assert fine["status"] == "completed"


def test_a_submission_sent_again_under_its_idempotency_key_answers_the_same_job(
        db, user, new_client, jobs_app, signup):
    client, me = user
    template_id = add_template(db, me["id"])
    body = {"template_id": template_id, "answers": {"project_name": "rocket"}}
    key = {"Idempotency-Key": "a1b2-retry-me"}
    first = client.post("/api/generate", json=body, headers=key)
    again = client.post("/api/generate", json=body, headers=key)
    assert first.status_code == again.status_code == 202, again.text
    assert again.json["id"] == first.json["id"] and again.json["status"] == "completed"
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(GenerationJob).where(
            GenerationJob.user_id == uuid.UUID(me["id"]))) == 1
    other = client.post("/api/generate", json={**body, "answers": {"project_name": "apollo"}},
                        headers=key)
    assert (other.status_code, other.json["code"], other.json["field"]) == (
        422, "idempotency_key_reused", "Idempotency-Key")
    for bad in ("", "a b", "x" * 256):
        refused = client.post("/api/generate", json=body, headers={"Idempotency-Key": bad})
        assert (refused.status_code, refused.json["code"]) == (400, "invalid_idempotency_key")
    stranger = new_client(jobs_app)
    stranger_me = signup(stranger)
    theirs = add_template(db, stranger_me["id"])
    own = stranger.post("/api/generate", json={**body, "template_id": theirs}, headers=key)
    assert own.status_code == 202 and own.json["id"] != first.json["id"]  # keys are per user
    assert client.post("/api/generate", json=body).json["id"] != first.json["id"]  # no key


def test_the_range_bomb_stops_at_the_file_limit_or_at_2_cpu_seconds_within_300_mib(
        make_app, new_client, signup, db, settings):
    """Making the 16 MiB the file limit allows takes 1.5 CPU seconds on a fast machine
    and 3 on a slow one (a Python loop of 16 million steps): which limit stops it
    depends on the machine, but one of these two does, and never the memory limit."""
    app = make_app(jobs=attrs.evolve(settings.jobs, immediate=True, cpu_seconds=2,
                                     memory_bytes=300 * 1024 * 1024))
    client = new_client(app)
    me = signup(client)
    bomb = ("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}"
            "{% endfor %}")
    template_id = add_template(db, me["id"], {"name": "bomb", "files": [
        {"path": "a.txt", "content": bomb}]})
    job = generate(client, template_id, {}).json
    assert job["status"] == "failed"
    assert job["error"] in (
        "the rendered text is over the limit of 16,777,216 characters (in a.txt)",
        "the template needed more than 2 seconds of CPU time and was stopped")


def test_jobs_of_one_template_each_draw_their_own_random_values(db, jobs_app, new_client,
                                                                 signup, settings):
    """Compiled once and kept in the data directory, the code still draws at each render:
    nothing random is folded into it."""
    draws = {"name": "draws", "files": [{"path": "a.txt", "content": (
        "{{ range(100000)|random }} {{ range(20)|list|shuffle|join(',') }}")}]}
    contents = []
    for _ in range(3):  # three people, the same template
        client = new_client(jobs_app)
        me = signup(client)
        job = generate(client, add_template(db, me["id"], draws), {}).json
        assert job["status"] == "completed", job["error"]
        download = client.get(f"/api/generate/{job['id']}/download")
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            contents.append(archive.read("a.txt"))
    assert list((settings.data_dir / "compiled").glob("*.pack"))
    assert len(set(contents)) == 3, contents


def test_anonymous_callers_are_refused(client):
    assert client.post("/api/generate", json={}).status_code == 401
    assert client.get("/api/events").status_code == 401
