"""HTTP nouns of the templates domain: templates, their versions and previews.

Who may do what is in :mod:`launchpad_web.templates.access`. A template's
``ETag`` is ``"v<version>"``; ``PUT`` needs ``If-Match`` with it (412 when stale)
or the ``version`` field (409 when stale), and ``DELETE`` honours ``If-Match``.
"""

from __future__ import annotations

import uuid
from typing import Any

import falcon

from ..accounts.auth import current_user, require_user
from ..converter import unstructure
from ..errors import PayloadTooLargeError, UnsupportedMediaTypeError, ValidationFailedError
from ..openapi import Route, operation
from ..request_bodies import read_json
from .cache import ListPages
from .schemas import (
    FormRequest,
    FormView,
    ImportedTemplateView,
    PreviewRequest,
    PreviewView,
    TemplatePage,
    TemplateRequest,
    TemplateUpdateRequest,
    TemplateVersionList,
    TemplateVersionView,
    TemplateView,
    VersionDiffView,
)
from .services import PAGE_DEFAULT, PAGE_MAX, ListQuery, TemplateService
from .transfer import TemplateTransfer

ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")


def _answer_template(resp: falcon.Response, view: TemplateView) -> None:
    resp.etag = view.etag
    resp.media = unstructure(view)


def page_size(raw: str | None, *, default: int = PAGE_DEFAULT, most: int = PAGE_MAX) -> int:
    """``?limit=``: a whole number from 1 to ``most``; ``default`` when it is absent."""
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(most))
            and 1 <= int(raw) <= most):
        raise ValidationFailedError.one(
            "invalid_value", f"limit is a whole number from 1 to {most}", "limit")
    return int(raw)


def uuid_param(raw: str | None, name: str) -> uuid.UUID | None:
    """An optional id in the query string (``?team_id=``); 422 at ``name`` if not a UUID."""
    try:
        return None if raw is None else uuid.UUID(raw)
    except ValueError:
        raise ValidationFailedError.one("invalid_value", f"{name} is a UUID", name) from None


class TemplatesResource:
    def __init__(self, templates: TemplateService, cache: ListPages | None):
        self.templates = templates
        self.cache = cache

    @operation(
        "My templates and my teams' ones, by name: ?limit=1..100 (20), ?cursor= "
        "from next_cursor, ?team_id= for one team's, ?q= for names containing it",
        responses={200: TemplatePage},
        problems=(400, 404, 422),
        auth=True,
    )
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        query = ListQuery(
            limit=page_size(req.get_param("limit")),
            cursor=req.get_param("cursor"),
            team_id=uuid_param(req.get_param("team_id"), "team_id"),
            search=req.get_param("q") or None,
        )
        self._answer_page(req, resp, current_user(req).id, query)

    def _answer_page(
        self, req: falcon.Request, resp: falcon.Response, user_id: uuid.UUID, query: ListQuery
    ) -> None:
        """From the cache (its JSON as stored: no database, no decoding) when there is one."""

        def load() -> Any:
            return unstructure(self.templates.list(req.context.db, user_id=user_id, query=query))

        if self.cache is None:
            resp.media = load()
            return
        resp.data = self.cache.page(user_id=user_id, query=query.as_key(), load=load)
        resp.content_type = falcon.MEDIA_JSON

    @operation(
        "Create a template (checked by the core; in a team if team_id is given)",
        request=TemplateRequest,
        responses={201: TemplateView},
        problems=(402, 404, 429, 503),
        auth=True,
    )
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = read_json(req, TemplateRequest)
        view = self.templates.create(req.context.db, user_id=current_user(req).id, request=body)
        resp.status = falcon.HTTP_201
        resp.location = f"/api/templates/{view.id}"
        _answer_template(resp, view)


class TemplateResource:
    def __init__(self, templates: TemplateService):
        self.templates = templates

    @operation(
        "A template with its latest definition (ETag: its version)",
        responses={200: TemplateView},
        problems=(404,),
        auth=True,
    )
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        view = self.templates.get(
            req.context.db, user_id=current_user(req).id, template_id=template_id
        )
        _answer_template(resp, view)

    @operation(
        "Save a new version (If-Match or version: the version it is based on)",
        request=TemplateUpdateRequest,
        responses={200: TemplateView},
        problems=(403, 404, 409, 412, 428, 429, 503),
        auth=True,
    )
    @falcon.before(require_user)
    def on_put(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        body = read_json(req, TemplateUpdateRequest)
        view = self.templates.update(
            req.context.db,
            user_id=current_user(req).id,
            template_id=template_id,
            request=body,
            if_match=req.get_header("If-Match"),
        )
        _answer_template(resp, view)

    @operation(
        "Delete a template and all its versions",
        responses={204: None},
        problems=(403, 404, 412),
        auth=True,
    )
    @falcon.before(require_user)
    def on_delete(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        self.templates.delete(
            req.context.db,
            user_id=current_user(req).id,
            template_id=template_id,
            if_match=req.get_header("If-Match"),
        )
        resp.status = falcon.HTTP_204


class VersionsResource:
    def __init__(self, templates: TemplateService):
        self.templates = templates

    @operation(
        "Every saved version of a template, oldest first",
        responses={200: TemplateVersionList},
        problems=(404,),
        auth=True,
    )
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        versions = self.templates.versions(
            req.context.db, user_id=current_user(req).id, template_id=template_id
        )
        resp.media = unstructure(TemplateVersionList(tuple(versions)))


class VersionResource:
    def __init__(self, templates: TemplateService):
        self.templates = templates

    @operation(
        "One saved version of a template, with its definition",
        responses={200: TemplateVersionView},
        problems=(404,),
        auth=True,
    )
    @falcon.before(require_user)
    def on_get(
        self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID, number: str
    ) -> None:
        version = self.templates.version(
            req.context.db, user_id=current_user(req).id, template_id=template_id, number=number
        )
        resp.media = unstructure(version)


class PreviewResource:
    def __init__(self, templates: TemplateService):
        self.templates = templates

    @operation(
        "Render a template with answers, in a resource-limited process: the files",
        request=PreviewRequest,
        responses={200: PreviewView},
        problems=(404, 429, 503),
        auth=True,
    )
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        body = read_json(req, PreviewRequest)
        preview = self.templates.preview(
            req.context.db, user_id=current_user(req).id, template_id=template_id, request=body
        )
        resp.media = unstructure(preview)


class FormResource:
    def __init__(self, templates: TemplateService):
        self.templates = templates

    @operation(
        "A generate form's questions for the answers so far: which apply (their when), "
        "each one's value or current default, and the answers' problems",
        request=FormRequest,
        responses={200: FormView},
        problems=(404, 429, 503),
        auth=True,
    )
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        body = read_json(req, FormRequest)
        form = self.templates.form(
            req.context.db, user_id=current_user(req).id, template_id=template_id, request=body
        )
        resp.media = unstructure(form)


def read_zip(req: falcon.Request) -> bytes:
    """The request body as a zip upload: 415 for another media type, 413 past the limit."""
    media_type = (req.content_type or "").partition(";")[0].strip().lower()
    if media_type not in ZIP_TYPES:
        raise UnsupportedMediaTypeError(f"send the zip as application/zip, not "
                                        f"{media_type or 'no Content-Type'}")
    limit = req.context.max_body_bytes
    data = req.bounded_stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLargeError(f"at most {limit} bytes are accepted")
    return data


class TemplateImportResource:
    def __init__(self, transfer: TemplateTransfer):
        self.transfer = transfer

    @operation(
        "Import a zipped Copier, Cookiecutter or LaunchPad template directory (the body, "
        "application/zip; ?format= to choose the importer): its definition, not saved",
        responses={200: ImportedTemplateView},
        problems=(413, 415, 422, 429, 503),
        auth=True,
    )
    @falcon.before(require_user)
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        imported = self.transfer.import_zip(req.context.db, user_id=current_user(req).id,
                                            archive=read_zip(req),
                                            format=req.get_param("format") or None)
        resp.media = unstructure(imported)


class TemplateExportResource:
    def __init__(self, transfer: TemplateTransfer):
        self.transfer = transfer

    @operation(
        "The template as a zip of a LaunchPad template directory (launchpad.json beside "
        "its files; ?version= for an older one)",
        responses={200: None},
        problems=(404,),
        auth=True,
    )
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        name, data = self.transfer.export_zip(req.context.db, user_id=current_user(req).id,
                                              template_id=template_id,
                                              version=req.get_param("version"))
        resp.content_type = "application/zip"
        resp.downloadable_as = name
        resp.data = data


class VersionDiffResource:
    def __init__(self, transfer: TemplateTransfer):
        self.transfer = transfer

    @operation(
        "What changed from version ?from= to version ?to=: a unified diff per file",
        responses={200: VersionDiffView},
        problems=(404, 422),
        auth=True,
    )
    @falcon.before(require_user)
    def on_get(self, req: falcon.Request, resp: falcon.Response, template_id: uuid.UUID) -> None:
        resp.media = unstructure(self.transfer.diff(
            req.context.db, user_id=current_user(req).id, template_id=template_id,
            from_version=req.get_param("from"), to_version=req.get_param("to")))


def routes(*, templates: TemplateService, cache: ListPages | None,
           transfer: TemplateTransfer) -> list[Route]:
    template = "/api/templates/{template_id:uuid}"
    return [
        Route("/api/templates", TemplatesResource(templates, cache)),
        Route("/api/templates/import", TemplateImportResource(transfer)),
        Route(f"{template}/export", TemplateExportResource(transfer)),
        Route(f"{template}/diff", VersionDiffResource(transfer)),
        Route(template, TemplateResource(templates)),
        Route(f"{template}/versions", VersionsResource(templates)),
        Route(f"{template}/versions/{{number}}", VersionResource(templates)),
        Route(f"{template}/preview", PreviewResource(templates)),
        Route(f"{template}/form", FormResource(templates)),
    ]
