"""Logs as JSON lines: one object per record, with the record's ``extra`` fields.

Records are written by a thread of their own, a batch at a time
(:class:`BatchingHandler`): a request thread only appends its record to a
queue. Every system call in a request thread releases the GIL, and under load
each release is a round of futex wake-ups between waitress's threads; one
``write`` per request cost a busy API process about 15% of its throughput.
A line reaches stderr at most 50 ms after its record; the rest is written
when the process exits (``launchpad serve`` turns SIGTERM into a clean stop),
so only a process killed outright (SIGKILL) loses its last 50 ms.
"""

from __future__ import annotations

import collections
import json
import logging
import sys
import threading
from datetime import UTC, datetime
from typing import TextIO

_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        doc.update((k, v) for k, v in vars(record).items() if k not in _STANDARD)
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class BatchingHandler(logging.Handler):
    """Queues records and writes them from a daemon thread every ``interval`` seconds,
    each batch in one write; closing (``logging.shutdown`` does at exit) writes what
    is left.
    A record's message is merged with its arguments when it is queued."""

    def __init__(self, stream: TextIO, *, interval: float = 0.05):
        super().__init__()
        self.stream = stream
        self.interval = interval
        self._queue: collections.deque[logging.LogRecord] = collections.deque()
        self._writing = threading.Lock()
        self._stop = threading.Event()
        self._writer = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._writer.start()  # logging.shutdown() closes the handler at exit

    def emit(self, record: logging.LogRecord) -> None:
        if record.args:
            record.msg, record.args = record.getMessage(), None
        self._queue.append(record)  # atomic: no lock, no system call

    def flush(self) -> None:
        # Not ``self.lock``: logging holds that around every emit, so a batch being
        # formatted under it would make request threads wait for the writer.
        with self._writing:  # one writer at a time: the thread, or a flush at close
            lines = []
            while self._queue:
                record = self._queue.popleft()
                try:
                    lines.append(self.format(record) + "\n")
                except Exception:
                    self.handleError(record)
            if lines:
                try:
                    self.stream.write("".join(lines))
                    self.stream.flush()
                except Exception:  # as StreamHandler: reported on stderr, never raised
                    self.handleError(record)

    def close(self) -> None:
        self._stop.set()
        if self._writer.is_alive() and self._writer is not threading.current_thread():
            self._writer.join(timeout=5)
        self.flush()
        super().close()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()


def configure_logging(level: str) -> None:
    """Send every log record to stderr as JSON (called by ``launchpad serve``)."""
    # Attributes the JSON lines leave out; os.getpid() is even a system call per record.
    logging.logProcesses = logging.logThreads = logging.logMultiprocessing = False
    handler = BatchingHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for replaced in root.handlers:
        if isinstance(replaced, BatchingHandler):
            replaced.close()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Alembic announces its dialect at INFO each time a revision is read (health checks).
    logging.getLogger("alembic").setLevel(logging.WARNING)
