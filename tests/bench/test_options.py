"""The benchmark scripts refuse a bad count before they start anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench"


@pytest.mark.parametrize(("script", "option", "value"), [
    ("render.py", "--rounds", "0"),
    ("render.py", "--sizes", "many"),
    ("api.py", "--duration", "-1"),
    ("api.py", "--rounds", "0"),
    ("jobs.py", "--jobs", "0"),
    ("faults.py", "--jobs", "0"),
    ("faults.py", "--lease", "-5"),
    ("faults.py", "--rate", "fast"),
    ("update.py", "--rounds", "0"),
    ("update.py", "--files", "none"),
])
def test_a_count_below_one_is_refused(script, option, value):
    result = subprocess.run([sys.executable, str(BENCH / script), option, value],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"{script}: error: argument {option}: {value!r} is not a whole number of at least 1")


def test_the_fault_bench_refuses_an_unknown_configuration():
    result = subprocess.run([sys.executable, str(BENCH / "faults.py"), "--config", "mysql"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "argument --config: invalid choice: 'mysql'" in result.stderr.splitlines()[-1]


def test_the_fault_bench_describes_its_options():
    result = subprocess.run([sys.executable, str(BENCH / "faults.py"), "--help"],
                            capture_output=True, text=True, timeout=60, check=True)
    for option in ("--config {postgresql,sqlite}", "--jobs", "--rate", "--lease", "--sweep",
                   "--timeout"):
        assert option in result.stdout
