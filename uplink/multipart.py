"""A large file goes up in parts, each carrying its own SHA-256 for the store to check.

Part digests come from the same pass that proved the whole file still has its sealed hash,
so a file changed during the upload fails a part instead of being stored. A failed upload is
aborted, so no half-written object is left behind to confuse a later retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .checksums import b64
from .errors import UploadMismatch
from .throttle import FileRange, TokenBucket

log = logging.getLogger(__name__)

Call = Callable[..., Any]  # ObjectStore._call(action, key, fn, **kwargs): S3 errors mapped


class MultipartUpload:
    def __init__(
        self, call: Call, s3: Any, bucket: str, key: str, throttle: TokenBucket | None
    ) -> None:
        self._call = call
        self._s3 = s3
        self._bucket = bucket
        self._key = key
        self._throttle = throttle

    def send(
        self,
        path: Path,
        size: int,
        part_size: int,
        digests: list[bytes],
        lock: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Upload `path` in parts of `part_size`; the store's answer to completing it."""
        created = self._call(
            "starting a multipart upload",
            self._key,
            self._s3.create_multipart_upload,
            Bucket=self._bucket,
            Key=self._key,
            ChecksumAlgorithm="SHA256",
            **lock,
        )
        upload_id = created["UploadId"]
        try:
            with path.open("rb") as f:
                parts = [
                    self._part(f, upload_id, number, digest, part_size, size)
                    for number, digest in enumerate(digests, start=1)
                ]
            done: dict[str, Any] = self._call(
                "completing a multipart upload",
                self._key,
                self._s3.complete_multipart_upload,
                Bucket=self._bucket,
                Key=self._key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            self._abort(upload_id)
            raise
        return done

    def _part(
        self, f: Any, upload_id: str, number: int, digest: bytes, part_size: int, size: int
    ) -> dict[str, Any]:
        """(2) Each part carries its own digest; the store verifies it."""
        offset = (number - 1) * part_size
        length = min(part_size, size - offset)
        sent = b64(digest)
        answer = self._call(
            f"uploading part {number}",
            self._key,
            self._s3.upload_part,
            Bucket=self._bucket,
            Key=self._key,
            UploadId=upload_id,
            PartNumber=number,
            Body=FileRange(f, offset, length, self._throttle),
            ContentLength=length,
            ChecksumSHA256=sent,
        )
        got = answer.get("ChecksumSHA256")
        if got is not None and got != sent:
            raise UploadMismatch(
                f"store answered checksum {got} for part {number} of {self._key}, "
                f"we sent {sent}; the upload will be retried"
            )
        return {"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": sent}

    def _abort(self, upload_id: str) -> None:
        try:
            self._s3.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=upload_id)
        except (ClientError, BotoCoreError) as e:
            log.warning(
                "could not abort multipart upload of %s (store cleans up): %s", self._key, e
            )
