"""Oversized bodies through a real waitress server as ``launchpad serve`` makes it: the
API answers a problem document, never waitress's text/plain page."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import attrs
import pytest

from launchpad_web.settings import SERVER_BODY_HEADROOM

LIMIT = 2048


@pytest.fixture
def base(make_app: Any, settings: Any, serve: Any) -> str:
    options = attrs.evolve(settings, max_body_bytes=LIMIT).server_options()
    return serve(make_app(max_body_bytes=LIMIT), **options)


def _send(base: str, path: str, body: bytes, *, chunked: bool = False,
          content_length: int | None = None) -> tuple[int, str, bytes]:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("POST", path)
        connection.putheader("Content-Type", "application/json")
        if chunked:
            connection.putheader("Transfer-Encoding", "chunked")
        else:
            connection.putheader("Content-Length", str(content_length or len(body)))
        connection.endheaders()
        try:
            if chunked:
                for start in range(0, len(body), 1000):
                    piece = body[start:start + 1000]
                    connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                connection.send(b"0\r\n\r\n")
            else:
                connection.send(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the whole body was sent: the answer is still there
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read()
    finally:
        connection.close()


def _body(size: int) -> bytes:
    body = json.dumps({"email": "a@example.org", "password": "p" * size}).encode()
    assert len(body) > size
    return body


def _assert_problem(status: int, content_type: str, body: bytes) -> dict[str, Any]:
    assert status == 413
    assert content_type == "application/problem+json"
    doc = json.loads(body)
    assert doc["code"] == "payload_too_large" and doc["status"] == 413
    assert "field" not in doc
    return doc


def test_a_body_announced_over_the_limit_is_the_apps_problem_document(base):
    doc = _assert_problem(*_send(base, "/api/auth/signup", _body(LIMIT)))
    assert doc["detail"] == f"at most {LIMIT} bytes are accepted"  # the app's own words


def test_a_chunked_body_over_the_limit_is_the_apps_problem_document(base):
    doc = _assert_problem(*_send(base, "/api/auth/signup", _body(LIMIT), chunked=True))
    assert doc["detail"] == f"at most {LIMIT} bytes are accepted"


def test_a_body_under_the_limit_still_reaches_the_api(base):
    status, content_type, _ = _send(base, "/api/auth/signup", _body(20))
    assert status == 201 and content_type == "application/json"


def test_past_the_servers_own_limit_the_refusal_is_still_a_problem_document(base):
    """waitress refuses it from the announced length without reading it; the answer
    is a problem document all the same."""
    huge = LIMIT + SERVER_BODY_HEADROOM + 1
    doc = _assert_problem(*_send(base, "/api/auth/signup", b"{}", content_length=huge))
    assert doc["detail"] == "the request body is larger than the service accepts"


def test_a_chunked_body_past_the_servers_limit_is_a_problem_document(base):
    _assert_problem(*_send(base, "/api/auth/signup", _body(LIMIT + SERVER_BODY_HEADROOM),
                           chunked=True))


def test_waitress_is_told_a_limit_above_the_services(settings):
    assert settings.server_options()["max_request_body_size"] == (
        settings.max_body_bytes + SERVER_BODY_HEADROOM)
