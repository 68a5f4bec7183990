"""Cross-cutting request work: request ids and access logs, the body limit, a DB session.

Order in :func:`launchpad_web.app.create_app`: ``RequestLog`` first (so it sees the
final status), then ``BodyLimit``, ``DbSession``, the authenticator and the CSRF
guard (:mod:`launchpad_web.accounts.csrf`). Components
hold no per-request state; everything per request lives in ``req.context``.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from typing import Any

import falcon
from sqlalchemy.orm import sessionmaker

from .errors import PayloadTooLargeError

access_log = logging.getLogger("launchpad_web.access")

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,128}")


class RequestLog:
    """Gives every request an id (a sane incoming ``X-Request-ID`` or a new one),
    answers it in ``X-Request-ID`` and logs one JSON line per request."""

    def __init__(self) -> None:
        # New ids are 32 hex digits: a random half for the process, then a counter
        # (``next`` on it is atomic). No system call per request, as ``uuid4`` makes.
        self._process = os.urandom(8).hex()
        self._counter = itertools.count()

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        incoming = req.get_header("X-Request-ID") or ""
        req.context.request_id = (
            incoming if _REQUEST_ID.fullmatch(incoming)
            else f"{self._process}{next(self._counter):016x}")
        req.context.started = time.perf_counter()
        req.context.user = None
        resp.set_header("X-Request-ID", req.context.request_id)

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        user = req.context.get("user")
        # handle(makeRecord(...)) rather than info(): no walk up the stack for the
        # caller; the fields set directly rather than as ``extra``: no clash check.
        record = access_log.makeRecord(access_log.name, logging.INFO, __file__, 0, "request",
                                       (), None)
        record.__dict__.update(
            request_id=req.context.get("request_id"),
            user_id=str(user.id) if user else None,
            method=req.method,
            path=req.path,
            status=resp.status_code,
            duration_ms=round((time.perf_counter() - req.context.get("started", 0)) * 1000, 2),
        )
        access_log.handle(record)


class BodyLimit:
    """Refuses an announced body above the limit before anything reads it (413)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.max_body_bytes = self.max_bytes
        if (req.content_length or 0) > self.max_bytes:
            raise PayloadTooLargeError(f"at most {self.max_bytes} bytes are accepted")


class RequestContext(falcon.Context):
    """``req.context``, whose ``db`` session is made on first use: a request served
    from caches (a token, a cached template list) never builds one."""

    def __getattr__(self, name: str) -> Any:  # only for attributes not set yet
        if name == "db" and "session_factory" in self.__dict__:
            db = self.__dict__["db"] = self.__dict__["session_factory"]()
            return db
        raise AttributeError(name)


class LaunchpadRequest(falcon.Request):
    context_type = RequestContext


class DbSession:
    """One SQLAlchemy session per request in ``req.context.db``: committed when the
    request succeeded, rolled back otherwise, always closed. Services never commit.

    A responder whose writes must stand although it answers an error (a failed
    password check is recorded for login throttling) sets
    ``req.context.commit_on_error = True`` before calling the service.
    """

    def __init__(self, session_factory: sessionmaker):
        self.session_factory = session_factory

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.session_factory = self.session_factory  # opened by RequestContext.db

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        db = req.context.get("db")
        if db is None or not (db.in_transaction() or db.new or db.dirty or db.deleted):
            return  # never used: nothing to end (a request served from caches costs nothing)
        try:
            if req_succeeded or req.context.get("commit_on_error"):
                db.commit()
            else:
                db.rollback()
        finally:
            db.close()
