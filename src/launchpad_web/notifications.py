"""Telling a person outside the app from a request: the ``launchpad_notify`` hook.

The worker tells job owners about their jobs; the web service sends what a
request decides (a team invitation) through the same hook and the same SMTP
settings (``LAUNCHPAD_SMTP_*``). A resource sends its :class:`Notice` after its
transaction committed, so nothing is announced that was then rolled back, and a
failure to send is logged without failing the request (the row is kept; the
team may invite again to send a new link).
"""

from __future__ import annotations

import logging
import threading

import attrs

from launchpad_core.plugins.manager import Hooks

from .jobs.settings import SmtpSettings

log = logging.getLogger("launchpad_web.notifications")


@attrs.frozen
class Notice:
    kind: str
    recipient: str
    subject: str
    message: str = attrs.field(repr=False)


class Notifier:
    def __init__(self, hooks: Hooks, smtp: SmtpSettings):
        self.hooks = hooks
        self.smtp = smtp

    def send(self, notice: Notice) -> None:
        try:
            self.hooks.notify(kind=notice.kind, recipient=notice.recipient,
                              subject=notice.subject, message=notice.message,
                              settings=self.smtp.as_mapping())
        except Exception:
            log.exception("notification failed", extra={"kind": notice.kind})

    def send_later(self, notice: Notice) -> None:
        """:meth:`send` on a thread of its own: the request's answer and its timing do
        not depend on the mail (a password reset must not tell who has an account)."""
        threading.Thread(target=self.send, args=(notice,), name=f"notice-{notice.kind}",
                         daemon=True).start()
