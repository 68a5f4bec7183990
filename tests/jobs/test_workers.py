"""Real ``launchpad worker`` processes on Redis and the database: jobs survive killed
workers, racing workers and a restarted Redis, and run to completion exactly once."""

from __future__ import annotations

import hashlib
import io
import signal
import tarfile
import time
import urllib.request
import uuid
import zipfile

import pytest
import sqlalchemy as sa

from launchpad_web.jobs.models import Event
from launchpad_web.jobs.object_storage import S3ArtifactStorage
from launchpad_web.jobs.storage import STAGING
from launchpad_web.projects.models import Project

from .conftest import MANY_FILES, PROGRESS_MS, Stack, check_file_progress, wait_for

pytestmark = pytest.mark.slow

HELLO = {
    "name": "hello",
    "variables": [{"name": "project_name", "type": "str"},
                  {"name": "token", "type": "str", "secret": True, "default": ""}],
    "files": [{"path": "{{ project_name }}/README.md", "content": "# {{ project_name }}"}],
}
# About three seconds of rendering: long enough to act on a worker mid-render.
SLOW = {"name": "slow", "files": [{"path": "slow.txt", "content": (
    "{% for i in range(100000) %}{% for j in range(60) %}{% set k = i + j %}{% endfor %}"
    "{% endfor %}done")}]}
SPIN = {"name": "spin", "files": [{"path": "a.txt", "content": (
    "{% for i in range(100000) %}{% for j in range(100000) %}{% set k = i + j %}{% endfor %}"
    "{% endfor %}")}]}
# Thirty strings of 16 MB: each within the sandbox's size limit, together over 300 MiB.
HOG = {"name": "hog", "files": [{"path": "a.txt", "content": (
    '{% set v0 = "x" * 16000000 %}'
    + "".join(f'{{% set v{i} = v{i - 1} ~ "y" %}}' for i in range(1, 30))
    + "{{ v29 | length }}")}]}


def events_of(stack, job_id):
    with stack.session_factory() as session:
        return session.scalars(sa.select(Event.kind).where(
            Event.job_id == uuid.UUID(job_id))).all()


def projects_of(stack, job_id):
    """How many projects the job recorded (one per completed job, however often run)."""
    with stack.session_factory() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Project).where(
            Project.job_id == uuid.UUID(job_id)))


def steps(job):
    return [step["step"] for step in job.log]


def test_a_job_runs_on_a_worker_and_downloads(stack):
    me = stack.signup()
    stack.start_worker()
    job = stack.generate(stack.add_template(me, HELLO), {"project_name": "rocket"})
    done = stack.wait_status(job["id"], "completed")
    assert steps(done) == ["queued", "started", "completed"]
    download = stack.get(f"/api/generate/{job['id']}/download")
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert archive.read("rocket/README.md") == b"# rocket"
    assert done.artifact_size == len(download.content)
    tarred = stack.get(f"/api/generate/{job['id']}/download", params={"format": "tar.gz"})
    with tarfile.open(fileobj=io.BytesIO(tarred.content), mode="r:gz") as archive:
        assert archive.extractfile("rocket/README.md").read() == b"# rocket"
    [artifact] = stack.artifacts(job["id"])
    assert sorted(p.name for p in artifact.iterdir()) == ["artifact.tar.gz", "artifact.zip"]
    assert events_of(stack, job["id"]) == ["job_completed"]
    # compiled code went to the service's data directory, never to the CLI's cache
    assert list((stack.tmp_path / "data" / "compiled").glob("*.pack"))
    assert not (stack.tmp_path / "xdg-cache").exists()


def test_a_job_stores_its_archives_in_the_bucket_and_downloads_both_ways(s3_stack):
    stack = s3_stack
    me = stack.signup()
    stack.start_worker()
    job = stack.generate(stack.add_template(me, HELLO), {"project_name": "rocket"})
    done = stack.wait_status(job["id"], "completed")
    storage = stack.queue.context.storage
    assert isinstance(storage, S3ArtifactStorage)
    def listed():
        found = storage.client.list_objects_v2(Bucket=storage.bucket)["Contents"]
        return sorted(entry["Key"] for entry in found)

    assert listed() == [f"{done.artifact_key}/artifact.zip"]  # tar.gz: on first download
    assert stack.artifacts(job["id"]) == []  # nothing kept on the worker's disk
    assert list((stack.settings.jobs.artifact_dir / STAGING).iterdir()) == []

    download = stack.get(f"/api/generate/{job['id']}/download")  # streamed by the API
    assert download.status_code == 200
    assert download.headers["content-length"] == str(done.artifact_size)
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert archive.read("rocket/README.md") == b"# rocket"
    assert hashlib.sha256(download.content).hexdigest() == done.artifact_sha256
    tarred = stack.get(f"/api/generate/{job['id']}/download", params={"format": "tar.gz"})
    with tarfile.open(fileobj=io.BytesIO(tarred.content), mode="r:gz") as archive:
        assert archive.extractfile("rocket/README.md").read() == b"# rocket"
    assert listed() == [f"{done.artifact_key}/artifact.tar.gz",
                        f"{done.artifact_key}/artifact.zip"]

    redirecting = Stack(stack.tmp_path, stack.env["LAUNCHPAD_DATABASE_URL"],
                        stack.env["LAUNCHPAD_REDIS_URL"],
                        {**stack.env, "LAUNCHPAD_ARTIFACT_DOWNLOADS": "redirect"})
    redirecting.cookies = stack.cookies
    try:
        moved = redirecting.get(f"/api/generate/{job['id']}/download",
                                params={"format": "tar.gz"})
        assert moved.status_code == 302 and moved.headers["cache-control"] == "no-store"
        with urllib.request.urlopen(moved.headers["location"], timeout=10) as answer:
            assert answer.read() == tarred.content
        storage.delete(done.artifact_key)  # gone from the bucket: 409 as on disk
        gone = redirecting.get(f"/api/generate/{job['id']}/download")
        assert gone.status_code == 409, gone.text
    finally:
        redirecting.close()


def test_the_event_stream_follows_a_running_job_until_it_completes(stack):
    me = stack.signup()
    job = stack.generate(stack.add_template(me, SLOW), {})
    stack.start_worker()
    started = time.monotonic()
    stream = stack.get(f"/api/generate/{job['id']}/events")
    assert time.monotonic() - started > 1  # it waited for the render
    messages = [m.splitlines()[:2] for m in stream.text.split("\n\n") if m]
    assert [m for m in messages if m[0].startswith("id:")] == [
        ["id: 1", "event: queued"], ["id: 2", "event: started"], ["id: 3", "event: completed"]]
    assert messages[-2][0] == "event: progress"  # its one file done, before completed
    assert stack.job(job["id"]).status == "completed"


def test_the_event_stream_shows_each_files_progress_while_the_worker_renders(stack):
    me = stack.signup()
    job = stack.generate(stack.add_template(me, MANY_FILES), {})
    stack.start_worker(LAUNCHPAD_JOB_PROGRESS_MS=PROGRESS_MS)
    stream = stack.get(f"/api/generate/{job['id']}/events")
    progress = check_file_progress(stream.text, MANY_FILES)
    assert stack.job(job["id"]).progress == progress[-1]


def test_a_worker_killed_mid_render_is_replaced_and_the_job_completes_once(stack):
    me = stack.signup()
    first = stack.start_worker()
    job = stack.generate(stack.add_template(me, SLOW), {})
    wait_for(lambda: "started" in steps(stack.job(job["id"])), what="the render to start")
    time.sleep(0.5)
    stack.signal_worker(first, signal.SIGKILL)
    first.wait(10)
    stack.start_worker()
    done = stack.wait_status(job["id"], "completed", "failed")
    assert done.status == "completed", done.error
    assert done.attempts == 2
    assert steps(done) == ["queued", "started", "retrying", "started", "completed"]
    assert [p.name for p in stack.artifacts(job["id"])] == [done.artifact_key.split("/")[1]]
    assert events_of(stack, job["id"]) == ["job_completed"]
    assert projects_of(stack, job["id"]) == 1


def test_two_workers_racing_for_one_job_make_one_artifact(stack):
    me = stack.signup()
    job = stack.generate(stack.add_template(me, SLOW), {})
    stack.start_worker()
    stack.start_worker()
    wait_for(lambda: "started" in steps(stack.job(job["id"])), what="the render to start")
    owner_pid = int(stack.job(job["id"]).lease_owner.split("/")[1])
    holder = next(p for p in stack.workers if p.pid == owner_pid)
    # the holder freezes mid-render: its lease expires and the other worker takes over
    stack.signal_worker(holder, signal.SIGSTOP)
    wait_for(lambda: stack.job(job["id"]).attempts == 2, what="the take-over")
    stack.signal_worker(holder, signal.SIGCONT)  # wakes up, finishes its render late
    done = stack.wait_status(job["id"], "completed")
    time.sleep(4)  # time for the late worker to try completing (and to lose)
    done = stack.job(job["id"])
    assert (done.status, done.attempts) == ("completed", 2)
    assert steps(done).count("completed") == 1
    assert [p.name for p in stack.artifacts(job["id"])] == [done.artifact_key.split("/")[1]]
    assert events_of(stack, job["id"]) == ["job_completed"]
    assert "lease lost before completion; artifact discarded" in stack.worker_log(holder)
    assert projects_of(stack, job["id"]) == 1


def test_a_duplicate_message_runs_the_job_once(stack):
    me = stack.signup()
    job = stack.generate(stack.add_template(me, HELLO), {"project_name": "x"})
    stack.queue.enqueue(uuid.UUID(job["id"]))
    stack.queue.enqueue(uuid.UUID(job["id"]))
    stack.start_worker()
    stack.start_worker()
    stack.wait_status(job["id"], "completed")
    time.sleep(1)
    assert stack.job(job["id"]).attempts == 1
    assert len(stack.artifacts(job["id"])) == 1
    assert events_of(stack, job["id"]) == ["job_completed"]
    assert projects_of(stack, job["id"]) == 1


def test_jobs_queued_when_redis_restarts_are_not_lost(stack, redis_server):
    me = stack.signup()
    template = stack.add_template(me, HELLO)
    queued = [stack.generate(template, {"project_name": f"p{i}"})["id"] for i in range(3)]
    with_secret = stack.generate(template, {"project_name": "s", "token": "s3cr3t"})["id"]
    redis_server.stop()
    while_down = stack.generate(template, {"project_name": "down"})["id"]  # enqueue fails
    redis_server.start()  # empty: nothing is kept on disk
    stack.start_worker()
    for job_id in [*queued, while_down]:
        done = stack.wait_status(job_id, "completed", "failed")
        assert (done.status, done.attempts) == ("completed", 1), done.error
    lost = stack.wait_status(with_secret, "failed")
    assert lost.error.startswith("Secret answers are kept only until a worker first takes")
    assert "s3cr3t" not in str(lost.log) + str(lost.answers)


def test_hostile_templates_fail_with_a_reason_while_other_jobs_complete(stack):
    me = stack.signup()
    spin = stack.generate(stack.add_template(me, SPIN), {})
    hog = stack.generate(stack.add_template(me, HOG), {})
    template = stack.add_template(me, HELLO)
    fine = [stack.generate(template, {"project_name": f"p{i}"}) for i in range(3)]
    stack.start_worker(LAUNCHPAD_JOB_CPU_SECONDS="2")
    for job in fine:
        assert stack.wait_status(job["id"], "completed", "failed").status == "completed"
    assert stack.wait_status(spin["id"], "failed").error == (
        "the template needed more than 2 seconds of CPU time and was stopped")
    assert stack.wait_status(hog["id"], "failed").error == (
        "the template needed more than 300 MiB of memory and was stopped")
    assert events_of(stack, spin["id"]) == ["job_failed"]
