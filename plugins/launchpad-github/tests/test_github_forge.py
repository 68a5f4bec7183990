"""The GitHub forge: its endpoints from settings, and its REST calls against a small
loopback server answering GitHub's shapes (the whole sign-in flow is tested in
LaunchPad's tests/web/test_forges.py against the stand-in forge)."""

from __future__ import annotations

import json
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from launchpad_core.plugins.forges import ForgeTokenRevokedError, ForgeUnavailableError

from launchpad_github.forge import GitHub
from launchpad_github.plugin import launchpad_forges

ROOT = Path(__file__).parents[1]


def test_the_package_registers_the_plugin_under_github() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["entry-points"]["launchpad"] == {"github": "launchpad_github.plugin"}


def test_without_a_client_id_there_is_no_forge() -> None:
    assert launchpad_forges(settings={}) == []
    assert launchpad_forges(settings={"github": {"client_secret": "s"}}) == []


def test_github_com_by_default_and_enterprise_by_settings() -> None:
    (forge,) = launchpad_forges(settings={"github": {"client_id": "c", "client_secret": "s"}})
    assert forge.oauth.authorize_url == "https://github.com/login/oauth/authorize"
    assert forge.oauth.token_url == "https://github.com/login/oauth/access_token"
    assert forge.api_url == "https://api.github.com"
    assert forge.oauth.scopes == ("read:user", "user:email")  # signing in: no repositories
    assert forge.oauth.repository_scopes == ("repo",)  # asked for when first needed
    enterprise = GitHub.from_settings({"client_id": "c", "url": "https://ghe.example/",
                                       "api_url": "https://ghe.example/api/v3",
                                       "scopes": "read:user user:email repo",
                                       "repository_scopes": "repo workflow"})
    assert enterprise.oauth.authorize_url == "https://ghe.example/login/oauth/authorize"
    assert enterprise.api_url == "https://ghe.example/api/v3"
    assert "repo" in enterprise.oauth.scopes
    assert enterprise.oauth.repository_scopes == ("repo", "workflow")
    assert "'s'" not in repr(forge)


@pytest.fixture
def api() -> Iterator[tuple[str, dict[str, Any]]]:
    """A loopback server answering ``answers[path] = (status, body)``, and those answers."""
    answers: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = answers[self.path]
            if self.headers["Authorization"] != "Bearer tok":
                status, body = 401, {"message": "Bad credentials"}
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", answers
    server.shutdown()
    server.server_close()


def test_the_user_with_the_verified_emails(api: tuple[str, dict[str, Any]]) -> None:
    url, answers = api
    answers["/user"] = (200, {"id": 42, "login": "ann", "name": None})
    answers["/user/emails"] = (200, [
        {"email": "old@x.org", "verified": True, "primary": False},
        {"email": "ann@x.org", "verified": True, "primary": True},
        {"email": "typo@x.org", "verified": False, "primary": False}])
    user = GitHub.from_settings({"client_id": "c", "api_url": url}).user("tok")
    assert (user.id, user.login) == ("42", "ann")
    assert user.verified_emails == ("ann@x.org", "old@x.org")


def test_a_refused_token_and_a_broken_answer(api: tuple[str, dict[str, Any]]) -> None:
    url, answers = api
    forge = GitHub.from_settings({"client_id": "c", "api_url": url})
    answers["/user"] = (200, {"id": 42, "login": "ann"})
    with pytest.raises(ForgeTokenRevokedError, match="no longer accepts"):
        forge.user("other")
    answers["/user"] = (200, b"<html>")
    with pytest.raises(ForgeUnavailableError, match="not JSON"):
        forge.user("tok")
    answers["/user"] = (200, {"login": "ann"})
    answers["/user/emails"] = (200, [])
    with pytest.raises(ForgeUnavailableError, match="without an id"):
        forge.user("tok")
    answers["/user"] = (502, {"message": "down"})
    with pytest.raises(ForgeUnavailableError, match="answered 502"):
        forge.user("tok")


def _signed(secret: str, body: bytes) -> str:
    import hashlib
    import hmac

    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_webhook_is_verified_by_its_hmac_then_names_the_tag_pushed() -> None:
    from launchpad_core.plugins.forges import ForgeWebhookPayloadError, ForgeWebhookSignatureError

    forge = GitHub.from_settings({"client_id": "c"})
    push = json.dumps({"ref": "refs/tags/v1.2.0", "after": "a" * 40}).encode()
    headers = {"x-github-event": "push", "x-github-delivery": "d-1",
               "x-hub-signature-256": _signed("s3cret", push)}
    found = forge.webhook_tag(headers, push, "s3cret")
    assert (found.tag, found.delivery) == ("v1.2.0", "d-1")
    for wrong in ({**headers, "x-hub-signature-256": _signed("other", push)},
                  {**headers, "x-hub-signature-256": "sha256=" + "0" * 64},
                  {k: v for k, v in headers.items() if k != "x-hub-signature-256"}):
        with pytest.raises(ForgeWebhookSignatureError):
            forge.webhook_tag(wrong, push, "s3cret")
    with pytest.raises(ForgeWebhookSignatureError):  # the body changed under its signature
        forge.webhook_tag(headers, push + b" ", "s3cret")
    create = json.dumps({"ref_type": "tag", "ref": "2.0"}).encode()
    assert forge.webhook_tag({"x-github-event": "create",
                              "x-hub-signature-256": _signed("s", create)}, create, "s").tag \
        == "2.0"
    for event, body in (("push", {"ref": "refs/heads/main", "after": "a" * 40}),
                        ("push", {"ref": "refs/tags/v1", "after": "0" * 40}),  # deleted
                        ("create", {"ref_type": "branch", "ref": "x"}), ("ping", {})):
        data = json.dumps(body).encode()
        assert forge.webhook_tag({"x-github-event": event,
                                  "x-hub-signature-256": _signed("s", data)}, data, "s") is None
    bad = b"[1]"
    with pytest.raises(ForgeWebhookPayloadError):
        forge.webhook_tag({"x-github-event": "push", "x-hub-signature-256": _signed("s", bad)},
                          bad, "s")
