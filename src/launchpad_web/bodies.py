"""Reading JSON request bodies: media type, size, syntax, then structure into attrs classes.

Each step has its own problem: 415 for another media type, 413 for too many bytes
(the :class:`~launchpad_web.middleware.BodyLimit` middleware refuses an announced
length; this read refuses what actually arrives), 400 for malformed JSON, 422 for
wrong fields.
"""

from __future__ import annotations

import json
from typing import TypeVar

import falcon

from .converter import structure
from .errors import InvalidJsonError, PayloadTooLargeError, UnsupportedMediaTypeError

T = TypeVar("T")


def read_json(req: falcon.Request, cls: type[T]) -> T:
    return structure(read_json_value(req), cls)


def read_json_value(req: falcon.Request) -> object:
    media_type = (req.content_type or "").partition(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaTypeError(f"got {media_type or 'no Content-Type'}")
    limit = req.context.max_body_bytes
    raw = req.bounded_stream.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLargeError(f"at most {limit} bytes are accepted")
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidJsonError("the body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise InvalidJsonError(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
