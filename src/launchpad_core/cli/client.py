"""A client of the hosted LaunchPad API, for ``launchpad login``, ``push`` and ``generate``.

Standard library only (``urllib``). The API answers errors as RFC 9457 problem
documents; each becomes one :class:`HostedError` with the problem's ``code``
and, where it names one, its ``field``. The API token ``launchpad login``
creates is kept with the service's URL in ``credentials.json`` of the user's
config directory, readable by the user only (mode 0600).
"""

from __future__ import annotations

import http.cookiejar
import io
import json
import os
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from ..errors import LaunchpadError, LoadError
from ..model.output import RenderedFile
from ..render.paths import check_output_path

CREDENTIALS_FILE = "credentials.json"
TIMEOUT = 30  # seconds per request
MAX_ARCHIVE_BYTES = 1 << 30  # unpacked; a hosted job is bounded far below this
FINISHED = ("completed", "failed")


#: The code of a :class:`HostedError` for a service that did not answer.
UNREACHABLE = "unreachable"
#: Pauses before sending a generation again (under its idempotency key).
GENERATE_RETRIES = (0.5, 2.0)


class HostedError(LaunchpadError):
    """The hosted service refused a request or could not be reached."""

    code = "hosted_error"

    def __init__(self, message: str, *, code: str = "hosted_error", field: str | None = None,
                 status: int | None = None):
        super().__init__(message, path=field)
        self.code = code
        self.status = status


@attrs.frozen
class Credentials:
    url: str
    token: str

    @classmethod
    def read(cls, config_dir: Path) -> Credentials:
        path = config_dir / CREDENTIALS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(url=str(data["url"]), token=str(data["token"]))
        except FileNotFoundError:
            raise HostedError("not logged in: run `launchpad login URL` first") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise HostedError(f"{path} is unreadable ({exc}); run `launchpad login URL`") from None

    def write(self, config_dir: Path) -> Path:
        """Store atomically, created with mode 0600 (never readable by others, even briefly)."""
        config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = config_dir / CREDENTIALS_FILE
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump({"url": self.url, "token": self.token}, stream)
        os.chmod(tmp, stat.S_IRUSR | stat.S_IWUSR)
        os.replace(tmp, path)
        return path


def normalized_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HostedError(f"{url!r} is not an http(s) URL of a LaunchPad service")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


class HostedClient:
    """Calls the API at ``url``, with an API ``token`` or with the cookies of a login."""

    def __init__(self, url: str, token: str | None = None):
        self.url = normalized_url(url)
        self.token = token
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self._csrf: str | None = None

    # -- transport ---------------------------------------------------------------------------
    def call(self, method: str, path: str, body: Any = None,
             headers: Mapping[str, str] | None = None) -> Any:
        """The JSON answer of one request (None for 204); a problem raises :class:`HostedError`."""
        with self._open(method, path, body, headers) as response:
            self._csrf = response.headers.get("X-CSRF-Token") or self._csrf
            data = response.read()
        return json.loads(data) if data else None

    def _open(self, method: str, path: str, body: Any = None,
              headers: Mapping[str, str] | None = None) -> Any:
        sent = {"Accept": "application/json", **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        elif self._csrf:
            sent["X-CSRF-Token"] = self._csrf
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=sent)
        try:
            return self._opener.open(request, timeout=TIMEOUT)
        except urllib.error.HTTPError as exc:
            with exc:
                raise _problem(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise HostedError(f"cannot reach {self.url}: {reason}", code=UNREACHABLE) from None

    # -- accounts ----------------------------------------------------------------------------
    def create_token(self, email: str, password: str, *, name: str) -> str:
        """Sign in with a password and create an API token named ``name``: its secret."""
        self.call("POST", "/api/auth/login", {"email": email, "password": password})
        token = self.call("POST", "/api/tokens", {"name": name})["token"]
        self.call("POST", "/api/auth/logout")
        return token

    def me(self) -> dict[str, Any]:
        return self.call("GET", "/api/me")

    # -- templates ---------------------------------------------------------------------------
    def templates(self) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            query = urllib.parse.urlencode({"limit": 100, **({"cursor": cursor} if cursor else {})})
            page = self.call("GET", f"/api/templates?{query}")
            yield from page["templates"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def find_template(self, ref: str) -> dict[str, Any]:
        """The template with the id or the name ``ref`` (with its definition)."""
        if _is_uuid(ref):
            return self.call("GET", f"/api/templates/{ref}")
        named = [t for t in self.templates() if t["name"] == ref]
        if not named:
            raise HostedError(f"no hosted template named {ref!r}", code="not_found")
        if len(named) > 1:
            ids = ", ".join(t["id"] for t in named)
            raise HostedError(f"{len(named)} hosted templates are named {ref!r}; give the id "
                              f"({ids})", code="ambiguous")
        return self.call("GET", f"/api/templates/{named[0]['id']}")

    def push(self, name: str, definition: Mapping[str, Any], *,
             template_id: str | None = None) -> tuple[dict[str, Any], bool]:
        """Save ``definition`` as a new version of the template with that id (or, without
        one, of the only template called ``name``), or create it: (the template, created)."""
        try:
            current = self.find_template(template_id or name)
        except HostedError as exc:
            if template_id or exc.code != "not_found":
                raise
            return self.call("POST", "/api/templates",
                             {"name": name, "definition": definition}), True
        body = {"name": name, "definition": definition, "version": current["version"]}
        return self.call("PUT", f"/api/templates/{current['id']}", body), False

    # -- jobs --------------------------------------------------------------------------------
    def generate(self, template_id: str, answers: Mapping[str, Any]) -> dict[str, Any]:
        """A new job; sent again under its ``Idempotency-Key`` when the service cannot be
        reached (or its answer was lost), so a retry never makes a second job."""
        key = {"Idempotency-Key": f"cli-{uuid.uuid4().hex}"}
        body = {"template_id": template_id, "answers": dict(answers)}
        for pause in GENERATE_RETRIES:
            try:
                return self.call("POST", "/api/generate", body, key)
            except HostedError as exc:
                if exc.code != UNREACHABLE:
                    raise
            time.sleep(pause)
        return self.call("POST", "/api/generate", body, key)

    def wait(self, job: dict[str, Any], *, timeout: float,
             progress: Callable[[dict[str, Any]], None] | None = None,
             interval: float = 0.5) -> dict[str, Any]:
        """Poll the job until it has finished; ``progress`` sees each new log step."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for step in job.get("log", [])[seen:]:
                if progress is not None:
                    progress(step)
            seen = max(seen, len(job.get("log", [])))
            if job["status"] in FINISHED:
                return job
            if time.monotonic() > deadline:
                raise HostedError(f"job {job['id']} has not finished after {timeout:g} s "
                                  f"(still {job['status']})", code="timeout")
            time.sleep(interval)
            job = self.call("GET", f"/api/generate/{job['id']}")

    def download(self, job_id: str) -> bytes:
        with self._open("GET", f"/api/generate/{job_id}/download?format=zip") as response:
            return response.read()


def _is_uuid(text: str) -> bool:
    import uuid

    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _problem(exc: urllib.error.HTTPError) -> HostedError:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = body.get("detail") or body.get("title") or f"HTTP {exc.code} {exc.reason}"
    errors = body.get("errors") or []
    if errors and isinstance(errors[0], dict):
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        message = f"{message}: {first.get('message', '')}{more}"
        field = first.get("field")
    else:
        field = body.get("field")
    return HostedError(f"{message} (HTTP {exc.code})", code=str(body.get("code") or "http_error"),
                       field=field, status=exc.code)


def archive_files(data: bytes, *, max_bytes: int = MAX_ARCHIVE_BYTES) -> list[RenderedFile]:
    """The files of a zip archive as :class:`RenderedFile` objects, every path checked by
    the rules rendering follows; links and over-large archives are refused."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise LoadError(f"the downloaded archive is not a zip file: {exc}") from None
    files: list[RenderedFile] = []
    total = 0
    with archive:
        for info in archive.infolist():
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise LoadError(f"the archive holds a symbolic link: {info.filename}")
            total += info.file_size
            if total > max_bytes:
                raise LoadError(f"the archive unpacks to more than {max_bytes:,} bytes")
            path = check_output_path(info.filename.rstrip("/"), source="archive")
            if info.is_dir():
                files.append(RenderedFile(path, b"", is_dir=True))
                continue
            executable = stat.S_IMODE(mode) if stat.S_IMODE(mode) & 0o111 else None
            files.append(RenderedFile(path, archive.read(info), mode=executable))
    return files
