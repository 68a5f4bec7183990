"""Static assets under content-hashed names: ``/static/app.<sha256:12>.css``.

Every file of ``static/`` (and ``static/vendor/``) is read once at start-up; its
hashed name is what page templates link (``asset("app.css")``), served with a
year-long ``immutable`` cache lifetime, so a CDN or proxy may keep it; a new
content is a new name. Gzip is answered to clients that accept it (compressed
once, on first use). An unknown or stale name is a 404.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from pathlib import Path

import attrs
import falcon

STATIC_DIR = Path(__file__).parent / "static"
CACHE_FOREVER = "public, max-age=31536000, immutable"
COMPRESSIBLE = (".js", ".css", ".svg", ".json", ".txt")


@attrs.frozen
class Asset:
    hashed_name: str
    content_type: str
    data: bytes


def hashed_name(path: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()[:12]
    return f"{path.stem}.{digest}{path.suffix}"


class Assets:
    """The static files by their plain name (``vendor/swagger-ui.css``) and hashed name."""

    def __init__(self, directory: Path = STATIC_DIR):
        self.by_name: dict[str, Asset] = {}
        self.by_hashed: dict[str, Asset] = {}
        self._gzipped: dict[str, bytes] = {}
        self._lock = threading.Lock()
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            data = path.read_bytes()
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            asset = Asset(hashed_name(path, data), kind, data)
            self.by_name[path.relative_to(directory).as_posix()] = asset
            self.by_hashed[asset.hashed_name] = asset

    def url(self, name: str) -> str:
        return f"/static/{self.by_name[name].hashed_name}"

    def gzipped(self, asset: Asset) -> bytes:
        with self._lock:
            if asset.hashed_name not in self._gzipped:
                self._gzipped[asset.hashed_name] = gzip.compress(asset.data, mtime=0)
            return self._gzipped[asset.hashed_name]


class StaticResource:
    def __init__(self, assets: Assets):
        self.assets = assets

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        asset = self.assets.by_hashed.get(name)
        if asset is None:
            raise falcon.HTTPNotFound()
        resp.content_type = asset.content_type
        resp.cache_control = [CACHE_FOREVER]
        resp.vary = ["Accept-Encoding"]
        accepts_gzip = "gzip" in (req.get_header("Accept-Encoding") or "").lower()
        if accepts_gzip and name.endswith(COMPRESSIBLE):
            resp.set_header("Content-Encoding", "gzip")
            resp.data = self.assets.gzipped(asset)
        else:
            resp.data = asset.data
