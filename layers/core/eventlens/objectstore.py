"""Object storage: one small interface, local files (embedded default) or an S3-compatible bucket.

Writes are all-or-nothing in both: a local object appears by an atomic rename, an S3 object by a
single PUT or the completion of a multipart upload, so a crashed writer never leaves a partial
object visible.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from eventlens.settings import Settings


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes:
        """The object's bytes; KeyError when there is none."""

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix``, in lexical order."""

    def delete(self, key: str) -> None: ...

    def ping(self) -> bool: ...


class LocalObjectStore:
    """Objects as files under ``root``; keys are relative paths with ``/`` separators."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def list(self, prefix: str = "") -> Iterator[str]:
        keys = (
            path.relative_to(self.root).as_posix()
            for path in self.root.rglob("*")
            if path.is_file() and not path.name.startswith(".tmp-")
        )
        yield from sorted(key for key in keys if key.startswith(prefix))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def ping(self) -> bool:
        return self.root.is_dir() and os.access(self.root, os.W_OK)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()) or key.endswith("/") or not key:
            raise ValueError(f"not a valid object key: {key!r}")
        return path


# S3's smallest part is 5 MiB; 8 MiB parts keep a 100 MB object to 13 requests, 4 at a time.
MULTIPART_BYTES = 8 * 1024 * 1024


class S3ObjectStore:
    """Objects in an S3 bucket; honours AWS_ENDPOINT_URL(_S3) for moto, LocalStack or MinIO."""

    def __init__(self, bucket: str, client: Any | None = None) -> None:
        import boto3

        self.bucket = bucket
        self._s3 = client or boto3.client("s3")

    def put(self, key: str, data: bytes) -> None:
        """One PUT for a small object; a multipart upload, its parts sent side by side, for one of
        ``MULTIPART_BYTES`` or more (an export part of a busy day). Either way the object appears
        whole when the upload completes, or not at all."""
        if len(data) < MULTIPART_BYTES:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=data)
            return
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(
            multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES, max_concurrency=4
        )
        self._s3.upload_fileobj(io.BytesIO(data), self.bucket, key, Config=config)

    def get(self, key: str) -> bytes:
        try:
            return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            raise KeyError(key) from None

    def list(self, prefix: str = "") -> Iterator[str]:
        pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"]

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=key)

    def ping(self) -> bool:
        try:
            self._s3.head_bucket(Bucket=self.bucket)
        except Exception:
            return False
        return True


def open_object_store(settings: Settings) -> ObjectStore:
    """The bucket the settings name, or local files under $EVENTLENS_HOME/objects."""
    if settings.bucket:
        return S3ObjectStore(settings.bucket)
    return LocalObjectStore(settings.objects_path)
