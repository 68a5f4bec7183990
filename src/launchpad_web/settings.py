"""The web service's settings: one frozen object built from documented environment variables.

Nothing else in ``launchpad_web`` reads ``os.environ``.

=================================== ===================================================
``LAUNCHPAD_ENV``                   ``production`` (default) or ``development``; outside
                                    development cookies are ``Secure`` and ``__Host-``
``LAUNCHPAD_DATA_DIR``              where the embedded database lives (default
                                    ``$XDG_DATA_HOME/launchpad``, else
                                    ``~/.local/share/launchpad``)
``LAUNCHPAD_DATABASE_URL``          SQLAlchemy URL, e.g. ``postgresql+psycopg://u@h/db``
                                    (default: SQLite file ``launchpad.sqlite3`` in the
                                    data directory)
``LAUNCHPAD_REDIS_URL``             the job queue's Redis (default: none)
``LAUNCHPAD_HOST`` / ``_PORT``      where ``launchpad serve`` listens (127.0.0.1:8000)
``LAUNCHPAD_THREADS``               waitress worker threads, also the DB pool size (8)
``LAUNCHPAD_TRUSTED_PROXY``         the address of the load balancer in front (``*``: any);
                                    its ``X-Forwarded-For`` then names the client, whose
                                    address throttling and fair use count (default: none)
``LAUNCHPAD_TRUSTED_PROXY_COUNT``   proxies in front that append to it (1)
``LAUNCHPAD_PUBLIC_URL``            the service's public origin, the only Origin allowed
                                    for browser writes (default ``http://HOST:PORT``)
``LAUNCHPAD_MAX_BODY_BYTES``        largest request body accepted (4 MiB); larger: 413
``LAUNCHPAD_SESSION_IDLE_SECONDS``  a session ends after this long unused (2 hours)
``LAUNCHPAD_SESSION_MAX_SECONDS``   and this long after sign-in in any case (7 days)
``LAUNCHPAD_METRICS_TOKEN``         bearer token of ``GET /metrics`` (Prometheus); unset:
                                    no metrics route
``PROMETHEUS_MULTIPROC_DIR``        prometheus-client's multiprocess mode: ``/metrics``
                                    merges the processes' files there
``LAUNCHPAD_LOG_LEVEL``             ``INFO`` by default; logs are JSON lines on stderr
``LAUNCHPAD_WORKER_THREADS``        jobs one consumer runs at once (2)
``LAUNCHPAD_JOB_LEASE_SECONDS``     a worker's hold on a job, renewed by heartbeats (30)
``LAUNCHPAD_JOB_MAX_ATTEMPTS``      leases taken before a job fails for good (3)
``LAUNCHPAD_JOB_SWEEP_SECONDS``     how often consumers re-enqueue stalled jobs (30)
``LAUNCHPAD_FOLLOW_POLL_SECONDS``   how often followed templates' repositories are polled (3600)
``LAUNCHPAD_PRIVATE_REPOSITORY_HOSTS`` hosts on a private network templates may be imported from
``LAUNCHPAD_JOB_CPU_SECONDS``       hard CPU limit of one render (60)
``LAUNCHPAD_JOB_MEMORY_MB``         hard memory limit of one render (1024)
``LAUNCHPAD_JOB_WALL_SECONDS``      wall-clock limit of one render (120)
``LAUNCHPAD_JOB_PROGRESS_MS``       a render's progress (files done) is stored at most
                                    this often, for the events stream (250)
``LAUNCHPAD_WORKER_PROBE_PORT``     ``launchpad worker``'s /livez and /readyz port (off)
``LAUNCHPAD_WORKER_PROBE_HOST``     and address (127.0.0.1; 0.0.0.0 in a container)
``LAUNCHPAD_ARTIFACT_DIR``          where archives are kept (``DATA_DIR/artifacts``)
``LAUNCHPAD_ARTIFACT_RETENTION_HOURS`` archives are deleted this long after the job (168)
``LAUNCHPAD_ARTIFACT_BUCKET``       keep archives in this S3-compatible bucket instead
                                    (needs the ``s3`` extra); ``ARTIFACT_DIR`` then only
                                    stages renders (default: none, local folder)
``LAUNCHPAD_S3_ENDPOINT_URL``       the S3 API origin, e.g. ``http://minio:9000`` (AWS)
``LAUNCHPAD_S3_REGION``             the bucket's region (boto3's default)
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN`` the bucket's
                                    credentials (unset: boto3's chain, e.g. a profile
                                    or an instance role)
``LAUNCHPAD_ARTIFACT_DOWNLOADS``    ``stream`` (default: through the API) or ``redirect``
                                    (302 to a presigned URL of the bucket's endpoint)
``LAUNCHPAD_ARTIFACT_URL_SECONDS``  how long a presigned download URL is valid (300)
``LAUNCHPAD_EVALUATORS``            template evaluations (checks, answers, previews) one
                                    API process runs at once, each in a child process (4)
``LAUNCHPAD_EVALUATORS_WARM``       evaluator children kept forked in advance (2)
``LAUNCHPAD_EVALUATIONS_PER_USER``  evaluations one account runs at once per process (2)
``LAUNCHPAD_EVALUATIONS_PER_ADDRESS`` evaluations one client address runs at once per
                                    process, all its accounts together (evaluators - 1)
``LAUNCHPAD_EVENT_STREAM_SECONDS``  longest a progress event stream stays open (25)
``LAUNCHPAD_EVENT_STREAMS``         progress streams open at once per process (threads/2)
``LAUNCHPAD_EVENT_STREAMS_PER_USER`` one user's streams open at once, all processes (2)
``LAUNCHPAD_SIGNUPS_PER_ADDRESS``   sign-ups per client address an hour (5)
``LAUNCHPAD_REQUESTS_PER_ADDRESS``  requests one client address makes a second, per
                                    process, in bursts of twice that (0: unbounded)
``LAUNCHPAD_COMPILED_CACHE_MB``     compiled template code kept on disk in
                                    ``DATA_DIR/compiled`` by ``serve``, ``worker`` and
                                    render children, least recently used out first
                                    (256); never in the CLI's cache folder
``LAUNCHPAD_SMTP_HOST`` / ``_PORT``  notification email server (none: no email; 587)
``LAUNCHPAD_SMTP_USERNAME`` / ``_PASSWORD`` / ``_FROM`` / ``_STARTTLS`` its login, sender
                                    and ``1`` (default) or ``0`` for STARTTLS
``LAUNCHPAD_PLAN_LIMITS``           overrides of plan limits, ``free.templates=5,...``
                                    (see ``billing/plans.py``; defaults there)
``LAUNCHPAD_ENFORCE_PLANS``         ``auto`` (default: plans apply only with a billing
                                    provider; self-hosted, every feature is on), ``yes``, ``no``
``LAUNCHPAD_PAST_DUE_GRACE_DAYS``   an unpaid subscription keeps its plan this long (7)
``LAUNCHPAD_STRIPE_SECRET_KEY``     Stripe API key; unset: free-only billing, no checkout
``LAUNCHPAD_STRIPE_WEBHOOK_SECRET`` signing secret of ``/api/webhooks/stripe``
``LAUNCHPAD_STRIPE_PRICE_PRO`` / ``_TEAM`` Stripe price (or plan) id sold for each plan
``LAUNCHPAD_STRIPE_API_BASE``       another Stripe API origin (localstripe in tests)
``LAUNCHPAD_ENCRYPTION_KEYS``       Fernet keys for forge tokens, comma-separated, newest
                                    first (``launchpad keys generate``); unset: forges off
``LAUNCHPAD_FORGE_<NAME>_<KEY>``    a forge plugin's settings, e.g.
                                    ``LAUNCHPAD_FORGE_GITHUB_CLIENT_ID`` / ``_CLIENT_SECRET``
                                    / ``_URL`` / ``_API_URL`` / ``_SCOPES``; a forge without
                                    a client id is off
=================================== ===================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs

from .billing.settings import BillingSettings
from .errors import ConfigurationError
from .evaluation import EvaluationSettings
from .forges.settings import ForgeSettings
from .jobs.settings import MIB, JobSettings

ENVIRONMENTS = ("production", "development")
LOG_LEVELS = ("INFO", "DEBUG", "WARNING", "ERROR")
# how far waitress's body limit is above the service's (see launchpad_web.serving)
SERVER_BODY_HEADROOM = MIB


@attrs.frozen
class PasswordHashing:
    """Argon2id cost parameters.

    The default is RFC 9106's second recommended option (argon2-cffi's default):
    t=3, m=64 MiB, p=4, stronger than OWASP's minimum (m=19 MiB, t=2, p=1). Only
    tests lower it, by passing another value; the environment cannot.
    """

    time_cost: int = 3
    memory_kib: int = 64 * 1024
    parallelism: int = 4


@attrs.frozen
class WebSettings:
    data_dir: Path
    database_url: str
    redis_url: str | None = None
    env: str = attrs.field(default="production", validator=attrs.validators.in_(ENVIRONMENTS))
    host: str = "127.0.0.1"
    port: int = attrs.field(default=8000, validator=[attrs.validators.ge(0),
                                                     attrs.validators.le(65535)])
    threads: int = attrs.field(default=8, validator=attrs.validators.ge(1))
    trusted_proxy: str | None = None
    trusted_proxy_count: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    public_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = attrs.field(default=4 * 1024 * 1024, validator=attrs.validators.ge(1))
    session_idle: timedelta = timedelta(hours=2)
    session_max: timedelta = timedelta(days=7)
    signups_per_address: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    #: Requests one client address makes a second, per process (0: unbounded).
    requests_per_address: float = attrs.field(default=0.0, validator=attrs.validators.ge(0))
    log_level: str = attrs.field(default="INFO", validator=attrs.validators.in_(LOG_LEVELS))
    metrics_token: str | None = attrs.field(default=None, repr=False)
    metrics_multiprocess: bool = False
    password_hashing: PasswordHashing = PasswordHashing()
    billing: BillingSettings = attrs.field(factory=BillingSettings)
    forges: ForgeSettings = attrs.field(factory=ForgeSettings)
    evaluation: EvaluationSettings = attrs.field(factory=EvaluationSettings)
    compiled_cache_bytes: int = attrs.field(default=256 * MIB, validator=attrs.validators.ge(1))
    jobs: JobSettings = attrs.field(
        default=attrs.Factory(lambda self: JobSettings(artifact_dir=self.data_dir / "artifacts"),
                              takes_self=True))

    @property
    def compiled_cache_dir(self) -> Path:
        """Where the service keeps compiled template code (see ``LAUNCHPAD_COMPILED_CACHE_MB``)."""
        return self.data_dir / "compiled"

    def server_options(self) -> dict[str, Any]:
        """waitress's options for these settings (serve them with
        :func:`launchpad_web.serving.create_server`). waitress's body limit is above the
        service's, so the app answers an oversized body itself (see
        :mod:`launchpad_web.serving`). Behind a trusted proxy waitress sets
        the request's client address from ``X-Forwarded-For`` (and drops the header
        from anyone else), so per-address limits count clients, not the proxy."""
        options: dict[str, Any] = {"threads": self.threads, "ident": "launchpad",
                                   "max_request_body_size":
                                       self.max_body_bytes + SERVER_BODY_HEADROOM}
        if self.trusted_proxy:
            options.update(trusted_proxy=self.trusted_proxy,
                           trusted_proxy_count=self.trusted_proxy_count,
                           trusted_proxy_headers={"x-forwarded-for"},
                           clear_untrusted_proxy_headers=True)
        return options

    @property
    def development(self) -> bool:
        return self.env == "development"

    @property
    def secure_cookies(self) -> bool:
        return not self.development

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WebSettings:
        """Read the ``LAUNCHPAD_*`` variables above; a bad value is a ConfigurationError."""
        env = _Env(os.environ if environ is None else environ)
        data_dir = Path(env.text("LAUNCHPAD_DATA_DIR") or _default_data_dir(env))
        host = env.text("LAUNCHPAD_HOST") or "127.0.0.1"
        port = env.integer("LAUNCHPAD_PORT", 8000, maximum=65535)
        threads = env.integer("LAUNCHPAD_THREADS", 8, minimum=1)
        return cls(
            data_dir=data_dir,
            database_url=env.text("LAUNCHPAD_DATABASE_URL")
            or f"sqlite:///{data_dir / 'launchpad.sqlite3'}",
            redis_url=env.text("LAUNCHPAD_REDIS_URL"),
            env=env.choice("LAUNCHPAD_ENV", ENVIRONMENTS),
            host=host,
            port=port,
            threads=threads,
            trusted_proxy=env.text("LAUNCHPAD_TRUSTED_PROXY"),
            trusted_proxy_count=env.integer("LAUNCHPAD_TRUSTED_PROXY_COUNT", 1, minimum=1),
            public_url=(env.text("LAUNCHPAD_PUBLIC_URL") or f"http://{host}:{port}").rstrip("/"),
            max_body_bytes=env.integer("LAUNCHPAD_MAX_BODY_BYTES", 4 * 1024 * 1024, minimum=1),
            session_idle=timedelta(
                seconds=env.integer("LAUNCHPAD_SESSION_IDLE_SECONDS", 7200, minimum=1)),
            session_max=timedelta(
                seconds=env.integer("LAUNCHPAD_SESSION_MAX_SECONDS", 604800, minimum=1)),
            signups_per_address=env.integer("LAUNCHPAD_SIGNUPS_PER_ADDRESS", 5, minimum=1),
            requests_per_address=env.integer("LAUNCHPAD_REQUESTS_PER_ADDRESS", 0, minimum=0),
            log_level=env.choice("LAUNCHPAD_LOG_LEVEL", LOG_LEVELS, upper=True),
            metrics_token=_metrics_token(env.text("LAUNCHPAD_METRICS_TOKEN")),
            metrics_multiprocess=env.text("PROMETHEUS_MULTIPROC_DIR") is not None,
            evaluation=EvaluationSettings(
                slots=env.integer("LAUNCHPAD_EVALUATORS", 4, minimum=1),
                warm=env.integer("LAUNCHPAD_EVALUATORS_WARM", 2),
                per_user=env.integer("LAUNCHPAD_EVALUATIONS_PER_USER", 2, minimum=1),
                per_address=env.integer(
                    "LAUNCHPAD_EVALUATIONS_PER_ADDRESS",
                    max(1, env.integer("LAUNCHPAD_EVALUATORS", 4, minimum=1) - 1), minimum=1),
            ),
            jobs=JobSettings.from_env(env, data_dir, threads=threads),
            compiled_cache_bytes=env.integer("LAUNCHPAD_COMPILED_CACHE_MB", 256, minimum=1) * MIB,
            billing=BillingSettings.from_env(env),
            forges=ForgeSettings.from_env(env.values),
        )


@attrs.frozen
class _Env:
    values: Mapping[str, str]

    def text(self, name: str) -> str | None:
        return self.values.get(name, "").strip() or None

    def integer(self, name: str, default: int, *, minimum: int = 0,
                maximum: int | None = None) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            raise ConfigurationError(f"{name} must be at least {minimum}{upper}, got {value}")
        return value

    def choice(self, name: str, choices: tuple[str, ...], *, upper: bool = False) -> str:
        """One of ``choices``; the first is the default."""
        raw = self.text(name) or choices[0]
        value = raw.upper() if upper else raw.lower()
        if value not in choices:
            raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
        return value


def _metrics_token(token: str | None) -> str | None:
    if token is not None and len(token) < 16:
        raise ConfigurationError("LAUNCHPAD_METRICS_TOKEN must have at least 16 characters")
    return token


def _default_data_dir(env: _Env) -> Path:
    base = env.text("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "launchpad"
