"""The one exception tree of launchpad_core.

Every error carries a stable ``code`` (used by the CLI and the HTTP API), a
message a person understands and, where it concerns one, the JSON ``path`` of
the field or the template ``source`` file it concerns. Edges (CLI, HTTP) turn
them into output in one place each.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs


@attrs.frozen
class Problem:
    """One problem found in a definition or in answers, located by JSON path."""

    code: str
    message: str
    path: str = "$"

    def __str__(self) -> str:
        return f"{self.message} @ {self.path}"


class LaunchpadError(Exception):
    """Root of every error launchpad_core raises on purpose."""

    code = "launchpad_error"

    def __init__(self, message: str, *, path: str | None = None, source: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path
        self.source = source

    def __str__(self) -> str:
        where = f" (in {self.source})" if self.source else ""
        at = f" @ {self.path}" if self.path else ""
        return f"{self.message}{where}{at}"


class ProblemsError(LaunchpadError):
    """Several problems at once, e.g. every invalid field of a definition."""

    code = "invalid"

    def __init__(self, summary: str, problems: Iterable[Problem]):
        self.problems = tuple(problems)
        super().__init__(summary)

    def __str__(self) -> str:
        lines = [self.message, *(f"  - {p}" for p in self.problems)]
        return "\n".join(lines)


class DefinitionError(ProblemsError):
    """The template definition is malformed or inconsistent."""

    code = "invalid_definition"


class AnswersError(ProblemsError):
    """Answers are missing, of the wrong type or rejected by a validator."""

    code = "invalid_answers"


class TemplateSourceError(LaunchpadError):
    """A template file, path or expression does not parse or fails to render."""

    code = "template_error"


class UnsafePathError(LaunchpadError):
    """A rendered path would escape the destination or is not portable."""

    code = "unsafe_path"


class PathCollisionError(UnsafePathError):
    """Two template files render to the same output path."""

    code = "path_collision"


class SecurityError(LaunchpadError):
    """A template tried something the sandbox forbids."""

    code = "sandbox_violation"


class LimitExceededError(LaunchpadError):
    """A configured limit (files, bytes, time, recursion) was exceeded."""

    code = "limit_exceeded"


class RenderTimeoutError(LimitExceededError):
    """Rendering took longer than the configured render time."""

    code = "render_timeout"


class RegexTimeoutError(LimitExceededError):
    """A regular expression from a template took longer than ``Limits.regex_seconds``."""

    code = "regex_timeout"


class DestinationError(LaunchpadError):
    """The output destination cannot be written as asked (e.g. files exist)."""

    code = "destination_error"


class DestinationExistsError(DestinationError):
    """Files the output would replace already exist, and overwriting was not allowed."""


class LoadError(LaunchpadError):
    """A template source could not be read."""

    code = "load_error"


class SourceError(LoadError):
    """A template's Git repository cannot be cloned, fetched or checked out as asked
    (unreachable, unknown ref ...): :mod:`launchpad_core.sources.repositories`."""

    code = "source_error"


class UntrustedCodeError(LaunchpadError):
    """A template would run code (tasks, hooks, extensions) and was not trusted."""

    code = "untrusted_code"


class PluginError(LaunchpadError):
    """A plugin failed to load or answered a hook wrongly."""

    code = "plugin_error"


class IsolationError(LaunchpadError):
    """An isolated child process broke a hard limit or died
    (:mod:`launchpad_core.isolation.children`).

    ``code`` is ``cpu_limit``, ``memory_limit``, ``timeout`` or ``crashed``.
    """

    code = "isolation_error"
    codes = ("cpu_limit", "memory_limit", "timeout", "crashed")

    def __init__(self, message: str, *, code: str, source: str | None = None):
        if code not in self.codes:
            raise ValueError(f"unknown isolation error code {code!r}")
        super().__init__(message, source=source)
        self.code = code


class IsolationBusyError(LaunchpadError):
    """No isolated child could take a call now: every slot is in use (``busy``), or
    the caller's owner already has as many calls running as it may (``owner_busy``).
    Nothing ran; the same call may succeed after ``retry_after`` seconds."""

    code = "busy"

    def __init__(self, message: str, *, code: str = "busy", retry_after: int = 1):
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after
