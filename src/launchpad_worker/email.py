"""The built-in ``launchpad_notify``: an email through SMTP when a host is configured.

``smtplib`` and ``email`` are imported when a mail is sent: every ``launchpad``
command loads this plugin, and they (with ``ssl``) cost it 8 ms of start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from launchpad_core import hookimpl

TIMEOUT_SECONDS = 10


@hookimpl
def launchpad_notify(kind: str, recipient: str, subject: str, message: str,
                     settings: Mapping[str, Any]) -> None:
    if not settings.get("host"):
        return
    import smtplib
    from email.message import EmailMessage

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
