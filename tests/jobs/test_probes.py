"""The worker's liveness and readiness probes: a real consumer on the real queue (Redis
of its own), the database it uses, and the `launchpad worker` process answering them."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from falcon import testing

from launchpad_web.db import make_engine
from launchpad_web.migrate import head_revision
from launchpad_worker.probes import Liveness, Readiness, probe_app

from .conftest import free_port, wait_for


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def consumer(stack):
    consumer = stack.queue.consumer(workers=2)
    consumer.start()
    yield consumer
    consumer.stop(graceful=True)


def probes(stack, consumer, **readiness) -> testing.TestClient:
    options = {"expected_revision": head_revision(), "queue_pending": stack.queue.pending,
               **readiness}
    return testing.TestClient(probe_app(
        Liveness(consumer, job_seconds=stack.settings.jobs.wall_seconds),
        Readiness(stack.engine, **options)))


def test_a_turning_consumer_is_live_and_ready(stack, consumer):
    client = probes(stack, consumer)
    live, ready = client.simulate_get("/livez"), client.simulate_get("/readyz")
    assert (live.status_code, live.json["status"]) == (200, "ok")
    assert set(live.json["checks"]) == {"loop", "scheduler", "worker-1", "worker-2"}
    assert (ready.status_code, ready.json) == (200, {"status": "ok", "checks": {
        "database": "ok", "queue": "ok"}})


def test_a_worker_silent_for_longer_than_a_job_may_run_is_stalled(stack, consumer):
    client = probes(stack, consumer)
    worker, _thread = consumer.worker_threads[1]
    wait_for(lambda: client.simulate_get("/livez").status_code == 200, what="a live consumer")
    worker.turned = time.monotonic() - stack.settings.jobs.wall_seconds - 3600
    live = client.simulate_get("/livez")
    assert (live.status_code, live.json["status"]) == (503, "stalled")
    assert live.json["checks"]["worker-2"] == "failing"
    assert live.json["checks"]["worker-1"] == "ok"


def test_a_stopped_queue_or_an_outdated_schema_is_not_ready(stack, consumer, redis_server,
                                                            tmp_path: Path):
    redis_server.stop()
    ready = probes(stack, consumer).simulate_get("/readyz")
    assert (ready.status_code, ready.json["checks"]) == (503, {
        "database": "ok", "queue": "failing"})
    redis_server.start()
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    ready = probes(stack, consumer).simulate_get("/readyz")
    assert ready.status_code == 200
    client = testing.TestClient(probe_app(
        Liveness(consumer, job_seconds=1),
        Readiness(empty, expected_revision=head_revision(), queue_pending=stack.queue.pending)))
    ready = client.simulate_get("/readyz")
    assert (ready.status_code, ready.json["checks"]["database"]) == (503, "failing")


def test_the_worker_command_serves_its_probes_and_stops_on_sigterm(stack):
    port = free_port()
    worker = stack.start_worker(LAUNCHPAD_WORKER_PROBE_PORT=str(port))
    base = f"http://127.0.0.1:{port}"

    def answered():
        try:
            return get(f"{base}/readyz")
        except OSError:
            return None

    status, body = wait_for(answered, timeout=60, what="the worker's probes")
    assert (status, body["status"]) == (200, "ok"), stack.worker_log(worker)
    assert get(f"{base}/livez")[0] == 200
    stack.signal_worker(worker, signal.SIGTERM)
    assert worker.wait(15) == 0, stack.worker_log(worker)
