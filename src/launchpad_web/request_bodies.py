"""JSON in and out: request bodies read strictly, responses written so they cannot fail.

Reading has its own problem per step: 415 for another media type, 413 for too
many bytes (the :class:`~launchpad_web.middleware.BodyLimit` middleware refuses
an announced length; this read refuses what actually arrives), 400 for malformed
JSON, 422 ``invalid_request`` for values nothing here can hold (nesting deeper
than 64, integers outside signed 64 bits, NaN/Infinity, NUL characters, lone
surrogates: see :mod:`launchpad_core.model.strict_json`), each at its JSON path --
before anything is stored -- and 422 for wrong fields.

Writing (:func:`dump_json`, the app's JSON media handler) escapes a lone
surrogate that is already stored (``"\\ud800"``) instead of failing to encode it,
so an old row can never make a read answer 500.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import falcon

from launchpad_core.model.strict_json import JsonSyntaxError, JsonValueError, loads

from .converter import structure
from .errors import (
    InvalidJsonError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    ValidationFailedError,
)

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
    return parse_json(raw)


def parse_json(raw: bytes | str) -> Any:
    """``raw`` parsed strictly; 400 ``invalid_json`` or 422 ``invalid_request`` listing
    each refused value (``too_deep``, ``number_out_of_range``, ``non_finite_number``,
    ``invalid_character``, ``lone_surrogate``) at its JSON path."""
    try:
        return loads(raw)
    except JsonSyntaxError as exc:
        raise InvalidJsonError(exc.message) from None
    except JsonValueError as exc:
        raise ValidationFailedError.from_problems(exc.problems) from None


def dump_json(value: Any) -> bytes:
    """UTF-8 JSON; a lone surrogate becomes its ``\\udXXX`` escape (valid JSON, since
    one can only sit inside a string) instead of a UnicodeEncodeError."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "backslashreplace")


JSON_HANDLER = falcon.media.JSONHandler(dumps=dump_json)
