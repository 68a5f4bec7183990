"""``launchpad db`` and ``launchpad serve``: in-process, and one real server over HTTP."""

from __future__ import annotations

import http.client
import json
import logging
import os
import subprocess
import sys
import time

import pytest

from launchpad_core.cli.main import main
from launchpad_core.testing import free_port
from launchpad_web.migrate import head_revision

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def root_logging():
    """``serve`` configures the root logger for its process: put it back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:], root.level = handlers, level


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("LAUNCHPAD_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LAUNCHPAD_DATA_DIR", str(tmp_path))
    return tmp_path


def test_serve_refuses_an_empty_database(data_dir, capsys):
    assert main(["serve"]) == 1
    err = capsys.readouterr().err
    assert "revision none" in err
    assert f"expects {head_revision()}" in err
    assert "launchpad db upgrade" in err


def test_db_upgrade_then_current(data_dir, capsys):
    assert main(["db", "current"]) == 1
    assert "current: none" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert f"database at revision {head_revision()}" in capsys.readouterr().out
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out == f"current: {head_revision()}\nexpected: {head_revision()}\n"
    assert (data_dir / "launchpad.sqlite3").exists()


def test_a_bad_setting_is_reported_by_the_cli(data_dir, monkeypatch, capsys):
    monkeypatch.setenv("LAUNCHPAD_PORT", "eighty")
    assert main(["serve"]) == 1
    assert "LAUNCHPAD_PORT must be an integer" in capsys.readouterr().err




class Http:
    """A tiny HTTP client keeping the session cookie, over a real socket."""

    def __init__(self, port: int):
        self.port = port
        self.cookie: str | None = None

    def call(self, method: str, path: str, body: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        headers["Origin"] = f"http://127.0.0.1:{self.port}"  # a page of the service (CSRF)
        if self.cookie:
            headers["Cookie"] = self.cookie
        connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        set_cookie = response.getheader("Set-Cookie")
        if set_cookie:
            self.cookie = set_cookie.split(";")[0]
        data = response.read()
        connection.close()
        return response.status, json.loads(data) if data else None


def wait_for_health(client: Http, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"server exited: {server.stderr.read().decode()}")
        try:
            if client.call("GET", "/api/health")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail("server did not answer within 30 s")


@pytest.mark.slow
def test_the_real_server_signs_up_logs_in_and_answers_me(data_dir, monkeypatch):
    assert main(["db", "upgrade"]) == 0
    port = free_port()
    env = {**os.environ, "LAUNCHPAD_PORT": str(port), "LAUNCHPAD_ENV": "development",
           "LAUNCHPAD_THREADS": "2"}
    server = subprocess.Popen([sys.executable, "-m", "launchpad_core.cli.main", "serve"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        client = Http(port)
        wait_for_health(client, server)
        status, user = client.call("POST", "/api/auth/signup",
                                   {"email": "real@example.org", "password": PASSWORD})
        assert status == 201
        signup_cookie = client.cookie
        assert client.call("POST", "/api/auth/logout")[0] == 204
        assert client.call("GET", "/api/me")[0] == 401
        status, _ = client.call("POST", "/api/auth/login",
                                {"email": "real@example.org", "password": PASSWORD})
        assert status == 200 and client.cookie != signup_cookie
        assert client.call("GET", "/api/me") == (200, user)
        status, problem = client.call("GET", "/api/nowhere")
        assert status == 404 and problem["code"] == "not_found"
    finally:
        server.terminate()  # at once: the last line must still reach the log
        assert server.wait(timeout=10) == 0
    log = server.stderr.read()
    assert b'"path": "/api/me"' in log
    assert b'"path": "/api/nowhere"' in log
