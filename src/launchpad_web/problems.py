"""Every error becomes an RFC 9457 problem document here, in one place.

``install_error_handlers(app)`` registers handlers for our :class:`ApiError`
tree, for the core's :class:`ProblemsError` (422 with every problem and its JSON
path), for Falcon's own HTTP errors (unknown route, wrong method ...), for a value the
database refuses (``sqlalchemy.exc.DataError``: 422 ``unstorable_value``) and a
catch-all that logs the exception and answers a bare 500: no stack trace or
server path ever reaches a client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

import falcon
import sqlalchemy as sa

from launchpad_core.errors import ProblemsError

from .errors import ApiError, FieldError, UnstorableValueError, ValidationFailedError

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:launchpad:problem:"

log = logging.getLogger("launchpad_web.errors")

FALCON_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    411: "length_required",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def problem_document(
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    field: str | None = None,
    errors: Iterable[FieldError] = (),
    **extra: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": TYPE_PREFIX + code, "title": title, "status": status,
                           "code": code}
    if detail:
        doc["detail"] = detail
    if field:
        doc["field"] = field
    errors = list(errors)
    if errors:
        doc["errors"] = [{"code": e.code, "message": e.message, "field": e.field} for e in errors]
    doc.update(extra)
    return doc


def write_problem(resp: falcon.Response, doc: Mapping[str, Any],
                  headers: Mapping[str, str] | None = None) -> None:
    resp.status = doc["status"]
    resp.content_type = MEDIA_TYPE
    resp.data = json.dumps(doc).encode()
    if headers:
        resp.set_headers(headers)


def _single_field(errors: tuple[FieldError, ...], field: str | None) -> str | None:
    if field is None and len(errors) == 1:
        return errors[0].field
    return field


def handle_api_error(req: falcon.Request, resp: falcon.Response, ex: ApiError,
                     _params: Any) -> None:
    source = {"source": ex.source} if ex.source else {}
    doc = problem_document(status=ex.status, code=ex.code, title=ex.title, detail=ex.detail,
                           field=_single_field(ex.errors, ex.field), errors=ex.errors, **source)
    write_problem(resp, doc, ex.headers)


def handle_core_problems(req: falcon.Request, resp: falcon.Response, ex: ProblemsError,
                         _params: Any) -> None:
    error = ValidationFailedError.from_problems(ex.problems)
    doc = problem_document(status=422, code=ex.code, title=ex.message, errors=error.errors,
                           field=_single_field(error.errors, None))
    write_problem(resp, doc)


def handle_http_error(req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError,
                      _params: Any) -> None:
    status = ex.status_code
    code = FALCON_CODES.get(status, _slug(HTTPStatus(status).phrase))
    doc = problem_document(status=status, code=code, title=HTTPStatus(status).phrase,
                           detail=ex.description)
    write_problem(resp, doc, ex.headers)


def handle_data_error(req: falcon.Request, resp: falcon.Response, ex: sa.exc.DataError,
                      _params: Any) -> None:
    """A value the database refuses (a number out of its column's range, text it cannot
    encode) that no check caught: the request is at fault, so 422; logged, to add the
    missing check. The ``DbSession`` middleware rolls the transaction back."""
    log.warning("the database refused a value: %s", type(ex.orig).__name__,
                extra={"request_id": req.context.get("request_id"), "method": req.method,
                       "path": req.path})
    error = UnstorableValueError(
        "a value of the request is out of range or holds characters that cannot be stored")
    write_problem(resp, problem_document(status=error.status, code=error.code,
                                         title=error.title, detail=error.detail))


def handle_unexpected(req: falcon.Request, resp: falcon.Response, ex: Exception,
                      _params: Any) -> None:
    request_id = req.context.get("request_id")
    log.error("unhandled exception", exc_info=ex,
              extra={"request_id": request_id, "method": req.method, "path": req.path})
    doc = problem_document(status=500, code="internal_error", title="Internal server error",
                           detail="Something went wrong on our side; it has been logged.",
                           request_id=request_id)
    write_problem(resp, doc)


def _slug(text: str) -> str:
    return "_".join(text.lower().replace("-", " ").split())


def install_error_handlers(app: falcon.App) -> None:
    """Falcon picks the most specific handler by the exception's MRO."""
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(falcon.HTTPError, handle_http_error)
    app.add_error_handler(sa.exc.DataError, handle_data_error)
    app.add_error_handler(ProblemsError, handle_core_problems)
    app.add_error_handler(ApiError, handle_api_error)
