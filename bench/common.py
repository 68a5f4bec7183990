"""What the benchmark scripts share: a free loopback port, a throw-away database,
a positive count for their options."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator

from launchpad_core.testing import free_port

__all__ = ["free_port", "fresh_database", "positive_int"]


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new PostgreSQL database next to ``admin_url``'s, dropped afterwards; its URL."""
    from launchpad_web.testing import fresh_postgresql_database

    with fresh_postgresql_database(admin_url, prefix="lp_bench") as url:
        yield url.render_as_string(hide_password=False)


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value
