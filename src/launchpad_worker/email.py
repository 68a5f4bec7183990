"""The built-in ``launchpad_notify``: an email through SMTP when a host is configured."""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from launchpad_core import hookimpl

TIMEOUT_SECONDS = 10


@hookimpl
def launchpad_notify(kind: str, recipient: str, subject: str, message: str,
                     settings: Mapping[str, Any]) -> None:
    if not settings.get("host"):
        return
    mail = EmailMessage()
    mail["From"] = settings["sender"]
    mail["To"] = recipient
    mail["Subject"] = subject
    mail["X-LaunchPad-Event"] = kind
    mail.set_content(message)
    with smtplib.SMTP(settings["host"], settings["port"], timeout=TIMEOUT_SECONDS) as smtp:
        if settings.get("starttls"):
            smtp.starttls()
        if settings.get("username"):
            smtp.login(settings["username"], settings.get("password") or "")
        smtp.send_message(mail)
