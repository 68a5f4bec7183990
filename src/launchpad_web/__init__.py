"""LaunchPad's hosted service: a Falcon WSGI app over SQLAlchemy, calling launchpad_core.

Start at :func:`launchpad_web.app.create_app`; ``README.md`` beside this file says how
to add a resource, a model, a migration and a test.
"""
