"""Artifacts in an S3-compatible bucket (AWS S3, MinIO, ...), through boto3.

The same keys as the local folder: ``<job id>/<token>/artifact.<format>``, one
object per format (``<job id>/<token>.zip`` for a job stored before). Renders
still write into a local staging folder (the render child writes files);
:meth:`S3ArtifactStorage.save` uploads them (multipart when large) and removes
them; a format made on its first download is added the same way. A key is
complete once ``save`` returns, and only then does the worker
name it in the job row, so readers never see half of one; what a worker killed
mid-upload leaves is listed like any other key and the sweeper deletes it as an
orphan. Objects are streamed back through the API, or, with
``LAUNCHPAD_ARTIFACT_DOWNLOADS=redirect``, downloaded from a presigned URL.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .archives import FORMATS, MEDIA_TYPES, UPDATE_FORMATS
from .settings import BucketSettings
from .storage import (
    LocalArtifactStorage,
    StoredArtifact,
    check_formats,
    check_key,
    file_name,
    primary_format,
    sha256_of,
)

_OBJECT = re.compile(r"([0-9a-f-]{36}/[A-Za-z0-9_-]{1,64})"
                     r"(?:/artifact\.(?:zip|tar\.gz|patch|conflicts\.json)|(\.zip))")
_SAFE = re.compile(r"[^A-Za-z0-9._-]")  # a file name as a header value signed in the URL
_MISSING = {"NoSuchKey", "NotFound", "404"}


class ObjectStream(io.RawIOBase):
    """An object's body as a readable file, with its ``length`` (Content-Length)."""

    def __init__(self, body: Any, length: int):
        self.body = body
        self.length = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.body.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self.body.close()
        super().close()


class S3ArtifactStorage:
    """Artifacts as objects of one bucket; staging in a local folder under ``staging_root``."""

    def __init__(self, client: Any, bucket: str, staging_root: Path, *,
                 redirect: bool = False, url_seconds: int = 300):
        self.client = client
        self.bucket = bucket
        self.local = LocalArtifactStorage(staging_root)  # staging and its purge only
        self.redirect = redirect
        self.url_seconds = url_seconds

    @classmethod
    def from_settings(cls, settings: BucketSettings, staging_root: Path) -> S3ArtifactStorage:
        client = boto3.session.Session().client(
            "s3", endpoint_url=settings.endpoint_url, region_name=settings.region,
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
            aws_session_token=settings.session_token,
            config=Config(retries={"mode": "standard"}, signature_version="s3v4",
                          s3={"addressing_style": "path" if settings.endpoint_url else "auto"}))
        return cls(client, settings.bucket, staging_root,
                   redirect=settings.downloads == "redirect",
                   url_seconds=int(settings.url_lifetime.total_seconds()))

    @property
    def root(self) -> Path:
        """The local folder renders stage in (nothing is stored there)."""
        return self.local.root

    def staging(self) -> contextlib.AbstractContextManager[Path]:
        return self.local.staging()

    def purge_staging(self, older_than: datetime) -> list[str]:
        return self.local.purge_staging(older_than)

    def save(self, key: str, files: Mapping[str, Path]) -> StoredArtifact:
        check_key(key)
        check_formats(key, files)
        primary = files[primary_format(files)]
        stored = StoredArtifact(key, primary.stat().st_size, sha256_of(primary))
        try:
            for fmt, path in files.items():
                self.client.upload_file(str(path), self.bucket, file_name(key, fmt),
                                        ExtraArgs={"ContentType": MEDIA_TYPES[fmt]})
        except BaseException:
            self.delete(key)
            raise
        for path in files.values():
            path.unlink()
        return stored

    def add(self, key: str, fmt: str, path: Path) -> None:
        name = file_name(key, fmt)
        try:
            self.client.head_object(Bucket=self.bucket, Key=file_name(key, FORMATS[0]))
        except ClientError as exc:
            raise _missing(exc, key, FORMATS[0]) from None
        self.client.upload_file(str(path), self.bucket, name,
                                ExtraArgs={"ContentType": MEDIA_TYPES[fmt]})
        path.unlink()

    def open(self, key: str, fmt: str) -> BinaryIO:
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=file_name(key, fmt))
        except ClientError as exc:
            raise _missing(exc, key, fmt) from None
        return cast(BinaryIO, ObjectStream(found["Body"], found["ContentLength"]))

    def download_url(self, key: str, fmt: str, filename: str) -> str | None:
        if not self.redirect:
            return None
        name = file_name(key, fmt)
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
        except ClientError as exc:
            raise _missing(exc, key, fmt) from None
        return self.client.generate_presigned_url("get_object", ExpiresIn=self.url_seconds, Params={
            "Bucket": self.bucket, "Key": name, "ResponseContentType": MEDIA_TYPES[fmt],
            "ResponseContentDisposition": f'attachment; filename="{_SAFE.sub("_", filename)}"'})

    def delete(self, key: str) -> None:
        check_key(key)
        names = [key] if key.endswith(".zip") else [file_name(key, fmt)
                                                      for fmt in (*FORMATS, *UPDATE_FORMATS)]
        self.client.delete_objects(Bucket=self.bucket, Delete={
            "Objects": [{"Key": name} for name in names], "Quiet": True})

    def listing(self) -> Iterator[tuple[str, datetime]]:
        written: dict[str, datetime] = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            for entry in page.get("Contents", ()):
                match = _OBJECT.fullmatch(entry["Key"])
                if match:
                    key = match[1] + (match[2] or "")
                    written[key] = max(written.get(key, entry["LastModified"]),
                                       entry["LastModified"])
        yield from written.items()


def _missing(exc: ClientError, key: str, fmt: str) -> Exception:
    if exc.response.get("Error", {}).get("Code") in _MISSING:
        return FileNotFoundError(f"{key} is not stored as {fmt}")
    return exc
