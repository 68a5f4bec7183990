"""Alembic revisions of the service's schema (see :mod:`launchpad_web.migrate`)."""
