"""JSON log lines, written a batch at a time by a thread of their own."""

from __future__ import annotations

import io
import json
import logging
import threading
import time

from launchpad_web.logs import BatchingHandler, JsonFormatter


class CountingStream(io.StringIO):
    def __init__(self):
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def make_logger(handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"test.logs.{id(handler)}")
    logger.propagate = False
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    return logger


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_records_queued_together_are_written_in_order_in_one_write():
    stream = CountingStream()
    handler = BatchingHandler(stream, interval=3600)  # only close() writes
    handler.setFormatter(JsonFormatter())
    logger = make_logger(handler)
    for n in range(50):
        logger.info("request", extra={"n": n})
    assert stream.getvalue() == ""
    handler.close()
    assert [line["n"] for line in lines(stream)] == list(range(50))
    assert stream.writes == 1


def test_the_writer_thread_writes_without_being_asked():
    stream = io.StringIO()
    handler = BatchingHandler(stream, interval=0.01)
    handler.setFormatter(JsonFormatter())
    make_logger(handler).warning("hello %s", "world", extra={"user_id": "u1"})
    deadline = time.monotonic() + 5
    while not stream.getvalue() and time.monotonic() < deadline:
        time.sleep(0.01)
    [line] = lines(stream)
    assert (line["message"], line["level"], line["user_id"]) == ("hello world", "warning", "u1")
    handler.close()


def test_arguments_are_merged_when_the_record_is_queued():
    stream = io.StringIO()
    handler = BatchingHandler(stream, interval=3600)
    handler.setFormatter(JsonFormatter())
    changing = ["before"]
    make_logger(handler).info("state %s", changing)
    changing[0] = "after"
    handler.close()
    assert lines(stream)[0]["message"] == "state ['before']"


def test_many_threads_lose_no_record():
    stream = io.StringIO()
    handler = BatchingHandler(stream, interval=0.001)
    handler.setFormatter(JsonFormatter())
    logger = make_logger(handler)

    def log_many(thread: int) -> None:
        for n in range(500):
            logger.info("request", extra={"worker": thread, "n": n})

    threads = [threading.Thread(target=log_many, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    handler.close()
    seen = [(line["worker"], line["n"]) for line in lines(stream)]
    assert sorted(seen) == [(t, n) for t in range(8) for n in range(500)]
    for t in range(8):  # each thread's records keep their order
        assert [n for thread, n in seen if thread == t] == list(range(500))
