"""What the web side needs of the job queue; ``launchpad_worker.queue.JobQueue`` (Huey on
Redis or SQLite) is the implementation, handed to ``create_app`` by its caller."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol


class Queue(Protocol):
    def enqueue(self, job_id: uuid.UUID,
                secret_answers: Mapping[str, Any] | None = None) -> None: ...

    def enqueue_publish(self, publish_id: uuid.UUID) -> None:
        """Queue a publish job (:mod:`launchpad_web.publishing`)."""

    def enqueue_import(self, import_id: uuid.UUID) -> None:
        """Queue an import from a repository (:mod:`launchpad_web.sources`)."""

    def enqueue_update(self, update_id: uuid.UUID,
                       secret_answers: Mapping[str, Any] | None = None) -> None:
        """Queue an update job (:mod:`launchpad_web.updates`) with its secret answers."""

    def pending(self) -> int:
        """Messages waiting; raises when the queue's storage is unreachable."""

    @property
    def backend(self) -> str:
        """``redis``, ``sqlite`` or ``memory``."""
