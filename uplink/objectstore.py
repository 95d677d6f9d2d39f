"""The S3 edge: store files and small records in central storage and confirm them.

An object counts as stored only when the store's SHA-256 answer equals ours (single PUT:
the object's digest; multipart: the AWS composite, SHA-256 over the part digests plus
``-N``). Where the bucket has object lock, objects get COMPLIANCE retention on the same
request and it is read back. botocore retries little and times out fast: the caller's
durable queue owns retrying, so failures surface quickly as `uplink.errors` classes.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, SSLError
from botocore.exceptions import ConnectionError as BotoConnectionError

from segments.hashing import hash_file
from uplink.errors import (
    AuthError,
    LocalHashMismatch,
    RetentionError,
    StoreUnavailable,
    TlsError,
    UploadError,
    UploadMismatch,
)

log = logging.getLogger(__name__)

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3 minimum for every part but the last
HASH_CHUNK = 1 * MiB
THROTTLE_CHUNK = 64 * 1024

_AUTH_CODES = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "Forbidden",
        "403",
        "InvalidToken",
        "ExpiredToken",
    }
)
_DIGEST_CODES = frozenset(
    {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "InvalidChecksum"}
)
_BUSY_CODES = frozenset(
    {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"}
)
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchVersion"})


@dataclass(frozen=True)
class ObjectStoreSettings:
    """Where and how to upload; built once from `[upload]` in the configuration."""

    endpoint_url: str
    bucket: str
    region: str = "us-east-1"
    access_key: str = ""
    secret_key: str = field(default="", repr=False)
    ca_file: str = ""
    retention_days: int = 365
    max_bytes_per_second: int = 0
    credentials_source: str = "[upload] access_key_file / secret_key_file"
    multipart_threshold: int = 16 * MiB
    part_size: int = 16 * MiB
    connect_timeout: float = 3.0
    read_timeout: float = 30.0
    max_attempts: int = 2
    max_connections: int = 10

    def __post_init__(self) -> None:
        if not self.endpoint_url or not self.bucket:
            raise ValueError("object store needs endpoint_url and bucket")
        if self.retention_days < 0 or self.max_bytes_per_second < 0:
            raise ValueError("retention_days and max_bytes_per_second must be >= 0")
        if self.part_size < MIN_PART_SIZE or self.multipart_threshold < self.part_size:
            raise ValueError(f"part_size must be >= {MIN_PART_SIZE} and <= multipart_threshold")

    def retain_until(self, now: datetime) -> datetime | None:
        """End of COMPLIANCE retention for an object stored at `now` (None when 0 days)."""
        if self.retention_days == 0:
            return None
        return now + timedelta(days=self.retention_days)


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


class TokenBucket:
    """Thread-safe byte-rate limiter shared by all uploads of one store.

    Callers reserve bytes and sleep off any debt outside the lock, so concurrent uploads
    together stay under `rate` bytes per second with at most `burst` bytes ahead.
    """

    def __init__(
        self,
        rate: int,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be > 0 bytes per second")
        self.rate = rate
        self.burst = burst if burst is not None else max(THROTTLE_CHUNK, rate // 10)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = 0.0
        self._last = clock()

    def take(self, n: int) -> None:
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= n
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)


class _FileRange:
    """A seekable read-only window [offset, offset+length) of an open file, optionally
    rate-limited; botocore sends it as a request body and rewinds it on retries."""

    def __init__(self, f: IO[bytes], offset: int, length: int, bucket: TokenBucket | None) -> None:
        self._f = f
        self._start = offset
        self._length = length
        self._pos = 0
        self._bucket = bucket

    def __len__(self) -> int:
        return self._length

    def read(self, n: int = -1) -> bytes:
        left = self._length - self._pos
        if n < 0 or n > left:
            n = left
        if self._bucket is not None:
            n = min(n, THROTTLE_CHUNK) if n > 0 and self._pos < self._length else n
        if n <= 0:
            return b""
        self._f.seek(self._start + self._pos)
        data = self._f.read(n)
        self._pos += len(data)
        if self._bucket is not None:
            self._bucket.take(len(data))
        return data

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._length}[whence]
        self._pos = max(0, min(self._length, base + pos))
        return self._pos

    def tell(self) -> int:
        return self._pos


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def composite_checksum(part_digests: list[bytes]) -> str:
    """AWS COMPOSITE SHA-256 of a multipart object: b64(sha256(d1 || d2 ...)) + "-N"."""
    return f"{_b64(hashlib.sha256(b''.join(part_digests)).digest())}-{len(part_digests)}"


def same_checksum(answer: str, expected: str) -> bool:
    """Compare the store's checksum with ours; a store may omit the ``-N`` part count."""
    if answer == expected:
        return True
    base, _, count = expected.partition("-")
    return bool(count) and answer == base


def hash_parts(path: Path, part_size: int) -> tuple[str, list[bytes]]:
    """One pass over the file: its SHA-256 hex and the SHA-256 digest of every part."""
    whole = hashlib.sha256()
    digests: list[bytes] = []
    with path.open("rb") as f:
        while True:
            part = hashlib.sha256()
            left = part_size
            while left > 0 and (chunk := f.read(min(HASH_CHUNK, left))):
                part.update(chunk)
                whole.update(chunk)
                left -= len(chunk)
            if left == part_size:
                break
            digests.append(part.digest())
    return whole.hexdigest(), digests


def _redact(access_key: str) -> str:
    return f"{access_key[:4]}…" if access_key else "(none)"


class ObjectStore:
    """One bucket on an S3-compatible store; thread-safe (boto3 clients are)."""

    def __init__(self, settings: ObjectStoreSettings) -> None:
        self.settings = settings
        self._bucket_lock: bool | None = None
        self._throttle = (
            TokenBucket(settings.max_bytes_per_second) if settings.max_bytes_per_second else None
        )
        config = BotoConfig(
            region_name=settings.region,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            retries={"max_attempts": settings.max_attempts, "mode": "standard"},
            max_pool_connections=settings.max_connections,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            # Our x-amz-checksum-sha256 covers the body; hashing it again to sign is waste.
            s3={"addressing_style": "path", "payload_signing_enabled": False},
        )
        self._s3: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.endpoint_url,
            aws_access_key_id=settings.access_key or None,
            aws_secret_access_key=settings.secret_key or None,
            verify=settings.ca_file or True,
            config=config,
        )

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
            if _code(e) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise self._error(e, "creating the bucket") from e
        self._bucket_lock = None

    def lock_status(self) -> bool:
        """Whether the bucket has object lock enabled (asks the store every time)."""
        try:
            answer = self._s3.get_object_lock_configuration(Bucket=self.settings.bucket)
        except ClientError as e:
            if _code(e) == "ObjectLockConfigurationNotFoundError":
                self._bucket_lock = False
                return False
            raise self._error(e, "reading the bucket's object lock configuration") from e
        except BotoCoreError as e:
            raise self._error(e, "reading the bucket's object lock configuration") from e
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
                    body = _FileRange(f, 0, size, self._throttle)
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
        body: bytes | _FileRange,
        size: int,
        sha256_hex: str,
        lock: Mapping[str, Any],
    ) -> tuple[PutResult, str]:
        expected = _b64(bytes.fromhex(sha256_hex))
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
        part_size = self.settings.part_size
        # (1) Hash once: the whole file must still be what was sealed, and the part
        # digests we send come from that same pass, so a later change fails a part.
        whole, digests = hash_parts(path, part_size)
        if whole != sha256_hex:
            raise _tampered(path, sha256_hex)
        bucket = self.settings.bucket
        created = self._call(
            "starting a multipart upload",
            key,
            self._s3.create_multipart_upload,
            Bucket=bucket,
            Key=key,
            ChecksumAlgorithm="SHA256",
            **lock,
        )
        upload_id = created["UploadId"]
        try:
            parts = []
            with path.open("rb") as f:
                for number, digest in enumerate(digests, start=1):
                    offset = (number - 1) * part_size
                    length = min(part_size, size - offset)
                    # (2) Each part carries its own digest; the store verifies it.
                    sent = _b64(digest)
                    answer = self._call(
                        f"uploading part {number}",
                        key,
                        self._s3.upload_part,
                        Bucket=bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=_FileRange(f, offset, length, self._throttle),
                        ContentLength=length,
                        ChecksumSHA256=sent,
                    )
                    got = answer.get("ChecksumSHA256")
                    if got is not None and got != sent:
                        raise UploadMismatch(
                            f"store answered checksum {got} for part {number} of {key}, "
                            f"we sent {sent}; the upload will be retried"
                        )
                    parts.append(
                        {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": sent}
                    )
            done = self._call(
                "completing a multipart upload",
                key,
                self._s3.complete_multipart_upload,
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            self._abort(key, upload_id)
            raise
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

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self._s3.abort_multipart_upload(
                Bucket=self.settings.bucket, Key=key, UploadId=upload_id
            )
        except (ClientError, BotoCoreError) as e:
            log.warning("could not abort multipart upload of %s (store cleans up): %s", key, e)

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
            answer, confirmed_by = _b64(bytes.fromhex(remote)), "readback"
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
            if _code(e) in _MISSING_CODES:
                return None
            raise self._error(e, "reading metadata", key) from e
        except BotoCoreError as e:
            raise self._error(e, "reading metadata", key) from e
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
            raise self._error(e, "downloading", key) from e
        finally:
            answer["Body"].close()

    # -- errors -------------------------------------------------------------------------

    def _call(self, action: str, key: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except (ClientError, BotoCoreError) as e:
            raise self._error(e, action, key, retention="ObjectLockMode" in kwargs) from e

    def _error(
        self, e: Exception, action: str, key: str = "", *, retention: bool = False
    ) -> UploadError:
        s = self.settings
        what = f"{action} {key}".strip() + f" ({s.endpoint_url}, bucket {s.bucket})"
        if isinstance(e, SSLError):
            return TlsError(
                f"TLS failed while {what}: {e}; check [upload] ca_file "
                f"({s.ca_file or 'system CAs'}) and the store's certificate"
            )
        if isinstance(e, BotoConnectionError | HTTPClientError):
            return StoreUnavailable(f"central store unreachable while {what}: {e}; will retry")
        if not isinstance(e, ClientError):
            return UploadError(f"failed while {what}: {e}")
        code, status = _code(e), _status(e)
        if code in _DIGEST_CODES:
            return UploadMismatch(
                f"store refused the SHA-256 we sent while {what} ({code}): the bytes it "
                "received differ from our hash"
            )
        if code in _AUTH_CODES or status == 403:
            return AuthError(
                f"central store denied {action} {key} ({code}) for access key "
                f"{_redact(s.access_key)} at {s.endpoint_url}: check {s.credentials_source} "
                "and the key's permissions on bucket "
                f"{s.bucket}; uploads stay queued"
            )
        if code in _BUSY_CODES or status >= 500:
            return StoreUnavailable(f"central store failed while {what} ({code}); will retry")
        if code == "NoSuchBucket":
            return UploadError(
                f"bucket {s.bucket} does not exist at {s.endpoint_url}: create it with object "
                "lock or fix [upload] bucket"
            )
        if retention and code in ("InvalidRequest", "InvalidArgument"):
            return RetentionError(
                f"store refused COMPLIANCE retention while {what} ({code}: {e}); "
                "check the bucket's object lock"
            )
        return UploadError(f"store refused {what} ({code}): {e}")


def _code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code", ""))


def _status(e: ClientError) -> int:
    return int(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


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
