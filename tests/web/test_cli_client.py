"""``launchpad login``, ``push`` and ``generate`` against the real API: the app served by
waitress on a free port, a migrated database of the test's own that commits, and the
job consumer running in this process on the SQLite queue (as ``launchpad serve`` does)."""

from __future__ import annotations

import http.client
import json
import socketserver
import stat
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from launchpad_core.cli import main as cli
from launchpad_core.cli.client import Credentials, HostedClient, archive_files
from launchpad_core.config import CoreSettings
from launchpad_core.errors import LoadError, UnsafePathError
from launchpad_web.db import make_session_factory
from launchpad_web.jobs.models import GenerationJob
from launchpad_web.settings import WebSettings
from launchpad_worker.compose import service_app
from launchpad_worker.context import WorkerContext
from launchpad_worker.queue import JobQueue, running_consumer

from .conftest import FAST_HASHING, PASSWORD

LAUNCHPAD_YML = """\
name: greeting
variables:
  - name: who
    default: world
  - name: shout
    type: bool
    default: false
  - name: n
    type: int
    default: 1
"""


@attrs.frozen
class Hosted:
    url: str
    email: str
    session_factory: Any


@pytest.fixture
def hosted(committing_engine: sa.Engine, serve: Callable[[Any], str],
           tmp_path: Path) -> Iterator[Hosted]:
    env = {"LAUNCHPAD_DATA_DIR": str(tmp_path / "data"), "LAUNCHPAD_ENV": "development"}
    settings = attrs.evolve(WebSettings.from_env(env), password_hashing=FAST_HASHING)
    factory = make_session_factory(committing_engine)
    queue = JobQueue.from_settings(settings, WorkerContext.from_settings(
        settings, session_factory=factory))
    url = serve(service_app(settings, session_factory=factory, job_queue=queue))
    email = f"cli-{uuid.uuid4().hex[:8]}@example.org"
    HostedClient(url).call("POST", "/api/auth/signup", {"email": email, "password": PASSWORD})
    with running_consumer(queue, enabled=True):
        yield Hosted(url, email, factory)


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    config = tmp_path / "config"
    monkeypatch.setenv("LAUNCHPAD_CONFIG_DIR", str(config))
    monkeypatch.setenv("LAUNCHPAD_NO_CACHE", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    return config


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    root = tmp_path / "greeting"
    (root / "{{ who }}").mkdir(parents=True)
    (root / "launchpad.yml").write_text(LAUNCHPAD_YML)
    (root / "{{ who }}" / "hello.txt").write_text(
        "{% if shout %}HELLO{% else %}hello{% endif %} {{ who }} x{{ n }}\n")
    (root / "run.sh").write_text("#!/bin/sh\necho {{ who }}\n")
    (root / "run.sh").chmod(0o755)
    return root


def login(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
          hosted: Hosted) -> tuple[int, str, str]:
    monkeypatch.setattr("builtins.input", lambda prompt: hosted.email)
    monkeypatch.setattr("getpass.getpass", lambda prompt: PASSWORD)
    return run(capsys, "login", hosted.url)


def test_login_creates_a_token_and_keeps_it_private(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], hosted: Hosted,
    environment: Path,
) -> None:
    code, out, err = login(monkeypatch, capsys, hosted)
    assert (code, err) == (0, "")
    stored = environment / "credentials.json"
    assert out == f"Logged in to {hosted.url} as {hosted.email}; the token is in {stored}.\n"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    credentials = json.loads(stored.read_text())
    assert credentials["url"] == hosted.url
    assert credentials["token"].startswith("lp_")
    tokens = HostedClient(hosted.url, token=credentials["token"]).me()
    assert tokens["email"] == hosted.email
    with hosted.session_factory() as session:
        names = session.execute(sa.text("SELECT name FROM api_tokens")).scalars().all()
    assert len(names) == 1 and names[0].startswith("launchpad CLI on ")


def test_login_with_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], hosted: Hosted,
    environment: Path,
) -> None:
    login(monkeypatch, capsys, hosted)
    token = json.loads((environment / "credentials.json").read_text())["token"]
    (environment / "credentials.json").unlink()
    code, out, _ = run(capsys, "login", hosted.url + "/", "--token", token)
    assert code == 0 and hosted.email in out
    assert json.loads((environment / "credentials.json").read_text()) == {
        "url": hosted.url, "token": token}


@pytest.mark.parametrize(("argv", "reason"), [
    (["--token", "lp_not-a-real-token"], "(HTTP 401)"),
    (["--email", "nobody@example.org"], "(HTTP 401)"),
])
def test_a_refused_login_is_one_line_and_stores_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], hosted: Hosted,
    argv: list[str], reason: str,
) -> None:
    monkeypatch.setattr("getpass.getpass", lambda prompt: "wrong password, surely")
    code, out, err = run(capsys, "login", hosted.url, *argv)
    assert (code, out) == (1, "")
    assert err.startswith("launchpad: error: ") and err.endswith(f"{reason}\n")
    assert len(err.splitlines()) == 1
    assert not (CoreSettings.from_env().config_dir / "credentials.json").exists()


def test_push_creates_then_updates_as_a_new_version(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], hosted: Hosted,
    template_dir: Path,
) -> None:
    login(monkeypatch, capsys, hosted)
    code, out, err = run(capsys, "push", str(template_dir))
    assert (code, err) == (0, "")
    assert out.startswith("Created greeting (id ") and out.endswith(" at version 1.\n")
    template_id = out.split("(id ")[1].split(")")[0]
    (template_dir / "extra.txt").write_text("more\n")
    code, out, _ = run(capsys, "push", str(template_dir))
    assert (code, out) == (0, f"Updated greeting (id {template_id}) at version 2.\n")
    client = HostedClient(hosted.url, token=_token(monkeypatch))
    stored = client.call("GET", f"/api/templates/{template_id}")
    paths = sorted(f["path"] for f in stored["definition"]["files"])
    assert paths == ["extra.txt", "run.sh", "{{ who }}/hello.txt"]
    assert str(template_dir) not in json.dumps(stored)


def test_push_of_an_imported_template_sends_no_local_paths(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], hosted: Hosted,
    tmp_path: Path,
) -> None:
    root = tmp_path / "cc"
    (root / "{{cookiecutter.name}}").mkdir(parents=True)
    (root / "cookiecutter.json").write_text(json.dumps({"name": "demo"}))
    (root / "{{cookiecutter.name}}" / "a.txt").write_text("{{ cookiecutter.name }}\n")
    login(monkeypatch, capsys, hosted)
    code, out, err = run(capsys, "push", str(root))
    assert (code, err) == (0, ""), err
    template_id = out.split("(id ")[1].split(")")[0]
    stored = HostedClient(hosted.url, token=_token(monkeypatch)).call(
        "GET", f"/api/templates/{template_id}")
    assert stored["definition"]["settings"]["origin"]["format"] == "cookiecutter"
    assert str(tmp_path) not in json.dumps(stored)


def test_generate_submits_waits_downloads_and_unpacks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], hosted: Hosted,
    template_dir: Path, tmp_path: Path,
) -> None:
    login(monkeypatch, capsys, hosted)
    run(capsys, "push", str(template_dir))
    dest = tmp_path / "project"
    code, out, err = run(capsys, "generate", "greeting", str(dest), "-d", "who=moon",
                         "-d", "shout=yes", "-d", "n=3")
    assert code == 0, err
    assert out == f"Wrote 2 file(s) of greeting v1 to {dest}.\n"
    steps = err.splitlines()  # the job's log, step by step, as it happens
    assert steps[0] == "  queued: waiting for a worker"
    assert steps[-1].startswith("  completed: 2 files, ")
    assert (dest / "moon" / "hello.txt").read_text() == "HELLO moon x3\n"
    assert stat.S_IMODE((dest / "run.sh").stat().st_mode) & 0o111
    code, _, err = run(capsys, "generate", "greeting", str(dest), "--defaults", "-q")
    assert code == 1
    assert err.startswith("launchpad: error: ") and err.endswith("; add --force to overwrite\n")
    code, _, _ = run(capsys, "generate", "greeting", str(dest), "--defaults", "-q", "--force")
    assert code == 0
    assert (dest / "world" / "hello.txt").read_text() == "hello world x1\n"


def test_generate_checks_answers_before_submitting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], hosted: Hosted,
    template_dir: Path, tmp_path: Path,
) -> None:
    login(monkeypatch, capsys, hosted)
    run(capsys, "push", str(template_dir))
    code, out, err = run(capsys, "generate", "greeting", str(tmp_path / "p"), "-d", "n=many")
    assert (code, out) == (1, "")
    assert err.splitlines() == ["launchpad: The answers are not valid.",
                                "  $.n: 'many' is not a whole number"]
    with hosted.session_factory() as session:
        assert session.execute(sa.text("SELECT count(*) FROM generation_jobs")).scalar() == 0


@pytest.mark.parametrize(("argv", "message"), [
    (["generate", "nothing-by-this-name", "out"],
     "launchpad: error: no hosted template named 'nothing-by-this-name'\n"),
    (["generate", str(uuid.UUID(int=7)), "out"], "launchpad: error: "),
])
def test_generate_of_an_unknown_template(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], hosted: Hosted,
    argv: list[str], message: str,
) -> None:
    login(monkeypatch, capsys, hosted)
    code, out, err = run(capsys, *argv)
    assert (code, out) == (1, "")
    assert err.startswith(message) and len(err.splitlines()) == 1


def test_hosted_commands_need_a_login(
    capsys: pytest.CaptureFixture[str], template_dir: Path,
) -> None:
    for argv in (["push", str(template_dir)], ["generate", "greeting", "out"]):
        assert run(capsys, *argv) == (
            1, "", "launchpad: error: not logged in: run `launchpad login URL` first\n")


def test_an_unreachable_service_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "login", "http://127.0.0.1:9", "--token", "lp_x")
    assert code == 1
    assert err.startswith("launchpad: error: cannot reach http://127.0.0.1:9: ")
    assert len(err.splitlines()) == 1


def test_archives_are_unpacked_only_inside_the_destination() -> None:
    import io
    import zipfile

    def zipped(name: str, mode: int = 0o644) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            archive.writestr(info, "x")
        return buffer.getvalue()

    assert [f.path for f in archive_files(zipped("a/b.txt"))] == ["a/b.txt"]
    for name in ("../evil.txt", "/etc/evil", "a/../../evil"):
        with pytest.raises(UnsafePathError):
            archive_files(zipped(name))
    with pytest.raises(LoadError, match="symbolic link"):
        archive_files(zipped("link", stat.S_IFLNK | 0o777))
    with pytest.raises(LoadError, match="more than 0 bytes"):
        archive_files(zipped("a.txt"), max_bytes=0)


def _token(monkeypatch: pytest.MonkeyPatch) -> str:
    return Credentials.read(CoreSettings.from_env().config_dir).token


class AnswerDroppingProxy:
    """A loopback HTTP proxy to ``target`` that passes the first ``POST /api/generate`` on
    to the service and then closes the connection without its answer (as an API process
    that dies after committing does); every other request goes through."""

    def __init__(self, target: str):
        parts = urllib.parse.urlsplit(target)
        proxy = self
        self.dropped = 0

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = self.rfile.readline()
                    if not line:
                        return
                    head += line
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, path, _ = request_line.split(" ", 2)
                headers = dict(line.split(": ", 1) for line in lines if ": " in line)
                body = self.rfile.read(int(headers.get("Content-Length", "0")))
                upstream = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                upstream.request(method, path, body=body, headers={
                    k: v for k, v in headers.items() if k.lower() != "connection"})
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                if (method, path) == ("POST", "/api/generate") and not proxy.dropped:
                    proxy.dropped += 1
                    return  # committed upstream, and the answer is lost
                self.wfile.write(f"HTTP/1.1 {answer.status} {answer.reason}\r\n".encode())
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.wfile.write(f"{name}: {value}\r\n".encode("latin-1"))
                self.wfile.write(f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
                                 .encode() + data)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> AnswerDroppingProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_generation_whose_answer_was_lost_is_sent_again_and_makes_one_job(
        hosted: Hosted) -> None:
    token = HostedClient(hosted.url).create_token(hosted.email, PASSWORD, name="retry")
    template, _ = HostedClient(hosted.url, token=token).push("retry", {
        "name": "retry", "variables": [{"name": "who", "default": "world"}],
        "files": [{"path": "hello.txt", "content": "hello {{ who }}"}]})
    with AnswerDroppingProxy(hosted.url) as proxy:
        job = HostedClient(proxy.url, token=token).generate(template["id"], {"who": "you"})
    assert proxy.dropped == 1
    with hosted.session_factory() as db:
        made = db.scalars(sa.select(GenerationJob.id).where(
            GenerationJob.template_id == uuid.UUID(template["id"]))).all()
    assert [str(job_id) for job_id in made] == [job["id"]]  # the retry's answer: that job
