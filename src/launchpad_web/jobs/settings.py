"""Settings of generation jobs, workers, artifacts and email: part of :class:`WebSettings`.

:meth:`JobSettings.from_env` is called by :meth:`WebSettings.from_env` with its
reader of the environment (the variables are listed in ``settings.py``'s table),
the only place that reads it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

import attrs

MIB = 1024 * 1024


class EnvReader(Protocol):
    def text(self, name: str) -> str | None: ...

    def integer(self, name: str, default: int, *, minimum: int = 0,
                maximum: int | None = None) -> int: ...

    def choice(self, name: str, choices: tuple[str, ...], *, upper: bool = False) -> str: ...


@attrs.frozen
class SmtpSettings:
    """Where notification emails go; no ``host`` means no email (in-app events only)."""

    host: str | None = None
    port: int = 587
    username: str | None = attrs.field(default=None, repr=False)
    password: str | None = attrs.field(default=None, repr=False)
    sender: str = "launchpad@localhost"
    starttls: bool = True

    def as_mapping(self) -> dict[str, Any]:
        """Plain data for the ``launchpad_notify`` hook's ``settings``."""
        return attrs.asdict(self)


DOWNLOADS = ("stream", "redirect")


@attrs.frozen
class BucketSettings:
    """An S3-compatible bucket for artifacts (see :mod:`~.object_storage`).

    Without credentials boto3 finds its own (a profile, an instance role). ``downloads``
    is ``stream`` (the API reads the object and sends it on) or ``redirect`` (a
    presigned URL valid ``url_lifetime``, which clients must be able to reach
    at ``endpoint_url``).
    """

    bucket: str
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = attrs.field(default=None, repr=False)
    secret_access_key: str | None = attrs.field(default=None, repr=False)
    session_token: str | None = attrs.field(default=None, repr=False)
    downloads: str = attrs.field(default="stream", validator=attrs.validators.in_(DOWNLOADS))
    url_lifetime: timedelta = timedelta(minutes=5)

    @classmethod
    def from_env(cls, env: EnvReader) -> BucketSettings | None:
        bucket = env.text("LAUNCHPAD_ARTIFACT_BUCKET")
        if bucket is None:
            return None
        return cls(
            bucket=bucket,
            endpoint_url=env.text("LAUNCHPAD_S3_ENDPOINT_URL"),
            region=env.text("LAUNCHPAD_S3_REGION"),
            access_key_id=env.text("AWS_ACCESS_KEY_ID"),
            secret_access_key=env.text("AWS_SECRET_ACCESS_KEY"),
            session_token=env.text("AWS_SESSION_TOKEN"),
            downloads=env.choice("LAUNCHPAD_ARTIFACT_DOWNLOADS", DOWNLOADS),
            url_lifetime=timedelta(seconds=env.integer(
                "LAUNCHPAD_ARTIFACT_URL_SECONDS", 300, minimum=1, maximum=7 * 24 * 3600)),
        )


@attrs.frozen
class JobSettings:
    """How generation jobs run.

    ``lease`` bounds how long a silent worker keeps a job (heartbeats renew it
    every third of it); the sweeper runs every ``sweep_interval`` on every
    consumer. ``immediate`` (tests only, never from the environment) runs jobs
    inside the request with Huey's immediate mode. A render's progress is stored at
    most every ``progress_interval`` (a render quicker than that stores none, so a
    10,000-file template makes a few writes, not 10,000). ``event_streams`` bounds the
    progress streams open at once in one process (half its threads by default),
    ``event_streams_per_user`` one user's in every process (see ``slots.py``).
    ``bucket`` keeps artifacts in object storage instead of ``artifact_dir``
    (which then holds staging only). ``follow_poll``: how often the sweeper asks a
    followed template's repository for a new release tag (``sources/``);
    ``private_repository_hosts``: hosts on a private network (loopback, RFC 1918,
    link-local) that templates may nevertheless be imported from by address;
    ``import_max_bytes`` and ``import_time``: what one fetch of a repository may take on
    disk and in time before it is stopped (``LAUNCHPAD_IMPORT_MAX_MB``,
    ``LAUNCHPAD_IMPORT_SECONDS``).
    """

    artifact_dir: Path
    worker_threads: int = attrs.field(default=2, validator=attrs.validators.ge(1))
    lease: timedelta = timedelta(seconds=30)
    max_attempts: int = attrs.field(default=3, validator=attrs.validators.ge(1))
    sweep_interval: timedelta = timedelta(seconds=30)
    retention: timedelta = timedelta(days=7)
    cpu_seconds: int = attrs.field(default=60, validator=attrs.validators.ge(1))
    memory_bytes: int = attrs.field(default=1024 * MIB, validator=attrs.validators.ge(MIB))
    wall_seconds: int = attrs.field(default=120, validator=attrs.validators.ge(1))
    event_stream: timedelta = timedelta(seconds=25)
    progress_interval: timedelta = timedelta(milliseconds=250)
    event_streams: int = attrs.field(default=4, validator=attrs.validators.ge(1))
    event_streams_per_user: int = attrs.field(default=2, validator=attrs.validators.ge(1))
    smtp: SmtpSettings = SmtpSettings()
    probe_host: str = "127.0.0.1"
    probe_port: int | None = None  # the worker's /livez and /readyz: off unless set
    bucket: BucketSettings | None = None
    follow_poll: timedelta = timedelta(hours=1)
    private_repository_hosts: tuple[str, ...] = ()
    import_max_bytes: int = attrs.field(default=64 * MIB, validator=attrs.validators.ge(MIB))
    import_time: timedelta = timedelta(seconds=120)
    immediate: bool = False

    @classmethod
    def from_env(cls, env: EnvReader, data_dir: Path, *, threads: int = 8) -> JobSettings:
        return cls(
            artifact_dir=Path(env.text("LAUNCHPAD_ARTIFACT_DIR") or data_dir / "artifacts"),
            worker_threads=env.integer("LAUNCHPAD_WORKER_THREADS", 2, minimum=1),
            lease=timedelta(seconds=env.integer("LAUNCHPAD_JOB_LEASE_SECONDS", 30, minimum=1)),
            max_attempts=env.integer("LAUNCHPAD_JOB_MAX_ATTEMPTS", 3, minimum=1),
            sweep_interval=timedelta(
                seconds=env.integer("LAUNCHPAD_JOB_SWEEP_SECONDS", 30, minimum=1)),
            retention=timedelta(
                hours=env.integer("LAUNCHPAD_ARTIFACT_RETENTION_HOURS", 168, minimum=1)),
            cpu_seconds=env.integer("LAUNCHPAD_JOB_CPU_SECONDS", 60, minimum=1),
            memory_bytes=env.integer("LAUNCHPAD_JOB_MEMORY_MB", 1024, minimum=64) * MIB,
            wall_seconds=env.integer("LAUNCHPAD_JOB_WALL_SECONDS", 120, minimum=1),
            event_stream=timedelta(
                seconds=env.integer("LAUNCHPAD_EVENT_STREAM_SECONDS", 25, minimum=1)),
            progress_interval=timedelta(
                milliseconds=env.integer("LAUNCHPAD_JOB_PROGRESS_MS", 250, minimum=10)),
            event_streams=env.integer("LAUNCHPAD_EVENT_STREAMS", max(threads // 2, 1),
                                      minimum=1),
            event_streams_per_user=env.integer("LAUNCHPAD_EVENT_STREAMS_PER_USER", 2,
                                               minimum=1),
            probe_host=env.text("LAUNCHPAD_WORKER_PROBE_HOST") or "127.0.0.1",
            probe_port=env.integer("LAUNCHPAD_WORKER_PROBE_PORT", 0, maximum=65535) or None,
            bucket=BucketSettings.from_env(env),
            follow_poll=timedelta(
                seconds=env.integer("LAUNCHPAD_FOLLOW_POLL_SECONDS", 3600, minimum=60)),
            private_repository_hosts=tuple(
                h.strip().lower()
                for h in (env.text("LAUNCHPAD_PRIVATE_REPOSITORY_HOSTS") or "").split(",")
                if h.strip()),
            import_max_bytes=env.integer("LAUNCHPAD_IMPORT_MAX_MB", 64, minimum=1) * MIB,
            import_time=timedelta(
                seconds=env.integer("LAUNCHPAD_IMPORT_SECONDS", 120, minimum=5)),
            smtp=SmtpSettings(
                host=env.text("LAUNCHPAD_SMTP_HOST"),
                port=env.integer("LAUNCHPAD_SMTP_PORT", 587, minimum=1, maximum=65535),
                username=env.text("LAUNCHPAD_SMTP_USERNAME"),
                password=env.text("LAUNCHPAD_SMTP_PASSWORD"),
                sender=env.text("LAUNCHPAD_SMTP_FROM") or "launchpad@localhost",
                starttls=env.integer("LAUNCHPAD_SMTP_STARTTLS", 1, maximum=1) == 1,
            ),
        )
