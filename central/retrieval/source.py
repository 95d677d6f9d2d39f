"""What retrieval reads: the catalogue, the bucket, the trusted keys, the archive's own keys.

Built once by the command from the archive's configuration; the services receive it typed.
Every way it can be unusable is a `RetrievalError` that names the file or key and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evgw import exit_codes
from evgw.errors import EvgwError
from evgw.i18n import _
from segments.signing import Verifier
from segments.trust import TrustedKeys
from uplink.errors import UplinkError
from uplink.objectstore import ObjectStore

from ..catalogue.db import Catalogue
from ..sync.bucket import Bucket

MAX_SMALL_OBJECT = 64 * 1024  # records, checkpoints and witnessed files are about 1 KiB


class RetrievalError(EvgwError):
    """Retrieval cannot answer as asked; the message names what is missing and what to do.
    Exit 1, as the box's `ExportError` and `evgw find` over an empty range."""

    exit_code = exit_codes.NEGATIVE


@dataclass(frozen=True)
class WitnessKey:
    """The archive's witness: its public key and name, to check `.witnessed` files with."""

    name: str
    key: Verifier


@dataclass(frozen=True)
class ArchiveSource:
    config_path: Path  # named in messages
    catalogue: Catalogue
    bucket: Bucket  # small objects, read at their catalogued version
    store: ObjectStore  # segment objects, downloaded to files
    trust: TrustedKeys
    witness: WitnessKey | None  # None: the archive witnesses nothing ([witness] absent)

    def device_key(self, gateway: str) -> Verifier:
        """The trusted device key of `gateway`; origin comes only from [trust]."""
        key = self.trust.for_subject(gateway)
        if key is None:
            raise RetrievalError(
                _(
                    "{path}: [trust] lists no device key for gateway {gateway!r}, so nothing of "
                    "it was catalogued or can be retrieved"
                ).format(path=self.config_path, gateway=gateway),
                hint=_(
                    'add its enrolment key: [trust] keys = {{ "{gateway}" = "ed25519:…" }}, then '
                    "run `evgw archive sync`"
                ).format(gateway=gateway),
            )
        return key

    def read(self, key: str, version_id: str) -> bytes:
        """A record, checkpoint or witnessed object at its catalogued version."""
        try:
            data = self.bucket.read(key, version_id, MAX_SMALL_OBJECT)
        except UplinkError as e:
            raise RetrievalError(
                _(
                    "cannot read {key} (version {version}), which the catalogue lists: {error}"
                ).format(key=key, version=version_id, error=e),
                hint=_("run `evgw archive sync`: it reports deleted and missing objects"),
            ) from e
        if data is None:
            raise RetrievalError(
                _(
                    "{key} (version {version}) is larger than {limit} bytes: not the object the "
                    "catalogue judged; run `evgw archive sync` and read its findings"
                ).format(key=key, version=version_id, limit=MAX_SMALL_OBJECT)
            )
        return data


def store_version(version_id: str) -> str | None:
    """The version to ask the store for: none in an unversioned bucket (catalogued as
    ``null:<etag>``), where only the SHA-256 check tells the object from a replacement."""
    return None if version_id.partition(":")[0] == "null" else version_id
