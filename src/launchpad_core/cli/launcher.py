"""The ``launchpad`` console script: the render daemon's if one runs, else this process's.

Kept tiny, with the daemon's client, so that a command the daemon runs costs
this process little more than Python's own start (:mod:`launchpad_core.cli.daemon`).
"""

from __future__ import annotations

import gc
import os
import sys

from .daemon import forward


def main() -> int:
    argv = sys.argv[1:]
    status = forward(argv, os.environ)
    if status is None:
        gc.disable()  # a short command runs without collecting (cli.exit_after)
        from .main import exit_after
        from .main import main as run_here

        exit_after(argv, run_here(argv))
    return status
