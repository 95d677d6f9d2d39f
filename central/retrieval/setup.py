"""The archive's configuration turned into what retrieval uses (config → runtime objects).

Secrets are read here, once, and every unusable one stops the command with the key that
names it and the fix: the archive identity ([archive] identity_file), the export key
([export] signing_key), the witness key ([witness] signing_key, whose public half checks
`.witnessed` files).
"""

from __future__ import annotations

from evgw.i18n import _
from segments.agekeys import load_identities
from segments.errors import SegmentError
from segments.signing import load_signer
from uplink.objectstore import ObjectStore

from ..catalogue.db import Catalogue
from ..config import CentralConfig
from ..sync.bucket import Bucket
from .export import ArchiveKeys
from .source import ArchiveSource, RetrievalError, WitnessKey


def archive_source(config: CentralConfig, catalogue: Catalogue) -> ArchiveSource:
    return ArchiveSource(
        config_path=config.path,
        catalogue=catalogue,
        bucket=Bucket(config.store),
        store=ObjectStore(config.store),
        trust=config.trust,
        witness=_witness(config),
    )


def archive_keys(config: CentralConfig) -> ArchiveKeys:
    """The identity that decrypts and the key that signs an export."""
    if config.export is None:
        raise RetrievalError(
            _(
                "{path}: no [export] section, so the archive has no key to sign packages with"
            ).format(path=config.path),
            hint=_(
                "make one with `evgw archive keygen --export --out DIR` and set [export] "
                "signing_key; experts then trust its public key as archive:{id} "
                "(--archive-pubkey)"
            ).format(id=config.archive.id),
        )
    try:
        identities = load_identities(config.archive.identity_file)
    except SegmentError as e:
        raise RetrievalError(
            f"{config.path} [archive] identity_file: {e}",
            hint=_(
                "retrieval decrypts with the archive's age identity, which lives only at "
                "headquarters; restore it from its escrow copy"
            ),
        ) from e
    try:
        signer = load_signer(config.export.signing_key)
    except SegmentError as e:
        raise RetrievalError(f"{config.path} [export] signing_key: {e}") from e
    return ArchiveKeys(config.archive.id, identities, signer)


def _witness(config: CentralConfig) -> WitnessKey | None:
    if config.witness is None:
        return None
    try:
        key = load_signer(config.witness.signing_key).verifier()
    except SegmentError as e:
        raise RetrievalError(
            f"{config.path} [witness] signing_key: {e}",
            hint=_("retrieval checks witnessed checkpoints with this key's public half"),
        ) from e
    return WitnessKey(config.witness.name, key)
