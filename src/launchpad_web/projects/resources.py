"""HTTP nouns of the projects domain: my projects, one project, a template's fleet.

Who may do what is in :mod:`launchpad_web.projects.access`. Projects are recorded
by the job that makes them (:mod:`.records`); there is no ``POST``.
"""

from __future__ import annotations

import uuid

import falcon

from ..accounts.auth import current_user, require_user
from ..converter import unstructure
from ..openapi import Route, operation
from ..request_bodies import JSON_HANDLER
from ..templates.resources import page_size, uuid_param
from .fleet_cache import FleetCache
from .schemas import FleetView, ProjectPage, ProjectView
from .services import (
    FLEET_DEFAULT,
    FLEET_MAX,
    PAGE_DEFAULT,
    PAGE_MAX,
    ListQuery,
    Page,
    ProjectService,
)


class ProjectsResource:
    def __init__(self, projects: ProjectService):
        self.projects = projects

    @operation(f"My projects and my teams' ones, newest first: ?limit=1..{PAGE_MAX} "
               f"({PAGE_DEFAULT}), ?cursor= from next_cursor, ?team_id= for one team's, "
               "?template_id= for one template's", responses={200: ProjectPage},
               problems=(404, 422), auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        query = ListQuery(limit=page_size(req.get_param("limit")),
                          cursor=req.get_param("cursor"),
                          team_id=uuid_param(req.get_param("team_id"), "team_id"),
                          template_id=uuid_param(req.get_param("template_id"), "template_id"))
        page = self.projects.list(req.context.db, user_id=current_user(req).id, query=query)
        resp.media = unstructure(page)


class ProjectResource:
    def __init__(self, projects: ProjectService):
        self.projects = projects

    @operation("A project: its template version, answers (secrets redacted), maker, "
               "archive and destination", responses={200: ProjectView}, problems=(404,),
               auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, project_id: uuid.UUID) -> None:
        resp.media = unstructure(self.projects.get(
            req.context.db, user_id=current_user(req).id, project_id=project_id))

    @operation("Forget a project (its job and archive stay)", responses={204: None},
               problems=(403, 404), auth=True)
    @falcon.before(require_user)
    def on_delete(self, req: falcon.Request, resp: falcon.Response,
                  project_id: uuid.UUID) -> None:
        self.projects.delete(req.context.db, user_id=current_user(req).id,
                             project_id=project_id)
        resp.status = falcon.HTTP_204


class FleetResource:
    """Answers from this process's :class:`FleetCache` while the fleet's fingerprint
    is unchanged (one small query), else built and kept."""

    def __init__(self, projects: ProjectService, cache: FleetCache):
        self.projects = projects
        self.cache = cache

    @operation("The fleet: every project made from the template that you can see (a team "
               "template's: the team's), its version and how many versions behind, with "
               f"counts per version; ?limit=1..{FLEET_MAX} ({FLEET_DEFAULT}) and ?cursor= "
               "page the projects; would_conflict is the update's merge, computed in the "
               "background (null while unknown)",
               responses={200: FleetView}, problems=(404, 422), auth=True)
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        page = Page(page_size(req.get_param("limit"), default=FLEET_DEFAULT, most=FLEET_MAX),
                    req.get_param("cursor"))
        db, user_id = req.context.db, current_user(req).id
        resp.data = self.cache.answer(
            user_id=user_id, template_id=template_id, page=(page.limit, page.cursor),
            fingerprint=self.projects.fingerprint(db, user_id=user_id, template_id=template_id),
            build=lambda: JSON_HANDLER.serialize(unstructure(self.projects.fleet(
                db, user_id=user_id, template_id=template_id, page=page)), falcon.MEDIA_JSON))
        resp.content_type = falcon.MEDIA_JSON


def routes(*, projects: ProjectService) -> list[Route]:
    return [
        Route("/api/projects", ProjectsResource(projects)),
        Route("/api/projects/{project_id:uuid}", ProjectResource(projects)),
        Route("/api/templates/{template_id:uuid}/fleet", FleetResource(projects, FleetCache())),
    ]
