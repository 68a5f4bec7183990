"""The dependency audit (``.ci/audit.py``): the allowlist's rules, what pip-audit's
JSON report means, and a real run of pip-audit over this environment."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
audit = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(audit)

ENTRY = '''
[[vulnerability]]
id = "{id}"
package = "somepackage"
reason = "{reason}"
expires = {expires}
'''
VULNERABLE = {"dependencies": [
    {"name": "jinja2", "version": "3.1.2", "vulns": [
        {"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"], "aliases": ["CVE-2024-22195"],
         "description": "xmlattr allows keys with spaces"}]},
    {"name": "attrs", "version": "25.1.0", "vulns": []},
    {"name": "launchpad", "skip_reason": "Dependency not found on PyPI and could not be "
                                         "audited: launchpad (0.1.0)"},
], "fixes": []}


def allowlist(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "allowlist.toml"
    path.write_text("".join(entries))
    return path


def test_the_repository_allowlist_is_valid_and_has_nothing_expired():
    _, expired = audit.split_expired(audit.read_allowlist(audit.ALLOWLIST),
                                     dt.date.today())
    assert expired == []


def test_unexpired_entries_become_ignore_vuln_arguments_and_expired_ones_fail(tmp_path, capsys):
    path = allowlist(tmp_path, ENTRY.format(id="GHSA-1", reason="CLI only", expires="2027-01-31"),
                     ENTRY.format(id="PYSEC-2", reason="test only", expires="2026-12-31"))
    ignored, expired = audit.split_expired(audit.read_allowlist(path), dt.date(2027, 1, 1))
    assert ignored == ["GHSA-1"] and [entry["id"] for entry in expired] == ["PYSEC-2"]
    command = audit.pip_audit_command(ignored, tmp_path / "report.json")
    assert command[:3] == [sys.executable, "-m", "pip_audit"] and "--local" in command
    assert command[command.index("--ignore-vuln") + 1] == "GHSA-1"
    assert command.count("--ignore-vuln") == 1

    assert audit.main(["--allowlist", str(path), "--today", "2027-01-01"]) == 1
    assert "PYSEC-2 expired on 2026-12-31 (test only)" in capsys.readouterr().err


@pytest.mark.parametrize(("entry", "message"), [
    (ENTRY.format(id="GHSA-1", reason=" ", expires="2027-01-31"), "GHSA-1 has no reason"),
    (ENTRY.format(id="GHSA-1", reason="r", expires='"soon"'), "GHSA-1 needs expires"),
    (ENTRY.format(id="GHSA-1", reason="r", expires="2027-01-31T10:00:00"), "needs expires"),
    (ENTRY.format(id="", reason="r", expires="2027-01-31"), "entry 1 has no id"),
    ("[[vulnerability]\n", "allowlist.toml"),
])
def test_an_allowlist_entry_without_id_reason_or_date_is_refused(tmp_path, capsys, entry,
                                                                  message):
    assert audit.main(["--allowlist", str(allowlist(tmp_path, entry))]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("audit: ") and message in line


def test_a_vulnerability_fails_the_audit_with_its_id_and_fix():
    status, lines = audit.judge(VULNERABLE, "")
    assert status == 1
    assert "jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)" in lines


def test_a_clean_report_passes_and_counts_what_was_audited():
    clean = {"dependencies": VULNERABLE["dependencies"][1:]}
    assert audit.judge(clean, "") == (
        0, ["no known vulnerabilities in 1 packages (1 not on PyPI, skipped)"])


def test_an_unreachable_service_is_reported_without_failing_the_build():
    every_skipped = {"dependencies": [VULNERABLE["dependencies"][2]]}
    status, [line] = audit.judge(every_skipped, "")
    assert status == 0 and line.startswith("AUDIT NOT RUN")
    status, [line] = audit.judge(None, "requests.exceptions.ConnectionError: HTTPSConnection"
                                       "Pool(host='api.osv.dev'): Max retries exceeded")
    assert status == 0 and line.startswith("AUDIT NOT RUN") and "api.osv.dev" in line
    assert audit.judge(None, "pip-audit: error: unrecognized arguments: --bad")[0] == 1


@pytest.mark.slow
def test_pip_audit_runs_over_this_environment(tmp_path, capsys):
    """A real run: the arguments are pip-audit's, and the outcome is one of the three."""
    status = audit.main(["--allowlist", str(allowlist(tmp_path))])
    out, err = capsys.readouterr()
    assert (out + err).startswith(("no known vulnerabilities", "AUDIT NOT RUN",
                                   "known vulnerabilities"))
    assert status == (1 if err.startswith("known vulnerabilities") else 0)
