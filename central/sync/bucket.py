"""The archive's read side of the bucket: list object versions, read small objects.

The only S3 code of the catalogue. Listing is paginated (1000 versions a page), may start
after a key (S3's `KeyMarker`) and stop before another, and yields page by page, so memory
stays flat whatever the bucket holds; reads are capped, so a huge object at a record's key
costs a bounded read, never the archive's memory. Each request is a round trip of
milliseconds, so batches of reads and HEADs run on a pool of threads. The client is set up
exactly as the gateway's uploader sets it up (`uplink.s3_client`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from uplink.errors import UploadError
from uplink.s3_client import make_client
from uplink.s3_errors import MISSING_CODES, error_code, store_error
from uplink.settings import ObjectStoreSettings

PAGE = 1000
BOUNDED_FIRST_PAGE = 50
"""A listing bounded by `before` usually ends within a few entries (what arrived since the
last sync): asking for 50 first spares parsing up to a thousand entries past the bound."""
NULL_VERSION = "null"
READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Version:
    """One listed object version, or a delete marker (size 0)."""

    key: str
    version_id: str
    size: int
    last_modified: float
    delete_marker: bool
    etag: str = ""

    @property
    def catalogued_as(self) -> str:
        """The version's identity in the catalogue.

        A bucket without versioning lists every object as version "null", and an overwrite
        keeps that id: there the content's ETag tells one object from its replacement.
        """
        if self.version_id != NULL_VERSION:
            return self.version_id
        return f"{NULL_VERSION}:{self.etag}"


class Bucket:
    def __init__(self, settings: ObjectStoreSettings) -> None:
        self.settings = settings
        self._s3: Any = make_client(settings)

    def gateway_prefixes(self, gateways: Collection[str] | None = None) -> list[str]:
        """Every ``<site>/<gateway>/`` prefix in the bucket (only those of `gateways` if given)."""
        found = []
        for site in self.folders(""):
            for prefix in self.folders(site):
                if gateways is None or prefix[len(site) : -1] in gateways:
                    found.append(prefix)
        return found

    def folders(self, prefix: str) -> list[str]:
        """The ``<prefix><name>/`` folders directly under `prefix`."""
        pages = self._pages("listing folders", prefix, Prefix=prefix, Delimiter="/")
        return [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]

    def versions(
        self, prefix: str, after: str | None = None, before: str | None = None
    ) -> Iterator[list[Version]]:
        """Pages of every version and delete marker under `prefix`, in listing order; only of
        keys sorting after `after` and before `before` when given (the listing starts at
        `after` and stops at `before`, so what lies outside costs nothing)."""
        start = {} if after is None else {"KeyMarker": after}
        first = PAGE if before is None else BOUNDED_FIRST_PAGE
        for page in self._pages("listing object versions", prefix, first, Prefix=prefix, **start):
            listed = [_version(v, False) for v in page.get("Versions", [])]
            listed += [_version(v, True) for v in page.get("DeleteMarkers", [])]
            if before is None:
                yield listed
                continue
            inside = [v for v in listed if v.key < before]
            if inside:
                yield inside
            if len(inside) < len(listed):
                return

    def read(self, key: str, version_id: str, limit: int) -> bytes | None:
        """The version's bytes; None when it holds more than `limit` (reading stops there)."""
        answer = self._call("reading", key, self._s3.get_object, **_pinned(version_id))
        body = answer["Body"]
        data = bytearray()
        try:
            for chunk in body.iter_chunks(READ_CHUNK):
                data += chunk
                if len(data) > limit:
                    return None
        except BotoCoreError as e:
            raise store_error(self.settings, e, "reading", key) from e
        finally:
            body.close()
        return bytes(data)

    def read_many(
        self, wanted: Sequence[Version], limit: int, pool: Executor
    ) -> list[bytes | None]:
        """`read` of each version, `pool`'s workers in parallel, in the order given."""
        return list(pool.map(lambda v: self.read(v.key, v.version_id, limit), wanted))

    def sha256_many(self, wanted: Sequence[tuple[str, str]], pool: Executor) -> list[str | None]:
        """`sha256` of each (key, version id), in parallel, in the order given."""
        return list(pool.map(lambda kv: self.sha256(*kv), wanted))

    def sha256(self, key: str, version_id: str) -> str | None:
        """The SHA-256 (hex) the store keeps for a single-part object; None if it keeps none."""
        try:
            answer = self._s3.head_object(
                Bucket=self.settings.bucket, Key=key, ChecksumMode="ENABLED", **_pinned(version_id)
            )
        except ClientError as e:
            if error_code(e) in MISSING_CODES:
                return None
            raise store_error(self.settings, e, "reading metadata", key) from e
        except BotoCoreError as e:
            raise store_error(self.settings, e, "reading metadata", key) from e
        checksum = answer.get("ChecksumSHA256") or ""
        if "-" in checksum:
            return None  # a multipart composite: not the object's own digest
        try:
            digest = base64.b64decode(checksum, validate=True)
        except (binascii.Error, ValueError):
            return None
        return digest.hex() if len(digest) == 32 else None

    def _pages(
        self, action: str, prefix: str, first: int = PAGE, **args: Any
    ) -> Iterator[dict[str, Any]]:
        """`ListObjectVersions` pages, the first of `first` entries (a small one where the
        listing is expected to stop early: parsing entries is what a listing costs)."""
        size = first
        while True:
            try:
                page = self._s3.list_object_versions(
                    Bucket=self.settings.bucket, MaxKeys=size, **args
                )
            except (ClientError, BotoCoreError) as e:
                raise store_error(self.settings, e, action, prefix) from e
            yield page
            if not page.get("IsTruncated"):
                return
            if not page.get("NextKeyMarker"):
                raise UploadError(
                    f"{action} {prefix}: the store said the listing goes on but not where "
                    f"({self.settings.endpoint_url}, bucket {self.settings.bucket})"
                )
            args["KeyMarker"] = page["NextKeyMarker"]
            args.pop("VersionIdMarker", None)
            if page.get("NextVersionIdMarker"):
                args["VersionIdMarker"] = page["NextVersionIdMarker"]
            size = PAGE

    def _call(self, action: str, key: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(Bucket=self.settings.bucket, Key=key, **kwargs)
        except (ClientError, BotoCoreError) as e:
            raise store_error(self.settings, e, action, key) from e


def _version(listed: dict[str, Any], delete_marker: bool) -> Version:
    modified = listed.get("LastModified")
    return Version(
        key=listed["Key"],
        version_id=str(listed.get("VersionId") or NULL_VERSION),
        size=int(listed.get("Size", 0)),
        last_modified=modified.timestamp() if isinstance(modified, datetime) else 0.0,
        delete_marker=delete_marker,
        etag=str(listed.get("ETag", "")).strip('"'),
    )


def _pinned(version_id: str) -> dict[str, str]:
    """The version to read, listed or as catalogued; none for an unversioned bucket's "null"."""
    if version_id.partition(":")[0] == NULL_VERSION:
        return {}
    return {"VersionId": version_id}
