"""What jobs run with, built once per process: sessions, artifact storage, hooks, limits."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import attrs
from sqlalchemy.orm import Session, sessionmaker

from launchpad_core import Launchpad, default_launchpad
from launchpad_core.isolation.children import IsolationLimits
from launchpad_core.plugins.manager import Hooks
from launchpad_core.render.compile_cache import DEFAULT_MAX_BYTES
from launchpad_web.app import list_cache, make_quotas
from launchpad_web.clock import Clock, system_clock
from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.evaluation import Evaluator
from launchpad_web.forges.services import ForgeService
from launchpad_web.jobs.settings import JobSettings
from launchpad_web.jobs.storage import ArtifactStorage, make_storage
from launchpad_web.settings import WebSettings
from launchpad_web.templates.services import TemplateService

from .render import CompiledCache


@attrs.frozen
class WorkerContext:
    session_factory: sessionmaker
    storage: ArtifactStorage
    hooks: Hooks
    jobs: JobSettings
    public_url: str
    cache_dir: Path | None = None
    cache_bytes: int = DEFAULT_MAX_BYTES
    clock: Clock = system_clock
    forges: ForgeService | None = None  # None: forge features are off (no encryption keys)
    templates: TemplateService | None = None  # saves imported templates (sources/)

    @classmethod
    def from_settings(cls, settings: WebSettings, *, session_factory: sessionmaker | None = None,
                      launchpad: Launchpad | None = None,
                      clock: Clock = system_clock) -> WorkerContext:
        if session_factory is None:
            engine = make_engine(settings.database_url,
                                 pool_size=settings.jobs.worker_threads + 2)
            session_factory = make_session_factory(engine)
        launchpad = launchpad or default_launchpad()
        billing = launchpad.hooks.billing_provider(
            settings=settings.billing.provider_settings())
        quotas = make_quotas(settings, billing_name=billing.name, clock=clock)
        # imports are rare and wait on the network anyway: children forked on demand
        evaluator = Evaluator(attrs.evolve(settings.evaluation, warm=0))
        return cls(
            session_factory=session_factory,
            storage=make_storage(settings.jobs),
            hooks=launchpad.hooks,
            jobs=settings.jobs,
            public_url=settings.public_url,
            cache_dir=settings.compiled_cache_dir,
            cache_bytes=settings.compiled_cache_bytes,
            clock=clock,
            forges=ForgeService.from_settings(settings, launchpad=launchpad, accounts=None,
                                              clock=clock),
            templates=TemplateService(quotas=quotas, clock=clock, evaluator=evaluator,
                                      cache=list_cache(settings, session_factory)),
        )

    @property
    def compiled_cache(self) -> CompiledCache | None:
        """Where render children keep compiled sources (plain data for the child)."""
        if self.cache_dir is None:
            return None
        return CompiledCache(str(self.cache_dir), self.cache_bytes)

    @property
    def limits(self) -> IsolationLimits:
        return IsolationLimits(cpu_seconds=self.jobs.cpu_seconds,
                               memory_bytes=self.jobs.memory_bytes,
                               wall_seconds=self.jobs.wall_seconds,
                               nice=10)  # the API's threads first, where they share a machine

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed when the block succeeds, rolled back otherwise."""
        db = self.session_factory()
        try:
            yield db
            db.commit()
        except BaseException:
            db.rollback()
            raise
        finally:
            db.close()
