"""The archive's witness key and TSA anchors, read once from the configuration.

A missing, unreadable or group-readable key is a `ConfigError` naming the file and key,
raised before sync touches the bucket: a witness that cannot sign must not half-run.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from evgw.errors import ConfigError
from evgw.i18n import _
from segments.errors import SegmentError
from segments.note import check_key_name
from segments.signing import Ed25519Signer, load_signer
from segments.timestamp import TimestampError, load_anchors

from ..config import CentralConfig
from ..sync.companions import CompanionTrust


@dataclass(frozen=True)
class WitnessKey:
    """The witness's name in cosignatures and its Ed25519 signing key."""

    name: str
    signer: Ed25519Signer


def load_witness_key(config: CentralConfig) -> WitnessKey | None:
    """`[witness]`'s key, or None when the section is left out (nothing is co-signed)."""
    if config.witness is None:
        return None
    path = config.witness.signing_key
    try:
        check_key_name(config.witness.name)
    except SegmentError as e:
        raise ConfigError(f"{config.path}: witness.name: {e}") from e
    try:
        signer = load_signer(path)
    except SegmentError as e:
        raise ConfigError(
            f"{config.path}: witness.signing_key: {e}",
            hint=_(
                "make one with `evgw archive keygen --witness --out DIR` and point "
                "[witness] signing_key at it"
            ),
        ) from e
    return WitnessKey(config.witness.name, signer)


def tsa_anchors(config: CentralConfig) -> tuple[x509.Certificate, ...] | None:
    """The CA certificates of `[tsa] ca_file`, or None when no TSA is configured."""
    if config.tsa is None:
        return None
    path = config.tsa.ca_file
    try:
        return load_anchors(path.read_bytes(), str(path))
    except OSError as e:
        raise ConfigError(
            _("{config}: tsa.ca_file: cannot read {path}: {reason}").format(
                config=config.path, path=path, reason=e.strerror
            )
        ) from e
    except TimestampError as e:
        raise ConfigError(f"{config.path}: tsa.ca_file: {e}") from e


def companion_trust(config: CentralConfig, key: WitnessKey | None) -> CompanionTrust:
    """What sync holds `.witnessed` objects and `.tsr` tokens to."""
    return CompanionTrust(
        witness=None if key is None else key.signer.verifier(),
        witness_name=None if key is None else key.name,
        anchors=tsa_anchors(config),
    )
