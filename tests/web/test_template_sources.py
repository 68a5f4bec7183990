"""Templates from repositories, against the stand-in forge: real OAuth sign-in, real
repositories with tags served by ``git http-backend``, webhooks signed as each forge
signs them, and import jobs run by the worker's code (Huey's immediate mode, inside the
request, on the test transaction). Every template's code is imported in an evaluator
child."""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from launchpad_core import Launchpad
from launchpad_web.jobs.settings import MIB
from launchpad_web.settings import WebSettings
from launchpad_web.sources.models import TemplateSource
from launchpad_worker import git_fetch
from launchpad_worker.context import WorkerContext
from launchpad_worker.git_fetch import (
    FetchLimitError,
    FetchLimits,
    check_host,
    fetch_zip,
    remote_refs,
    target,
)
from launchpad_worker.sweeper import sweep

from .forge_standin import (
    DELIVERIES,
    StandinForge,
    forge_settings,
    launchpad_with_forges,
    running,
)
from .test_forges import (
    KEY,
    LOCAL,
    allow_repositories,
    at_forge,
    email,
    form_token,
    person,
    post_form,
    sign_in_with,
)

FORGES = ("github", "gitlab")
SHORTHAND = {"github": "gh", "gitlab": "gl"}
COPIER = {
    "copier.yml": "project_name:\n  type: str\n  default: demo\n_tasks: ['echo hi']\n",
    "{{ project_name }}/README.md.jinja": "# {{ project_name }}\n",
}


def copier_files(version: str) -> dict[str, str]:
    return {**COPIER, "VERSION.jinja": f"{version}\n"}


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
    forge.down = False


@pytest.fixture
def app(make_app: Any, forge: StandinForge, settings: Any) -> Any:
    return make_app(
        forges=forge_settings(forge.url, KEY),
        jobs=attrs.evolve(settings.jobs, immediate=True, private_repository_hosts=("127.0.0.1",)),
    )


@attrs.frozen
class Author:
    client: Any
    login: str


def signed_in(client: Any, forge: StandinForge, name: str = "github", *,
              repositories: bool = True) -> Author:
    login = person(forge, (email(), True))
    assert sign_in_with(client, forge, name, login,
                        repositories=repositories).status_code == 303
    return Author(client, login)


def repository(
    forge: StandinForge, owner: str, *, private: bool = True, tag: str | None = "1.0.0"
) -> str:
    name = f"tpl-{uuid.uuid4().hex[:6]}"
    forge.add_repository(owner, name, copier_files(tag or "main"), private=private, tag=tag)
    return f"{owner}/{name}"


def import_repository(client: Any, **body: Any) -> Any:
    return client.post("/api/templates/imports", json=body)


def versions(client: Any, template_id: str) -> list[int]:
    return [
        v["number"] for v in client.get(f"/api/templates/{template_id}/versions").json["versions"]
    ]


def version_file(client: Any, template_id: str) -> str:
    files = client.get(f"/api/templates/{template_id}").json["definition"]["files"]
    return next(f["content"] for f in files if f["path"] == "VERSION")


@pytest.fixture
def hooks(new_client: Any) -> Any:
    """The forge's side of webhooks: no cookies, no browser headers."""
    forge_client = new_client()
    forge_client.default_headers = {}
    return forge_client


def deliver(
    hooks: Any, name: str, template_id: str, secret: str, *, tag: str, commit: str, **options: Any
) -> Any:
    headers, body = DELIVERIES[name](secret, tag, commit, **options)
    return hooks.post(f"/api/webhooks/{name}/templates/{template_id}", body=body, headers=headers)


def followed(client: Any, template_id: str, name: str) -> str:
    """Follow the template's repository; the webhook secret for ``name``."""
    result = client.post(f"/api/templates/{template_id}/follow", json={"following": True})
    assert result.status_code == 200, result.text
    hook = next(h for h in result.json["webhooks"] if h["forge"] == name)
    assert hook["url"] == f"{LOCAL}/api/webhooks/{name}/templates/{template_id}"
    return hook["secret"]


@pytest.mark.parametrize("name", FORGES)
def test_a_private_template_is_imported_through_the_linked_token(client, forge, caplog, *, name):
    who = signed_in(client, forge, name)
    path = repository(forge, who.login)
    caplog.clear()  # the stand-in's OAuth server logs the tokens it issues: not ours
    caplog.set_level(logging.DEBUG)
    result = import_repository(client, source=f"{SHORTHAND[name]}:{path}")
    assert result.status_code == 202, result.text
    job = result.json
    assert result.headers["Location"] == f"/api/templates/imports/{job['id']}"
    assert job["status"] == "completed", job
    assert (job["tag"], job["version"], job["unchanged"]) == ("1.0.0", 1, False)
    assert [s["step"] for s in job["log"]] == [
        "queued",
        "started",
        "fetching",
        "importing",
        "saved",
        "completed",
    ]
    template = client.get(f"/api/templates/{job['template_id']}").json
    assert template["name"] == path.split("/")[1]
    assert template["skipped_tasks"] == ["echo hi"]  # imported, never run
    assert version_file(client, job["template_id"]) == "1.0.0\n"
    source = client.get(f"/api/templates/{job['template_id']}/source").json
    assert source == {
        **source,
        "source": f"{SHORTHAND[name]}:{path}",
        "forge": name,
        "repository": path,
        "url": f"{forge.url}/{path}.git",
        "ref": None,
        "format": "copier",
        "commit": job["commit"],
        "tag": "1.0.0",
        "following": False,
        "webhooks": [],
    }
    tokens = forge.live_access_tokens(who.login)
    seen = caplog.text + json.dumps(job) + json.dumps(source)
    assert tokens and not any(token in seen for token in tokens)


def test_a_private_repository_without_the_token_is_refused(client, forge, new_client, signup):
    owner = signed_in(client, forge)
    path = repository(forge, owner.login)
    stranger = new_client()
    signup(stranger)
    job = import_repository(stranger, source=f"{forge.url}/{path}.git").json
    assert job["status"] == "failed"
    assert "refused" in job["error"] and "linked forge account" in job["error"]
    assert stranger.get("/api/templates").json["total"] == 0


def test_a_public_repository_at_a_branch_then_reimported(client, forge, signup):
    signup(client)
    path = repository(forge, "someone", private=False, tag=None)
    job = import_repository(
        client, source=f"{forge.url}/{path}", ref="main", format="copier", name="Public one"
    ).json
    assert job["status"] == "completed", job
    template_id = job["template_id"]
    assert client.get(f"/api/templates/{template_id}").json["name"] == "Public one"
    same = client.post(f"/api/templates/{template_id}/reimport", json={})
    assert same.status_code == 202
    assert same.json["unchanged"] is True and same.json["version"] is None
    assert "no new version" in same.json["log"][-1]["message"]
    assert versions(client, template_id) == [1]
    commit = forge.commit(path, copier_files("main-2"))
    again = client.post(f"/api/templates/{template_id}/reimport", json={}).json
    assert (again["status"], again["version"], again["commit"]) == ("completed", 2, commit)
    assert versions(client, template_id) == [1, 2]
    assert version_file(client, template_id) == "main-2\n"
    at_commit = import_repository(client, source=f"{forge.url}/{path}", ref=job["commit"]).json
    assert (at_commit["status"], at_commit["commit"]) == ("completed", job["commit"]), at_commit
    assert version_file(client, at_commit["template_id"]) == "main\n"


def test_the_newest_release_tag_is_the_default_ref(client, forge, signup):
    signup(client)
    path = repository(forge, "someone", private=False, tag="1.0.0")
    forge.commit(path, copier_files("2.0.0rc1"), tag="2.0.0rc1")  # a pre-release: not taken
    forge.commit(path, copier_files("1.10.0"), tag="1.10.0", annotated=True)
    forge.commit(path, copier_files("untagged"))
    job = import_repository(client, source=f"{forge.url}/{path}.git").json
    assert (job["status"], job["tag"]) == ("completed", "1.10.0"), job
    assert version_file(client, job["template_id"]) == "1.10.0\n"
    at_tag = import_repository(client, source=f"{forge.url}/{path}.git", ref="1.0.0").json
    assert version_file(client, at_tag["template_id"]) == "1.0.0\n"


@pytest.mark.parametrize("name", FORGES)
def test_a_pushed_tag_becomes_a_version_once_by_webhook(client, forge, hooks, *, name):
    who = signed_in(client, forge, name)
    path = repository(forge, who.login)
    template_id = import_repository(client, source=f"{SHORTHAND[name]}:{path}").json["template_id"]
    secret = followed(client, template_id, name)
    commit = forge.commit(path, copier_files("1.1.0"), tag="1.1.0")

    forged = deliver(hooks, name, template_id, "not-the-secret", tag="1.1.0", commit=commit)
    assert (forged.status_code, forged.json["code"]) == (400, "invalid_signature")
    assert versions(client, template_id) == [1]

    first = deliver(hooks, name, template_id, secret, tag="1.1.0", commit=commit)
    assert first.status_code == 202, first.text
    job = client.get(f"/api/templates/imports/{first.json['import_id']}").json
    assert (job["status"], job["trigger"], job["version"], job["tag"]) == (
        "completed",
        "webhook",
        2,
        "1.1.0",
    ), job
    assert version_file(client, template_id) == "1.1.0\n"

    replayed = deliver(hooks, name, template_id, secret, tag="1.1.0", commit=commit)
    assert (replayed.status_code, replayed.json["queued"]) == (200, False)
    assert versions(client, template_id) == [1, 2]
    branch = deliver(hooks, name, template_id, secret, tag="nightly", commit=commit)
    assert branch.json == {
        "queued": False,
        "import_id": None,
        "reason": "'nightly' is not a release version",
    }


def test_a_webhook_for_a_template_that_does_not_follow_or_is_unknown(client, forge, hooks):
    who = signed_in(client, forge)
    path = repository(forge, who.login)
    template_id = import_repository(client, source=f"gh:{path}").json["template_id"]
    unknown = deliver(hooks, "github", str(uuid.uuid4()), "x", tag="1.1.0", commit="0" * 40)
    assert unknown.status_code == 404
    secret = followed(client, template_id, "github")
    assert (
        client.post(f"/api/templates/{template_id}/follow", json={"following": False}).json[
            "webhooks"
        ]
        == []
    )
    stopped = deliver(hooks, "github", template_id, secret, tag="1.1.0", commit="0" * 40)
    assert stopped.json["queued"] is False
    unsigned = deliver(hooks, "gitlab", template_id, "", tag="1.1.0", commit="0" * 40)
    assert (unsigned.status_code, unsigned.json["code"]) == (400, "invalid_signature")


def following(client: Any, forge: StandinForge, *, db: Any, settings: WebSettings,
              launchpad: Launchpad, clock: Any) -> tuple[str, str, WorkerContext]:
    """A signed-in person's template imported from their repository and following it:
    (the repository's path, the template's id, a worker's context that polls it)."""
    who = signed_in(client, forge)
    path = repository(forge, who.login)
    template_id = import_repository(client, source=f"gh:{path}").json["template_id"]
    followed(client, template_id, "github")
    ctx = WorkerContext.from_settings(
        attrs.evolve(settings, forges=forge_settings(forge.url, KEY)),
        session_factory=db.session_factory, launchpad=launchpad, clock=clock)
    return path, template_id, ctx


def test_a_pushed_tag_becomes_a_version_by_the_poll(
    client, forge, hooks, *, db, settings, launchpad, clock
):
    path, template_id, ctx = following(client, forge, db=db, settings=settings,
                                       launchpad=launchpad, clock=clock)
    queued: list[uuid.UUID] = []
    assert sweep(ctx, [].append, [].append, queued.append).polled == ()  # nothing new
    commit = forge.commit(path, copier_files("1.2.0"), tag="1.2.0")
    assert sweep(ctx, [].append, [].append, queued.append).polled == ()  # not due yet
    clock.advance(seconds=settings.jobs.follow_poll.total_seconds() + 1)
    report = sweep(ctx, [].append, [].append, queued.append)
    assert report.polled == tuple(queued) and len(queued) == 1
    job = client.get(f"/api/templates/imports/{queued[0]}").json
    assert (job["status"], job["trigger"]) == ("pending", "poll")
    # the webhook for the same tag, arriving late, makes no second job
    secret = client.get(f"/api/templates/{template_id}/source").json["webhooks"][0]["secret"]
    late = deliver(hooks, "github", template_id, secret, tag="1.2.0", commit=commit)
    assert late.json["queued"] is False
    ctx_queue_run(ctx, queued[0])
    job = client.get(f"/api/templates/imports/{queued[0]}").json
    assert (job["status"], job["version"]) == ("completed", 2), job
    clock.advance(seconds=settings.jobs.follow_poll.total_seconds() + 1)
    assert sweep(ctx, [].append, [].append, queued.append).polled == ()


def test_a_repository_that_cannot_be_read_is_polled_less_and_says_why(
    client, forge, hooks, *, db, settings, launchpad, clock
):
    path, template_id, ctx = following(client, forge, db=db, settings=settings,
                                       launchpad=launchpad, clock=clock)
    period = settings.jobs.follow_poll.total_seconds()
    gone = forge.repositories.pop(path)  # deleted (or made invisible) at the forge

    def poll_after(seconds: float) -> dict:
        clock.advance(seconds=seconds)
        sweep(ctx, [].append, [].append, [].append)
        return client.get(f"/api/templates/{template_id}/source").json

    source = poll_after(0)
    assert source["poll_failures"] == 1 and source["poll_error"], source
    assert poll_after(period + 1)["poll_failures"] == 2  # then twice as long
    assert poll_after(period + 1)["poll_failures"] == 2  # not yet
    assert poll_after(period)["poll_failures"] == 3
    page = client.get(f"/templates/{template_id}/edit").text
    assert "failed 3 times in a row: no GitHub repository" in page
    forge.repositories[path] = gone
    clock.advance(seconds=4 * period + 1)  # (the session has expired by then)
    sweep(ctx, [].append, [].append, [].append)
    with db.session() as session:
        row = session.get(TemplateSource, uuid.UUID(template_id), populate_existing=True)
        assert (row.poll_failures, row.poll_error, row.poll_after) == (0, None, None)


def ctx_queue_run(ctx: WorkerContext, import_id: uuid.UUID) -> None:
    from launchpad_worker.importing import ImportRunner

    ImportRunner(ctx, lambda *_: None).run(str(import_id))


def test_a_private_import_asks_for_repository_access_first(client, forge):
    who = signed_in(client, forge, repositories=False)
    path = repository(forge, who.login)
    refused = import_repository(client, source=f"{forge.url}/{path}.git", forge="github")
    assert (refused.status_code, refused.json["code"], refused.json["field"]) == (
        409, "forge_access_needed", "$.forge")
    page = client.get("/templates/import").text
    assert "Allow GitHub repositories" in page and '<option value="github"' not in page
    allow = client.get(at_forge(allow_repositories(client, "github", back="/templates/import")))
    assert allow.headers["location"] == "/templates/import"
    assert '<option value="github"' in client.get("/templates/import").text
    job = import_repository(client, source=f"{forge.url}/{path}.git", forge="github").json
    assert job["status"] == "completed", job


def test_a_revoked_token_fails_the_import_clearly_and_shows_as_revoked(client, forge):
    who = signed_in(client, forge)
    path = repository(forge, who.login)
    template_id = import_repository(client, source=f"gh:{path}").json["template_id"]
    forge.revoke(who.login)
    job = client.post(f"/api/templates/{template_id}/reimport", json={}).json
    assert job["status"] == "failed"
    assert "GitHub no longer accepts LaunchPad's access: link GitHub again" in job["error"]
    links = client.get("/api/me/forges").json
    assert [link["token"] for link in links] == ["revoked"]
    refused = import_repository(client, source=f"gh:{path}")
    assert (refused.status_code, refused.json["code"], refused.json["field"]) == (
        409,
        "forge_token_revoked",
        "$.forge",
    )


def test_only_who_may_change_the_template_reimports_or_follows(client, forge, new_client, signup):
    who = signed_in(client, forge)
    path = repository(forge, who.login)
    job = import_repository(client, source=f"gh:{path}").json
    template_id = job["template_id"]
    other = new_client()
    signup(other)
    for method, url, body in (
        ("post", f"/api/templates/{template_id}/reimport", {}),
        ("post", f"/api/templates/{template_id}/follow", {"following": True}),
        ("get", f"/api/templates/{template_id}/source", None),
        ("get", f"/api/templates/imports/{job['id']}", None),
    ):
        answer = getattr(other, method)(url, **({"json": body} if body is not None else {}))
        assert answer.status_code == 404, (url, answer.text)
    assert client.get(f"/api/templates/{template_id}/source").json["following"] is False


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"source": "file:///etc"}, "invalid_source", "$.source"),
        ({"source": "git@github.com:a/b.git"}, "invalid_source", "$.source"),
        ({"source": "/srv/repositories/x"}, "invalid_source", "$.source"),
        ({"source": "https://user:pw@example.org/a/b.git"}, "invalid_source", "$.source"),
        ({"source": "gh:just-a-name"}, "invalid_source", "$.source"),
        ({"source": "gh:a/b", "forge": "gitlab"}, "invalid_source", "$.forge"),
        (
            {"source": "https://example.org/a/b.git", "ref": "--upload-pack=x"},
            "invalid_ref",
            "$.ref",
        ),
        (
            {"source": "https://example.org/a/b.git", "format": "maven"},
            "invalid_format",
            "$.format",
        ),
        ({"source": "https://example.org/a/b.git", "forge": "gitea"}, "unknown_forge", "$.forge"),
        (
            {"source": "https://example.org/a/b.git", "forge": "github"},
            "forge_not_linked",
            "$.forge",
        ),
        ({"source": "https://example.org/a/b.git", "extra": 1}, "invalid_request", None),
        ({"source": "https://example.org/a/b.git", "name": " "}, "invalid_name", "$.name"),
        ({"source": "https://example.org/a/b.git", "name": "x" * 201}, "invalid_name", "$.name"),
        ({"source": "https://example.org/" + "a" * 1100}, "invalid_source", "$.source"),
    ],
)
def test_bad_imports_are_refused_before_a_job_exists(client, signup, body, code, field):
    signup(client)
    refused = import_repository(client, **body)
    assert refused.json["code"] == code or any(
        e["code"] == code for e in refused.json.get("errors", [])
    ), refused.text
    assert refused.status_code in (404, 409, 422)
    if field is not None:
        assert refused.json["field"] == field


def test_a_reimport_of_a_template_that_was_not_imported_says_so(client, signup):
    signup(client)
    created = client.post(
        "/api/templates",
        json={
            "name": "Hand made",
            "definition": {
                "name": "hand",
                "variables": [],
                "files": [{"path": "a.txt", "content": "a"}],
            },
        },
    )
    assert created.status_code == 201, created.text
    answer = client.post(f"/api/templates/{created.json['id']}/reimport", json={})
    assert (answer.status_code, answer.json["code"]) == (404, "no_source")


def test_the_fetch_stops_at_its_size_and_time_limits(forge, tmp_path: Path):
    path = f"someone/big-{uuid.uuid4().hex[:6]}"
    forge.add_repository(
        *path.split("/"), {"big.txt": os.urandom(100_000).hex()}, private=False, tag="1.0.0"
    )
    url = f"{forge.url}/{path}.git"
    found = target(remote_refs(tmp_path, url, None, seconds=30), None)
    assert found.tag == "1.0.0"
    (tmp_path / "a").mkdir()
    with pytest.raises(FetchLimitError, match="larger than"):
        fetch_zip(tmp_path / "a", url, found, None, limits=FetchLimits(max_bytes=50_000))
    (tmp_path / "b").mkdir()
    assert fetch_zip(tmp_path / "b", url, found, None, limits=FetchLimits())[:2] == b"PK"


def test_the_addresses_checked_are_the_ones_git_connects_to(forge, tmp_path, monkeypatch):
    """One lookup: a name that answers a public address to the check reaches only that
    address (git is pinned to it), whatever it would answer git later (DNS rebinding)."""
    lookups = []

    def public_then_private(host, *args, **kwargs):
        lookups.append(host)
        ip = "93.184.216.34" if len(lookups) == 1 else "127.0.0.1"
        return [(2, 1, 6, "", (ip, 0))]

    monkeypatch.setattr(git_fetch.socket, "getaddrinfo", public_then_private)
    checked = check_host("https://templates.example.com/a/b.git", ())
    assert (checked.refused, checked.resolve) == (None, "templates.example.com:443:93.184.216.34")
    assert lookups == ["templates.example.com"]
    assert check_host("http://intranet.example.com:8080/a.git", ()).refused == (
        "intranet.example.com is on a private network (127.0.0.1): templates are imported "
        "from public addresses, or through a linked forge")
    assert check_host("http://intranet.example.com/a.git", ("intranet.example.com",)) == \
        git_fetch.HostCheck()  # allowed: neither refused nor pinned
    monkeypatch.undo()

    # git honours the pin: a name that resolves nowhere reaches the stand-in through it
    # (whose OAuth library accepts plain HTTP from loopback names only)
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    path = repository(forge, "someone", private=False)
    port = forge.url.rsplit(":", 1)[1].split("/", 1)[0]
    url = f"http://pinned.invalid:{port}/{path}.git"
    pinned = f"pinned.invalid:{port}:127.0.0.1"
    assert target(remote_refs(tmp_path, url, None, seconds=30, resolve=pinned), None).commit
    with pytest.raises(git_fetch.GitPushError):
        remote_refs(tmp_path, url, None, seconds=30)  # unpinned, the name resolves nowhere


def test_the_fetch_limits_are_settings(forge, make_app, settings, new_client, signup):
    path = f"someone/big-{uuid.uuid4().hex[:6]}"
    forge.add_repository(
        *path.split("/"), {"big.txt": os.urandom(2 * MIB).hex()}, private=False, tag="1.0.0"
    )
    small = attrs.evolve(settings.jobs, immediate=True, private_repository_hosts=("127.0.0.1",),
                         import_max_bytes=MIB)
    client = new_client(make_app(forges=forge_settings(forge.url, KEY), jobs=small))
    signup(client)
    job = import_repository(client, source=f"{forge.url}/{path}.git").json
    assert job["status"] == "failed" and "larger than 1,048,576 bytes" in job["error"], job
    read = WebSettings.from_env({"LAUNCHPAD_DATA_DIR": "/data", "LAUNCHPAD_IMPORT_MAX_MB": "3",
                                 "LAUNCHPAD_IMPORT_SECONDS": "30"}).jobs
    assert (read.import_max_bytes, read.import_time) == (3 * MIB, timedelta(seconds=30))


def test_a_forge_that_is_down_is_retried_then_fails_saying_so(client, forge):
    who = signed_in(client, forge)
    path = repository(forge, who.login)
    forge.down = True
    job = import_repository(client, source=f"gh:{path}").json
    assert job["status"] == "failed" and job["attempts"] == 3, job
    assert "tried 3 times" in job["error"]
    assert [s["step"] for s in job["log"]].count("retrying") == 2


def test_sweeper_retries_an_abandoned_import(client, forge, *, db, settings, launchpad, clock):
    from launchpad_web.jobs.models import JobStatus
    from launchpad_web.sources.models import ImportJob

    who = signed_in(client, forge)
    ctx = WorkerContext.from_settings(
        settings, session_factory=db.session_factory, launchpad=launchpad, clock=clock
    )
    with db.session() as session:
        row = ImportJob(
            user_id=uuid.UUID(client.get("/api/me").json["id"]),
            spec=f"gh:{who.login}/x",
            trigger="create",
            status=JobStatus.PROCESSING,
            attempts=1,
            lease_owner="gone/1/x",
            lease_expires_at=clock() - timedelta(seconds=1),
            log=[],
        )
        session.add(row)
        session.commit()
        import_id = row.id
    queued: list[uuid.UUID] = []
    assert sweep(ctx, [].append, [].append, queued.append).retried == (import_id,)
    assert queued == [import_id]


def test_the_import_page_imports_and_the_builder_offers_reimport_and_follow(client, forge):
    who = signed_in(client, forge)
    path = repository(forge, who.login)
    page = client.get("/templates/import")
    assert page.status_code == 200 and 'name="source"' in page.text
    assert f"GitHub ({who.login})" in page.text  # the linked account to read it through
    assert "/templates/import" in client.get("/dashboard").text
    token = form_token(client, "/templates/import")
    refused = post_form(
        client, "/templates/import", {"csrf_token": token, "source": "file:///etc/passwd"}
    )
    assert refused.status_code == 422 and 'id="source-error"' in refused.text
    posted = post_form(
        client,
        "/templates/import",
        {"csrf_token": token, "source": f"gh:{path}", "format": "copier", "name": "From a repo"},
    )
    assert posted.status_code == 303, posted.text
    shown = client.get(posted.headers["Location"])
    assert "Version 1 from commit" in shown.text and 'data-live="false"' in shown.text
    template_id = shown.text.split('href="/templates/', 1)[1].split("/edit", 1)[0]
    builder = client.get(f"/templates/{template_id}/edit").text
    assert f"gh:{path}" in builder and "Re-import" in builder and "Follow the repository" in builder
    followed_form = post_form(
        client, f"/templates/{template_id}/follow", {"csrf_token": token, "following": "true"}
    )
    assert followed_form.status_code == 303
    builder = client.get(f"/templates/{template_id}/edit").text
    assert "Stop following" in builder
    assert f"/api/webhooks/github/templates/{template_id}" in builder
    again = post_form(client, f"/templates/{template_id}/reimport", {"csrf_token": token})
    assert again.status_code == 303
    assert "No new version" in client.get(again.headers["Location"]).text
    forged = post_form(client, f"/templates/{template_id}/reimport", {"csrf_token": "x"})
    assert forged.status_code == 403


def test_a_team_template_is_imported_its_members_read_its_source_without_the_secret(
    forge, new_client, signup, db
):
    from launchpad_web.billing.models import Plan

    from .conftest import join_team, people

    make = people(new_client, signup, db)
    owner, member = make(plan=Plan.TEAM), make()
    team = owner.post("/api/teams", {"name": "Makers"}).json
    join_team(owner, team["id"], member, "member")
    path = repository(forge, "someone", private=False)
    job = owner.post(
        "/api/templates/imports", {"source": f"{forge.url}/{path}.git", "team_id": team["id"]}
    ).json
    assert job["status"] == "completed", job
    template_id = job["template_id"]
    assert member.get(f"/api/templates/{template_id}").json["team_id"] == team["id"]
    owner.post(f"/api/templates/{template_id}/follow", {"following": True})
    assert owner.get(f"/api/templates/{template_id}/source").json["webhooks"][0]["secret"]
    seen = member.get(f"/api/templates/{template_id}/source").json
    assert seen["following"] is True and {h["secret"] for h in seen["webhooks"]} == {None}
    for url, body in (
        (f"/api/templates/{template_id}/reimport", {}),
        (f"/api/templates/{template_id}/follow", {"following": False}),
    ):
        refused = member.post(url, body)
        assert (refused.status_code, refused.json["code"]) == (403, "forbidden"), url
    outsider = make()
    refused = outsider.post(
        "/api/templates/imports", {"source": f"{forge.url}/{path}.git", "team_id": team["id"]}
    )
    assert (refused.status_code, refused.json["field"]) == (404, "$.team_id")


def test_an_attempt_after_a_crash_finds_the_template_it_made_and_makes_no_other(
    client, forge, *, db, settings, launchpad, clock
):
    from launchpad_web.jobs.models import JobStatus
    from launchpad_web.sources.models import ImportJob

    who = signed_in(client, forge)
    path = repository(forge, who.login)
    made = import_repository(client, source=f"gh:{path}").json
    ctx = WorkerContext.from_settings(
        attrs.evolve(settings, forges=forge_settings(forge.url, KEY)),
        session_factory=db.session_factory,
        launchpad=launchpad,
        clock=clock,
    )
    with db.session() as session:  # its first attempt committed the template, then died
        row = ImportJob(
            user_id=uuid.UUID(client.get("/api/me").json["id"]),
            spec=f"gh:{path}",
            forge="github",
            trigger="create",
            status=JobStatus.PENDING,
            attempts=1,
            log=[],
            result_template_id=uuid.UUID(made["template_id"]),
            version=1,
        )
        session.add(row)
        session.commit()
        import_id = row.id
    ctx_queue_run(ctx, import_id)
    job = client.get(f"/api/templates/imports/{import_id}").json
    assert (job["status"], job["template_id"], job["version"], job["unchanged"]) == (
        "completed",
        made["template_id"],
        1,
        False,
    ), job
    assert client.get("/api/templates").json["total"] == 1


@pytest.mark.parametrize(
    "address",
    ["http://localhost:9/a/b.git", "http://169.254.169.254/latest/x.git", "http://10.1.2.3/a/b"],
)
def test_addresses_on_a_private_network_are_refused_unless_allowed(
    client, signup, make_app, forge, *, settings, new_client, address
):
    signup(client)
    job = import_repository(client, source=address).json
    assert job["status"] == "failed" and "is on a private network" in job["error"], job
    assert job["attempts"] == 1  # never retried, nothing fetched
    path = repository(forge, "someone", private=False)
    closed = new_client(make_app(jobs=attrs.evolve(settings.jobs, immediate=True)))
    signup(closed)
    refused = import_repository(closed, source=f"{forge.url}/{path}.git").json
    assert "127.0.0.1 is on a private network" in refused["error"]


def test_an_import_over_the_plans_template_limit_is_refused_before_a_job(client, signup):
    signup(client)
    definition = {"name": "t", "variables": [], "files": [{"path": "a", "content": "a"}]}
    for number in range(3):  # the Free plan's private templates
        made = client.post("/api/templates", json={"name": f"t{number}", "definition": definition})
        assert made.status_code == 201, made.text
    refused = import_repository(client, source="https://example.org/a/b.git")
    assert (refused.status_code, refused.json["code"]) == (402, "quota_exceeded")


def test_a_cookiecutter_repository_is_detected_and_its_hooks_are_not_run(client, signup, forge):
    signup(client)
    path = f"someone/cc-{uuid.uuid4().hex[:6]}"
    forge.add_repository(
        *path.split("/"),
        {
            "cookiecutter.json": '{"project_name": "demo"}\n',
            "{{cookiecutter.project_name}}/README.md": "# {{ cookiecutter.project_name }}\n",
            "hooks/post_gen_project.py": "raise SystemExit('ran')\n",
        },
        private=False,
        tag="0.1.0",
    )
    job = import_repository(client, source=f"{forge.url}/{path}.git").json
    assert (job["status"], job["format"]) == ("completed", None), job
    source = client.get(f"/api/templates/{job['template_id']}/source").json
    assert source["format"] == "cookiecutter"
    template = client.get(f"/api/templates/{job['template_id']}").json
    assert template["skipped_tasks"], template  # the hook is listed, never run
