"""Both artifact storages, each on a real peer (a directory; a bucket of moto's S3
server on loopback): formats saved at once from staging, the tar.gz made from the
zip on first need, jobs stored before
(a zip alone), listing, deletion, stale staging folders, download URLs."""

from __future__ import annotations

import os
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from launchpad_core.render.archives import ArchiveEntry, TarGzSink, ZipSink
from launchpad_web.jobs.archives import FORMATS, UPDATE_FORMATS
from launchpad_web.jobs.object_storage import S3ArtifactStorage
from launchpad_web.jobs.storage import (
    STAGING,
    ArtifactStorage,
    LocalArtifactStorage,
    artifact_formats,
    artifact_key,
    derive,
    make_storage,
    stream_length,
)
from launchpad_web.settings import WebSettings


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactStorage:
    env = {"LAUNCHPAD_DATA_DIR": str(tmp_path)}
    if request.param == "s3":
        env.update(request.getfixturevalue("bucket_env"))
    built = make_storage(WebSettings.from_env(env).jobs)
    assert isinstance(built, S3ArtifactStorage if request.param == "s3" else LocalArtifactStorage)
    return built


def put(storage: ArtifactStorage, name: str, data: bytes) -> None:
    """A file or object written below the storage's root by someone else."""
    if isinstance(storage, S3ArtifactStorage):
        storage.client.put_object(Bucket=storage.bucket, Key=name, Body=data)
    else:
        (storage.root / name).parent.mkdir(parents=True, exist_ok=True)
        (storage.root / name).write_bytes(data)


def stored_names(storage: ArtifactStorage) -> set[str]:
    """Every object, or every file outside staging, below the storage's root."""
    if isinstance(storage, S3ArtifactStorage):
        listed = storage.client.list_objects_v2(Bucket=storage.bucket)
        return {entry["Key"] for entry in listed.get("Contents", ())}
    return {path.relative_to(storage.root).as_posix() for path in storage.root.rglob("*")
            if path.is_file() and STAGING not in path.parts}


def write_formats(folder: Path, text: str = "project") -> dict[str, Path]:
    files = {fmt: folder / f"{fmt}.part" for fmt in FORMATS}
    for fmt, path in files.items():
        path.write_bytes(f"{text} as {fmt}".encode())
    return files


def saved(storage: ArtifactStorage, job_id: uuid.UUID | None = None) -> str:
    key = artifact_key(job_id or uuid.uuid4(), uuid.uuid4().hex[:16])
    with storage.staging() as staging:
        storage.save(key, write_formats(staging))
    return key


def legacy(storage: ArtifactStorage, job_id: uuid.UUID | None = None) -> str:
    """An artifact as stored before both formats were kept: ``<job>/<token>.zip``."""
    key = f"{job_id or uuid.uuid4()}/{uuid.uuid4().hex[:16]}.zip"
    put(storage, key, b"PK old")
    return key


def age(path: Path, by: timedelta) -> None:
    when = (datetime.now(UTC) - by).timestamp()
    os.utime(path, (when, when))


def test_both_formats_are_moved_in_at_once_and_staging_is_emptied(storage):
    key = artifact_key(uuid.uuid4(), "t0ken")
    with storage.staging() as staging:
        assert staging.parent == storage.root / STAGING
        assert os.stat(staging).st_dev == os.stat(storage.root).st_dev
        files = write_formats(staging)
        stored = storage.save(key, files)
        assert not any(path.exists() for path in files.values())  # moved, not copied
    assert not staging.exists()
    assert (stored.key, stored.size) == (key, len(b"project as zip"))
    for fmt in FORMATS:
        with storage.open(key, fmt) as stream:
            assert stream_length(stream) == len(f"project as {fmt}")
            assert stream.read() == f"project as {fmt}".encode()
    assert artifact_formats(key) == FORMATS
    assert list(storage.root.joinpath(STAGING).iterdir()) == []
    assert stored_names(storage) == {f"{key}/artifact.{fmt}" for fmt in FORMATS}
    assert storage.download_url(key, "zip", "x.zip") is None  # streamed by default


def test_a_save_needs_the_zip_known_formats_and_a_key_without_suffix(storage):
    with storage.staging() as staging:
        files = write_formats(staging)
        with pytest.raises(ValueError, match="saved as a zip"):
            storage.save(artifact_key(uuid.uuid4(), "t"), {"tar.gz": files["tar.gz"]})
        with pytest.raises(ValueError, match="saved as a zip"):
            storage.save(artifact_key(uuid.uuid4(), "t"), {**files, "rar": files["zip"]})
        with pytest.raises(ValueError, match="saved as a zip"):
            storage.save(f"{uuid.uuid4()}/t.zip", files)
        with pytest.raises(ValueError, match="not an artifact key"):
            storage.save("../../etc/passwd", files)
    assert stored_names(storage) == set()


def test_an_updates_patch_and_conflicts_are_one_set(storage):
    key = artifact_key(uuid.uuid4(), "u")
    with storage.staging() as staging:
        files = {fmt: staging / f"{fmt}.part" for fmt in UPDATE_FORMATS}
        for fmt, path in files.items():
            path.write_bytes(f"update {fmt}".encode())
        with pytest.raises(ValueError, match="every format"):
            storage.save(key, {"patch": files["patch"], "zip": files["conflicts.json"]})
        stored = storage.save(key, files)
    assert stored.size == len(b"update patch")
    for fmt in UPDATE_FORMATS:
        with storage.open(key, fmt) as stream:
            assert stream.read() == f"update {fmt}".encode()
    assert stored_names(storage) == {f"{key}/artifact.{fmt}" for fmt in UPDATE_FORMATS}
    assert [k for k, _ in storage.listing()] == [key]
    with pytest.raises(FileNotFoundError):
        storage.open(key, "zip")
    storage.delete(key)
    assert stored_names(storage) == set()
ENTRIES = [ArchiveEntry("app/", 0o755), ArchiveEntry("app/empty/", 0o700),
           ArchiveEntry("app/link", 0o777, b"run.sh", symlink=True),
           ArchiveEntry("app/run.sh", 0o755, b"#!/bin/sh\necho hi\n"),
           ArchiveEntry("app/\u00e9t\u00e9.txt", 0o644, "\u00e9".encode() * 300),
           ArchiveEntry("app/zero.txt", 0o600, b"")]


def test_a_tar_gz_is_made_from_the_zip_on_first_need_as_the_render_would_write_it(storage):
    key = artifact_key(uuid.uuid4(), "t")
    with storage.staging() as staging:
        ZipSink(staging / "zip").write_entries(ENTRIES)
        storage.save(key, {"zip": staging / "zip"})
        TarGzSink(staging / "expected").write_entries(ENTRIES)
        expected = (staging / "expected").read_bytes()
    assert stored_names(storage) == {f"{key}/artifact.zip"}
    with pytest.raises(FileNotFoundError):
        storage.open(key, "tar.gz")
    derive(storage, key, "tar.gz")
    with storage.open(key, "tar.gz") as made:  # byte for byte: modes, links, folders ...
        assert made.read() == expected
    assert stored_names(storage) == {f"{key}/artifact.{fmt}" for fmt in FORMATS}
    assert not any(storage.root.joinpath(STAGING).iterdir())

    with pytest.raises(FileNotFoundError):
        derive(storage, key, "zip")  # the zip is made by the render alone
    with pytest.raises(FileNotFoundError):
        derive(storage, legacy(storage), "tar.gz")  # stored before: zip only
    storage.delete(key)
    with pytest.raises(FileNotFoundError):
        derive(storage, key, "tar.gz")
    assert stored_names(storage) == {name for name in stored_names(storage)
                                     if name.endswith(".zip") and "/artifact" not in name}


def test_staging_is_removed_with_what_it_holds_when_the_render_fails(storage):
    with pytest.raises(RuntimeError), storage.staging() as staging:
        write_formats(staging)
        raise RuntimeError("the render failed")
    assert not staging.exists()


def test_a_job_stored_before_has_its_zip_alone(storage):
    key = legacy(storage)
    assert artifact_formats(key) == ("zip",)
    with storage.open(key, "zip") as stream:
        assert stream.read() == b"PK old"
    with pytest.raises(FileNotFoundError, match=r"not stored as tar\.gz"):
        storage.open(key, "tar.gz")


def test_listing_names_new_and_old_keys_but_not_staging_or_strays(storage):
    job = uuid.uuid4()
    new, old = saved(storage, job), legacy(storage, job)
    with storage.staging() as staging:
        write_formats(staging)
        put(storage, f"{job}/.a1b2.tmp", b"")  # an old writer's stray
        put(storage, "README", b"not a job")
        assert sorted(key for key, _ in storage.listing()) == sorted([new, old])
    written = dict(storage.listing())[new]
    assert abs(written - datetime.now(UTC)) < timedelta(minutes=1)


def test_deleting_removes_every_format_and_an_empty_job_folder(storage):
    job = uuid.uuid4()
    first, second, old = saved(storage, job), saved(storage, job), legacy(storage, job)
    storage.delete(first)
    assert not any(name.startswith(first) for name in stored_names(storage))
    assert {key for key, _ in storage.listing()} == {second, old}
    storage.delete(old)
    storage.delete(second)
    storage.delete(second)  # gone already: nothing happens
    assert stored_names(storage) == set()
    assert not (storage.root / str(job)).exists()
    with pytest.raises(FileNotFoundError):
        storage.open(second, "zip")


def test_stale_staging_folders_are_purged_fresh_ones_kept(storage):
    with storage.staging() as abandoned, storage.staging() as writing, \
            storage.staging() as fresh:
        for folder in (abandoned, writing):
            (folder / "artifact.zip").write_bytes(b"PK")
            age(folder / "artifact.zip", timedelta(hours=2))
            age(folder, timedelta(hours=2))
        (writing / "artifact.tar.gz").write_bytes(b"being written")  # touched just now
        age(writing, timedelta(hours=2))
        purged = storage.purge_staging(datetime.now(UTC) - timedelta(hours=1))
        assert purged == [abandoned.name]
        assert not abandoned.exists()
        assert writing.exists() and fresh.exists()
    assert LocalArtifactStorage(storage.root / "none").purge_staging(datetime.now(UTC)) == []


def test_an_s3_storage_answers_presigned_urls_that_download_the_archive(tmp_path, s3_server):
    env = {"LAUNCHPAD_DATA_DIR": str(tmp_path), "LAUNCHPAD_ARTIFACT_DOWNLOADS": "redirect",
           "LAUNCHPAD_ARTIFACT_URL_SECONDS": "60", **s3_server.env(s3_server.new_bucket())}
    storage = make_storage(WebSettings.from_env(env).jobs)
    key = saved(storage)
    url = storage.download_url(key, "tar.gz", "my app.tar.gz")
    assert url.startswith(f"{s3_server.url}/{storage.bucket}/{key}/artifact.tar.gz?")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    # signed into the URL; S3 and MinIO answer with them (moto ignores them)
    assert query["response-content-disposition"] == ['attachment; filename="my_app.tar.gz"']
    assert query["response-content-type"] == ["application/gzip"]
    assert query["X-Amz-Expires"] == ["60"] and query["X-Amz-Signature"]
    with urllib.request.urlopen(url, timeout=10) as answer:
        assert answer.read() == b"project as tar.gz"
    storage.delete(key)
    with pytest.raises(FileNotFoundError):
        storage.download_url(key, "zip", "x.zip")
    with pytest.raises(FileNotFoundError):
        storage.open(key, "zip")


def test_a_large_archive_is_uploaded_in_parts_and_streams_back_whole(tmp_path, s3_server):
    storage = make_storage(WebSettings.from_env(
        {"LAUNCHPAD_DATA_DIR": str(tmp_path), **s3_server.env(s3_server.new_bucket())}).jobs)
    big = os.urandom(9 * 1024 * 1024)  # over boto3's 8 MiB multipart threshold
    key = artifact_key(uuid.uuid4(), "big")
    with storage.staging() as staging:
        files = write_formats(staging)
        files["zip"].write_bytes(big)
        stored = storage.save(key, files)
    assert stored.size == len(big)
    head = storage.client.head_object(Bucket=storage.bucket, Key=f"{key}/artifact.zip")
    assert head["ETag"].strip('"').endswith("-2")  # two parts
    with storage.open(key, "zip") as stream:
        assert stream_length(stream) == len(big) and stream.read() == big
