"""Audit the installed packages for known vulnerabilities with pip-audit.

    python3 .ci/audit.py [--allowlist .ci/audit-allowlist.toml] [--today YYYY-MM-DD]

Exit 0 when pip-audit finds nothing outside the allowlist; 1 when it finds a
vulnerability, or an allowlist entry has expired (renew it with a reason, or
upgrade); 2 for an allowlist that cannot be read. Unexpired entries become
``--ignore-vuln`` arguments. When the vulnerability service cannot be reached
(no network, or PyPI's JSON API answering nothing: every package skipped), the
audit says so in one line and exits 0: there is nothing to judge.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ALLOWLIST = Path(__file__).with_name("audit-allowlist.toml")
UNREACHABLE = ("ConnectionError", "NameResolutionError", "Max retries exceeded",
               "Temporary failure in name resolution", "timed out")


class AllowlistError(Exception):
    """The allowlist is not a list of entries with an id, a reason and an expiry date."""


def read_allowlist(path: Path) -> list[dict[str, Any]]:
    try:
        entries = tomllib.loads(path.read_text()).get("vulnerability", [])
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AllowlistError(f"{path}: {exc}") from None
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry.get("id"), str) or not entry["id"]:
            raise AllowlistError(f"{path}: entry {number} has no id")
        if not isinstance(entry.get("reason"), str) or not entry["reason"].strip():
            raise AllowlistError(f"{path}: {entry['id']} has no reason")
        if type(entry.get("expires")) is not dt.date:
            raise AllowlistError(f"{path}: {entry['id']} needs expires = YYYY-MM-DD")
    return entries


def split_expired(entries: list[dict[str, Any]],
                  today: dt.date) -> tuple[list[str], list[dict[str, Any]]]:
    """The ids still ignored, and the entries past their date."""
    ignored = [entry["id"] for entry in entries if entry["expires"] >= today]
    return ignored, [entry for entry in entries if entry["expires"] < today]


def pip_audit_command(ignored: list[str], report: Path) -> list[str]:
    command = [sys.executable, "-m", "pip_audit", "--local", "--skip-editable",
               "--progress-spinner", "off", "--format", "json", "--output", str(report)]
    for vuln in ignored:
        command += ["--ignore-vuln", vuln]
    return command


def judge(report: dict[str, Any] | None, stderr: str) -> tuple[int, list[str]]:
    """Exit status and lines to print, from pip-audit's JSON report (None: none written)."""
    if report is None:
        if any(sign in stderr for sign in UNREACHABLE):
            return 0, [f"AUDIT NOT RUN: the vulnerability service is unreachable "
                       f"({_last_line(stderr)}); not failing the build for it"]
        return 1, [f"pip-audit failed: {_last_line(stderr)}"]
    packages = report.get("dependencies", [])
    audited = [package for package in packages if "skip_reason" not in package]
    if packages and not audited:
        return 0, [f"AUDIT NOT RUN: the vulnerability service answered for none of the "
                   f"{len(packages)} packages ({packages[0]['skip_reason']}); "
                   "not failing the build for it"]
    found = [f"{package['name']} {package['version']}: {vuln['id']} "
             f"(fixed in {', '.join(vuln.get('fix_versions') or ['no release yet'])})"
             for package in audited for vuln in package.get("vulns", [])]
    if found:
        return 1, ["known vulnerabilities (upgrade, or allowlist with a reason and an "
                   "expiry date):", *found]
    return 0, [f"no known vulnerabilities in {len(audited)} packages "
               f"({len(packages) - len(audited)} not on PyPI, skipped)"]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allowlist", type=Path, default=ALLOWLIST)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date.today())
    args = parser.parse_args(argv)
    try:
        ignored, expired = split_expired(read_allowlist(args.allowlist), args.today)
    except AllowlistError as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return 2
    if expired:
        for entry in expired:
            print(f"audit: allowlist entry {entry['id']} expired on {entry['expires']} "
                  f"({entry['reason']}): upgrade, or renew it", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "audit.json"
        run = subprocess.run(pip_audit_command(ignored, output), capture_output=True,
                             text=True, check=False)
        report = json.loads(output.read_text()) if output.exists() else None
    status, lines = judge(report, run.stderr)
    print("\n".join(lines), file=sys.stderr if status else sys.stdout)
    return status


if __name__ == "__main__":
    sys.exit(main())
