"""Plan limits enforced at the moment of use: the contract other domains call.

``templates`` calls :meth:`Quotas.check_template_create`, ``teams``
:meth:`Quotas.check_team_create` and ``jobs`` :meth:`Quotas.check_generation`,
each inside the request's transaction and just before inserting the row, so
the check and the insert commit together. The billing domain owns this module
and implements the limits (plans, periods, row locks against concurrent
requests); until then every check passes.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session


class Quotas:
    """Checks a plan's limits; raises an ``ApiError`` (402 or 403) when one is exceeded."""

    def check_template_create(
        self, db: Session, *, user_id: uuid.UUID, team_id: uuid.UUID | None
    ) -> None:
        """Before a template is created for ``user_id`` (or in ``team_id``)."""

    def check_team_create(self, db: Session, *, user_id: uuid.UUID) -> None:
        """Before ``user_id`` creates a team (teams need the Team plan)."""

    def check_generation(
        self, db: Session, *, user_id: uuid.UUID, team_id: uuid.UUID | None
    ) -> None:
        """Before a generation job is queued for ``user_id`` (on a ``team_id`` template)."""
