#!/usr/bin/env python3
"""The API's strict JSON parser (launchpad_core.model.strict_json) next to json.loads.

Bodies of about a mebibyte: clean (with escaped surrogate pairs), one NUL at
the very end (the parser must walk everything to find it), and nothing but
refused values (it stops at MAX_PROBLEMS). Prints the best of ``--rounds``
for each parser and the ratio.

Usage: python bench/json_parse.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import positive_int

from launchpad_core.model.strict_json import JsonValueError, loads

BODIES = {
    "clean": ("[" + ",".join(['{"k": [1, 2.5, "\\ud83d\\ude00", null]}'] * 30_000)
              + "]").encode(),
    "one NUL at the end": ("[" + ",".join(['{"k": [1, 2.5, "ok", null]}'] * 40_000)
                           + ', "\\u0000"]').encode(),
    "all refused": ("[" + ",".join(['"\\u0000"'] * 130_000) + "]").encode(),
}


def best(parse: Any, raw: bytes, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        with contextlib.suppress(JsonValueError):
            parse(raw)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=positive_int, default=5)
    args = parser.parse_args()
    print(f"{'body':22} {'size':>9} {'json.loads':>11} {'strict':>9} {'ratio':>6}")
    for name, raw in BODIES.items():
        standard, strict = best(json.loads, raw, args.rounds), best(loads, raw, args.rounds)
        print(f"{name:22} {len(raw) / 2**20:7.2f} MiB {standard * 1000:8.1f} ms "
              f"{strict * 1000:6.1f} ms {strict / standard:5.1f}x")


if __name__ == "__main__":
    main()
