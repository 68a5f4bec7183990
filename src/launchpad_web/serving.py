"""waitress for the service: the app answers body limits itself, as problem documents.

waitress buffers a whole request body before the app sees it and refuses one above
its ``max_request_body_size`` with a ``text/plain`` page of its own. The service
sets that limit
:data:`~launchpad_web.settings.SERVER_BODY_HEADROOM` above ``LAUNCHPAD_MAX_BODY_BYTES``, so
a body over the service's limit reaches the app, whose
:class:`~launchpad_web.middleware.BodyLimit` (announced length) and body readers
(what actually arrives, chunked too) answer 413 ``payload_too_large`` as an RFC 9457
problem document. Past the headroom waitress stops reading, and :class:`ProblemChannel`
makes even its own refusals (400, 413, 431, 501, 500) problem documents.
"""

from __future__ import annotations

import json
from typing import Any

import waitress
from waitress.channel import HTTPChannel
from waitress.task import ErrorTask

from .problems import MEDIA_TYPE, problem_document

_CODES = {400: "bad_request", 413: "payload_too_large", 431: "headers_too_large",
          500: "internal_error", 501: "not_implemented"}


class ProblemErrorTask(ErrorTask):
    """waitress's refusal of a request it could not hand to the app, as a problem document."""

    def execute(self) -> None:
        error = self.request.error
        doc = problem_document(status=error.code, code=_CODES.get(error.code, "bad_request"),
                               title=error.reason)
        if error.code == 413:
            doc["detail"] = "the request body is larger than the service accepts"
        body = json.dumps(doc).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", MEDIA_TYPE))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class ProblemChannel(HTTPChannel):
    error_task_class = ProblemErrorTask


def create_server(app: Any, **options: Any) -> Any:
    """``waitress.create_server`` whose own error answers are problem documents."""
    server = waitress.create_server(app, **options)
    server.channel_class = ProblemChannel
    return server
