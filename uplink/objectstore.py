"""The S3 edge: store files and small records in central storage and confirm them.

An object counts as stored only when the store's SHA-256 answer equals ours (single PUT:
the object's digest; multipart: the AWS composite, SHA-256 over the part digests plus
``-N``). Where the bucket has object lock, objects get COMPLIANCE retention on the same
request and it is read back. botocore retries little and times out fast: the caller's
durable queue owns retrying, so failures surface quickly as `uplink.errors` classes.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from segments.hashing import hash_file
from uplink.errors import (
    LocalHashMismatch,
    RetentionError,
    UploadMismatch,
)

from .checksums import HASH_CHUNK, b64, composite_checksum, hash_parts, same_checksum
from .multipart import MultipartUpload
from .s3_client import make_client
from .s3_errors import MISSING_CODES, error_code, store_error
from .settings import ObjectStoreSettings
from .throttle import FileRange, TokenBucket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PutResult:
    """A confirmed object: what we sent and what the store answered."""

    key: str
    size: int
    sha256_hex: str
    store_checksum: str
    version_id: str | None
    etag: str
    parts: int
    retain_until: datetime | None
    confirmed_by: str  # "response", "head" or "readback"


@dataclass(frozen=True)
class ObjectInfo:
    """What HEAD tells about a stored object."""

    key: str
    size: int
    etag: str
    version_id: str | None
    checksum_sha256: str | None
    lock_mode: str | None
    retain_until: datetime | None


class ObjectStore:
    """One bucket on an S3-compatible store; thread-safe (boto3 clients are)."""

    def __init__(self, settings: ObjectStoreSettings) -> None:
        self.settings = settings
        self._bucket_lock: bool | None = None
        self._throttle = (
            TokenBucket(settings.max_bytes_per_second) if settings.max_bytes_per_second else None
        )
        self._s3: Any = make_client(settings)

    # -- bucket -------------------------------------------------------------------------

    def ensure_bucket(self, object_lock: bool = True) -> None:
        """Create the bucket (tests, demo); object lock can only be chosen at creation."""
        args: dict[str, Any] = {"Bucket": self.settings.bucket}
        if object_lock:
            args["ObjectLockEnabledForBucket"] = True
        if self.settings.region != "us-east-1":
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
        try:
            self._s3.create_bucket(**args)
        except ClientError as e:
            if error_code(e) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise store_error(self.settings, e, "creating the bucket") from e
        self._bucket_lock = None

    def lock_status(self) -> bool:
        """Whether the bucket has object lock enabled (asks the store every time)."""
        try:
            answer = self._s3.get_object_lock_configuration(Bucket=self.settings.bucket)
        except ClientError as e:
            if error_code(e) == "ObjectLockConfigurationNotFoundError":
                self._bucket_lock = False
                return False
            raise store_error(self.settings, e, "reading the bucket's object lock") from e
        except BotoCoreError as e:
            raise store_error(self.settings, e, "reading the bucket's object lock") from e
        enabled = answer.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled")
        self._bucket_lock = enabled == "Enabled"
        return self._bucket_lock

    def _locked(self) -> bool:
        if self._bucket_lock is None:
            return self.lock_status()
        return self._bucket_lock

    # -- upload -------------------------------------------------------------------------

    def put_file(
        self, key: str, path: Path, sha256_hex: str, retain_until: datetime | None = None
    ) -> PutResult:
        """Upload `path`, whose sealed hash is `sha256_hex`, and confirm it.

        Raises `LocalHashMismatch` when the file no longer has that hash (tamper),
        `UploadMismatch` when the store's answer differs, `RetentionError` when the
        retention could not be set, and the other `UploadError`s for store failures.
        """
        _check_aware(retain_until)
        path = Path(path)
        size = path.stat().st_size
        lock = self._lock_args(retain_until)
        try:
            if size > self.settings.multipart_threshold:
                result, expected = self._put_multipart(key, path, size, sha256_hex, lock)
            else:
                with path.open("rb") as f:
                    body = FileRange(f, 0, size, self._throttle)
                    result, expected = self._put_single(key, body, size, sha256_hex, lock)
        except UploadMismatch as e:
            if not isinstance(e, LocalHashMismatch) and hash_file(path)[1] != sha256_hex:
                raise _tampered(path, sha256_hex) from e
            raise
        return self._finish(result, expected, retain_until if lock else None)

    def put_bytes(self, key: str, data: bytes, retain_until: datetime | None = None) -> PutResult:
        """Upload a small record or checkpoint held in memory and confirm it."""
        _check_aware(retain_until)
        lock = self._lock_args(retain_until)
        if self._throttle is not None:
            self._throttle.take(len(data))
        digest = hashlib.sha256(data).hexdigest()
        result, expected = self._put_single(key, data, len(data), digest, lock)
        return self._finish(result, expected, retain_until if lock else None)

    def _lock_args(self, retain_until: datetime | None) -> dict[str, Any]:
        if retain_until is None or not self._locked():
            return {}
        return {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": retain_until}

    def _put_single(
        self,
        key: str,
        body: bytes | FileRange,
        size: int,
        sha256_hex: str,
        lock: Mapping[str, Any],
    ) -> tuple[PutResult, str]:
        expected = b64(bytes.fromhex(sha256_hex))
        answer = self._call(
            "uploading",
            key,
            self._s3.put_object,
            Bucket=self.settings.bucket,
            Key=key,
            Body=body,
            ContentLength=size,
            ChecksumSHA256=expected,
            **lock,
        )
        return PutResult(
            key=key,
            size=size,
            sha256_hex=sha256_hex,
            store_checksum=answer.get("ChecksumSHA256") or "",
            version_id=answer.get("VersionId"),
            etag=answer.get("ETag", ""),
            parts=1,
            retain_until=None,
            confirmed_by="response",
        ), expected

    def _put_multipart(
        self, key: str, path: Path, size: int, sha256_hex: str, lock: Mapping[str, Any]
    ) -> tuple[PutResult, str]:
        # (1) Hash once: the whole file must still be what was sealed, and the part
        # digests we send come from that same pass, so a later change fails a part.
        whole, digests = hash_parts(path, self.settings.part_size)
        if whole != sha256_hex:
            raise _tampered(path, sha256_hex)
        upload = MultipartUpload(self._call, self._s3, self.settings.bucket, key, self._throttle)
        done = upload.send(path, size, self.settings.part_size, digests, lock)
        return PutResult(
            key=key,
            size=size,
            sha256_hex=sha256_hex,
            store_checksum=done.get("ChecksumSHA256") or "",
            version_id=done.get("VersionId"),
            etag=done.get("ETag", ""),
            parts=len(digests),
            retain_until=None,
            confirmed_by="response",
        ), composite_checksum(digests)

    def _finish(self, result: PutResult, expected: str, retain_until: datetime | None) -> PutResult:
        """(3) Compare the store's checksum with ours; (4) read the retention back."""
        confirmed_by = result.confirmed_by
        info: ObjectInfo | None = None
        answer: str | None = result.store_checksum
        if not answer:
            info = self._head(result.key, result.version_id)
            answer = info.checksum_sha256 if info is not None else None
            confirmed_by = "head"
        if answer:
            if not same_checksum(answer, expected):
                raise UploadMismatch(
                    f"store answered SHA-256 {answer} for {result.key}, expected {expected}; "
                    "the object is not confirmed and the upload will be retried"
                )
        else:
            remote = self._remote_sha256(result.key, result.version_id)
            if remote != result.sha256_hex:
                raise UploadMismatch(
                    f"{result.key} read back from the store has SHA-256 {remote}, expected "
                    f"{result.sha256_hex}; the upload will be retried"
                )
            answer, confirmed_by = b64(bytes.fromhex(remote)), "readback"
        if retain_until is not None:
            self._confirm_retention(result.key, result.version_id, retain_until, info)
        log.debug("confirmed %s (%d bytes, %s)", result.key, result.size, confirmed_by)
        return PutResult(
            key=result.key,
            size=result.size,
            sha256_hex=result.sha256_hex,
            store_checksum=answer,
            version_id=result.version_id,
            etag=result.etag,
            parts=result.parts,
            retain_until=retain_until,
            confirmed_by=confirmed_by,
        )

    def _confirm_retention(
        self, key: str, version_id: str | None, until: datetime, info: ObjectInfo | None
    ) -> None:
        if info is None:
            info = self._head(key, version_id)
        if _retained(info, until):
            return
        args: dict[str, Any] = {"VersionId": version_id} if version_id else {}
        try:
            self._s3.put_object_retention(
                Bucket=self.settings.bucket,
                Key=key,
                Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until},
                **args,
            )
        except (ClientError, BotoCoreError) as e:
            raise RetentionError(
                f"{key} is stored but COMPLIANCE retention until {until.isoformat()} could not "
                f"be set ({e}); check the bucket's object lock and the key's permissions"
            ) from e
        if not _retained(self._head(key, version_id), until):
            raise RetentionError(
                f"{key} is stored but the store does not report COMPLIANCE retention until "
                f"{until.isoformat()}; check that the bucket has object lock enabled"
            )

    # -- read ---------------------------------------------------------------------------

    def head(self, key: str, version_id: str | None = None) -> ObjectInfo | None:
        """The object's metadata, or None when it does not exist."""
        return self._head(key, version_id)

    def exists(self, key: str) -> bool:
        return self._head(key, None) is not None

    def _head(self, key: str, version_id: str | None) -> ObjectInfo | None:
        args: dict[str, Any] = {"VersionId": version_id} if version_id else {}
        try:
            answer = self._s3.head_object(
                Bucket=self.settings.bucket, Key=key, ChecksumMode="ENABLED", **args
            )
        except ClientError as e:
            if error_code(e) in MISSING_CODES:
                return None
            raise store_error(self.settings, e, "reading metadata", key) from e
        except BotoCoreError as e:
            raise store_error(self.settings, e, "reading metadata", key) from e
        return ObjectInfo(
            key=key,
            size=int(answer.get("ContentLength", 0)),
            etag=answer.get("ETag", ""),
            version_id=answer.get("VersionId"),
            checksum_sha256=answer.get("ChecksumSHA256"),
            lock_mode=answer.get("ObjectLockMode"),
            retain_until=answer.get("ObjectLockRetainUntilDate"),
        )

    def get_to_file(self, key: str, path: Path, version_id: str | None = None) -> str:
        """Download to `path` (atomically, fsynced) and return the content's SHA-256 hex."""
        path = Path(path)
        partial = path.with_name(path.name + ".part")
        h = hashlib.sha256()
        try:
            with partial.open("wb") as out:
                for chunk in self._stream(key, version_id):
                    h.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return h.hexdigest()

    def _remote_sha256(self, key: str, version_id: str | None) -> str:
        h = hashlib.sha256()
        for chunk in self._stream(key, version_id):
            h.update(chunk)
        return h.hexdigest()

    def _stream(self, key: str, version_id: str | None) -> Any:
        args: dict[str, Any] = {"VersionId": version_id} if version_id else {}
        answer = self._call(
            "downloading", key, self._s3.get_object, Bucket=self.settings.bucket, Key=key, **args
        )
        try:
            yield from answer["Body"].iter_chunks(HASH_CHUNK)
        except BotoCoreError as e:
            raise store_error(self.settings, e, "downloading", key) from e
        finally:
            answer["Body"].close()

    # -- errors -------------------------------------------------------------------------

    def _call(self, action: str, key: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except (ClientError, BotoCoreError) as e:
            retention = "ObjectLockMode" in kwargs
            raise store_error(self.settings, e, action, key, retention=retention) from e


def _retained(info: ObjectInfo | None, until: datetime) -> bool:
    return (
        info is not None
        and info.lock_mode == "COMPLIANCE"
        and info.retain_until is not None
        and info.retain_until >= until - timedelta(seconds=1)
    )


def _check_aware(retain_until: datetime | None) -> None:
    if retain_until is not None and retain_until.tzinfo is None:
        raise ValueError("retain_until must be timezone-aware (UTC)")


def _tampered(path: Path, sha256_hex: str) -> LocalHashMismatch:
    return LocalHashMismatch(
        f"{path} no longer has the SHA-256 recorded when it was sealed ({sha256_hex}); "
        "it was changed after sealing: report tamper, do not upload"
    )
