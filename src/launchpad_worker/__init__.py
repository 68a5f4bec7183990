"""LaunchPad's workers: generation jobs run from a Huey queue on the same core.

``queue`` builds the Huey instance from settings and the thin tasks; ``runner``
runs one job (lease, isolated render, artifact, completion) through the job's
lifecycle in ``launchpad_web.jobs.leases`` (the row, not the queue, is the source
of truth); ``compose`` builds the web app with this queue; ``sweeper``
re-enqueues stalled jobs and removes expired artifacts; ``render`` is what runs
in the resource-limited child process.
"""
