"""``python -m launchpad_core.cli``: the command line, as the ``launchpad`` script runs it."""

import sys

from .main import main

sys.exit(main())
