"""The one boundary through which the API evaluates a user's template code.

Saving a definition (its Jinja compiled), checking the answers of a generation
(defaults, ``when``, ``pattern``, validators), previewing and importing an uploaded
template directory all run template code. None of it runs in a request thread or
in the API's address space: :class:`Evaluator` hands each call to an
:class:`~launchpad_core.isolation.children.IsolationPool` of pre-forked children with
hard CPU, memory and wall-clock limits (the functions they run are in
:mod:`launchpad_core.isolation.hosted`), and turns every outcome into HTTP in one place:

* the core's problems: 422 ``invalid_definition`` (at ``$.definition...``) or
  ``invalid_answers`` (at ``$.answers...``);
* a limit or a failure (``cpu_limit``, ``memory_limit``, ``timeout``,
  ``render_timeout``, ``limit_exceeded``, ``sandbox_violation``,
  ``unsafe_path``, ``crashed`` ...): 422 with that code, at the field the call
  concerns and the template ``source`` when known (a crash is logged, its
  details are not shown);
* the caller's account already evaluating ``per_user`` calls in this process:
  429 ``too_many_evaluations``; every slot busy for ``queue_seconds``: 503
  ``evaluators_busy``; both with ``Retry-After``.

Answers to questions holding no template code (no ``when`` expression,
validator, pattern or Jinja default) are only coerced by the variable types:
those are checked in the request thread, and nothing of the template runs.
Otherwise a request thread only waits for the child's answer. Callers end their database
transaction before calling (:func:`launchpad_web.db.end_transaction`), so no lock is
held across an evaluation.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import attrs
import falcon

from launchpad_core import Answers, Limits, Problem, RenderedFile, Template
from launchpad_core.errors import (
    AnswersError,
    DefinitionError,
    IsolationBusyError,
    IsolationError,
    LaunchpadError,
)
from launchpad_core.isolation import hosted as calls
from launchpad_core.isolation.children import MIB, IsolationLimits, IsolationPool, preload
from launchpad_core.render.rendering import SkippedFile

from .errors import (
    EvaluatorsBusyError,
    InvalidAnswersError,
    InvalidDefinitionError,
    RenderFailedError,
    TooManyEvaluationsError,
)
from .metrics import EVALUATION_SECONDS, EVALUATIONS

log = logging.getLogger("launchpad_web.evaluation")
T = TypeVar("T")

#: Checking a definition or answers: the core's limits in the child, and the child's.
CHECK_LIMITS = Limits(render_seconds=5.0)
#: Children run at niceness 10: under load the API's own threads get the CPU first.
CHECK_ISOLATION = IsolationLimits(cpu_seconds=5, memory_bytes=512 * MIB, wall_seconds=10.0,
                                  nice=10)
#: A preview renders at most this much: the files and bytes of one response.
PREVIEW_LIMITS = Limits(
    max_files=1000, max_file_bytes=1 * MIB, max_total_bytes=4 * MIB, render_seconds=10.0
)
PREVIEW_ISOLATION = IsolationLimits(cpu_seconds=10, memory_bytes=1024 * MIB, wall_seconds=20.0,
                                    nice=10)

#: An uploaded template directory unpacks to at most this much, in this many entries.
IMPORT_BYTES = 32 * MIB
IMPORT_FILES = 5000


@attrs.frozen
class EvaluationSettings:
    """The pool of one API process and the limits of each kind of call.

    ``slots`` calls run at once (each a child process under its limits),
    ``warm`` children wait forked in advance, one account runs at most
    ``per_user`` at once and one client address (:data:`CLIENT_ADDRESS`) at most
    ``per_address``, and a call waits at most ``queue_seconds`` for a slot.
    """

    slots: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    warm: int = attrs.field(default=2, validator=attrs.validators.ge(0))
    per_user: int = attrs.field(default=2, validator=attrs.validators.ge(1))
    #: One client address's calls at once (several accounts of one person): by default
    #: all slots but one, so one address never holds them all.
    per_address: int = attrs.field(
        default=attrs.Factory(lambda self: max(1, self.slots - 1), takes_self=True),
        validator=attrs.validators.ge(1))
    queue_seconds: float = attrs.field(default=5.0, validator=attrs.validators.ge(0))
    check: Limits = CHECK_LIMITS
    check_isolation: IsolationLimits = CHECK_ISOLATION
    preview: Limits = PREVIEW_LIMITS
    preview_isolation: IsolationLimits = PREVIEW_ISOLATION
    import_bytes: int = IMPORT_BYTES
    import_files: int = IMPORT_FILES


#: The address of the client whose request runs in this thread (set by
#: :class:`ClientAddress`), which the pool bounds across its accounts.
CLIENT_ADDRESS: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "launchpad_client_address", default=None)


class ClientAddress:
    """Middleware: the request's client address (``req.remote_addr``: behind a trusted
    proxy, the client's) is what its evaluations count against."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.address_token = CLIENT_ADDRESS.set(req.remote_addr)

    def process_response(self, req: falcon.Request, resp: falcon.Response, resource: Any,
                         req_succeeded: bool) -> None:
        token = req.context.get("address_token")
        if token is not None:
            CLIENT_ADDRESS.reset(token)


@functools.cache
def shared_pool(slots: int, warm: int, per_user: int, queue_seconds: float,
                per_address: int | None = None) -> IsolationPool:
    """One pool per process and shape: every app of a process (tests build many)
    shares its children and its per-account counts."""
    # launchpad_core.cli.main: under ``launchpad serve`` each child re-imports the script's
    # main module (multiprocessing does), which imports it.
    preload("launchpad_core.cli.main", calls.__name__, f"{__package__}.evaluation_warmup")
    return IsolationPool(warm=warm, slots=slots, per_owner=per_user, per_group=per_address,
                         queue_seconds=queue_seconds)


class Evaluator:
    """Every evaluation of template code the API makes (see the module doc)."""

    def __init__(self, settings: EvaluationSettings | None = None, *,
                 pool: IsolationPool | None = None):
        self.settings = settings = settings or EvaluationSettings()
        self.pool = pool or shared_pool(
            settings.slots, settings.warm, settings.per_user, settings.queue_seconds,
            settings.per_address,
        )

    def definition_problems(self, definition: Any, *, user_id: uuid.UUID) -> list[Problem]:
        """Every problem of a definition about to be saved (empty: it may be saved)."""
        with _answering(field="$.definition", kind="check"):
            return self._run(calls.definition_problems, definition, self.settings.check,
                             limits=self.settings.check_isolation, user_id=user_id)

    def answers(self, template: Template, given: Mapping[str, Any], *,
                user_id: uuid.UUID) -> Answers:
        """``given`` checked against ``template``: 422 ``invalid_answers`` lists each problem.
        Questions without template code (:func:`~launchpad_core.isolation.hosted.answers_run_code`)
        are checked here, without a child: nothing of the template runs."""
        with _answering(field="$.answers", kind="answers"):
            if not calls.answers_run_code(template):
                return calls.resolved_answers(template, dict(given), self.settings.check)
            return self._run(calls.resolved_answers, template, dict(given), self.settings.check,
                             limits=self.settings.check_isolation, user_id=user_id)

    def form(self, template: Template, given: Mapping[str, Any], *, as_text: bool,
             user_id: uuid.UUID) -> calls.FormState:
        """What a generate form shows for ``given``
        (:func:`~launchpad_core.isolation.hosted.form_state`)."""
        with _answering(field="$.answers", kind="form"):
            return self._run(calls.form_state, template, dict(given), as_text,
                             self.settings.check, limits=self.settings.check_isolation,
                             user_id=user_id)

    def preview(self, template: Template, given: Mapping[str, Any], *,
                user_id: uuid.UUID) -> tuple[list[RenderedFile], list[SkippedFile]]:
        """The files ``template`` renders with ``given``, in memory, and the files it
        leaves out with the reason."""
        with _answering(field=None, kind="preview"):
            return self._run(calls.previewed, template, dict(given), self.settings.preview,
                             limits=self.settings.preview_isolation, user_id=user_id)

    def imported(self, archive: bytes, format: str | None, *,
                 user_id: uuid.UUID) -> dict[str, Any]:
        """The definition of the template directory zipped in ``archive``
        (:func:`~launchpad_core.isolation.hosted.imported_definition`): unpacked and imported in a
        child, never here; 422 with the core's code (``load_error``, ``unsafe_path``,
        ``limit_exceeded``, ``untrusted_code``, ``invalid_definition`` ...)."""
        with _answering(field="$", kind="import"):
            return self._run(calls.imported_definition, archive, format,
                             self.settings.import_files, self.settings.import_bytes,
                             self.settings.check, limits=self.settings.check_isolation,
                             user_id=user_id)

    def _run(self, fn: Callable[..., T], *args: Any, limits: IsolationLimits,
             user_id: uuid.UUID) -> T:
        return self.pool.run(fn, *args, limits=limits, owner=user_id,
                             group=CLIENT_ADDRESS.get())


@contextmanager
def _answering(*, field: str | None, kind: str) -> Iterator[None]:
    """The one mapping from an evaluation's outcome to the API's problems (and to
    ``launchpad_evaluations_total``)."""
    started = time.perf_counter()
    outcome = "ok"
    try:
        yield
    except IsolationBusyError as exc:
        outcome = exc.code
        raise _busy(exc) from None
    except (AnswersError, DefinitionError) as exc:
        outcome = "invalid"
        raise _invalid(exc) from None
    except LaunchpadError as exc:
        outcome = exc.code or "failed"
        raise _failed(exc, field) from None
    finally:
        EVALUATIONS.labels(kind, outcome).inc()
        EVALUATION_SECONDS.labels(kind).observe(time.perf_counter() - started)


def _busy(exc: IsolationBusyError) -> Exception:
    if exc.code in ("owner_busy", "group_busy"):
        return TooManyEvaluationsError(exc.message, retry_after=exc.retry_after)
    return EvaluatorsBusyError(exc.message, retry_after=exc.retry_after)


def _invalid(exc: AnswersError | DefinitionError) -> Exception:
    if isinstance(exc, AnswersError):
        return InvalidAnswersError.from_problems(exc.problems, root="$.answers")
    return InvalidDefinitionError.from_problems(exc.problems, root="$.definition")


def _failed(exc: LaunchpadError, field: str | None) -> Exception:
    message = exc.message
    if isinstance(exc, IsolationError) and exc.code == "crashed":
        # what crashed (a plugin, our code) is for the log
        log.error("evaluation crashed: %s", exc, extra={"notes": getattr(exc, "__notes__", [])})
        message = "the evaluation failed; it has been logged"
    return RenderFailedError(message, code=exc.code, source=exc.source, field=field)
