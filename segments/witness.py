"""Witnessed checkpoints: a gateway's signed tree head, cosigned by the central witness.

A stolen box holds its own device key, so it can cut its tail and re-sign checkpoints that
agree. It cannot make the witness forget what it saw: the archive cosigns each consistent
checkpoint it catalogues and writes the result beside it in the bucket, and a box is then
checked against the newest witnessed size (see `segments.verify.witness_checks`).

The file (`<size:08d>.witnessed`, format 1) is canonical JSON, at most 64 KiB:

    {"checkpoint": {...the gateway's signed checkpoint, as in checkpoints.jsonl...},
     "note": "<C2SP signed note: the checkpoint's tree head and the witness cosignature>",
     "type": "evgw-witnessed-checkpoint", "v": 1}

The note's text is the C2SP tlog-checkpoint body of that checkpoint, no extension lines:

    evgw/<gateway>/<stream>        origin, each part percent-encoded (RFC 3986 unreserved kept)
    <size>                         tree size, decimal
    <base64 of the 32-byte root>   RFC 6962 root over the stream's ledger lines

so a checker needs nothing but the trusted device key and the trusted witness key, and any
C2SP tool can check the cosignature on its own.
"""

from __future__ import annotations

import base64
import json
from dataclasses import asdict, dataclass
from urllib.parse import quote

from .checkpoint import Checkpoint
from .errors import CryptoFormatError, SegmentError, UnsupportedFormatError
from .note import Cosignature, SignedNote, cosign_text, open_cosignature, parse_note
from .records import canonical_json
from .signing import Signer, Verifier, fingerprint

WITNESSED_VERSION = 1
WITNESSED_TYPE = "evgw-witnessed-checkpoint"
WITNESSED_SUFFIX = ".witnessed"
MAX_WITNESSED_BYTES = 64 * 1024
ORIGIN_PREFIX = "evgw"
_FIELDS = {"checkpoint", "note", "type", "v"}


class WitnessError(SegmentError):
    """A witnessed checkpoint does not hold: the message names which check failed and why."""


class DeviceSignatureError(WitnessError):
    """The witness vouches for a checkpoint that the trusted device key did not sign."""


def origin(gateway: str, stream: str) -> str:
    """The stable, unique tlog origin of one stream: `evgw/<gateway>/<stream>`, escaped."""
    return f"{ORIGIN_PREFIX}/{quote(gateway, safe='')}/{quote(stream, safe='')}"


def checkpoint_body(cp: Checkpoint) -> str:
    """The C2SP tlog-checkpoint note text of a gateway checkpoint (origin, size, root)."""
    root = base64.b64encode(bytes.fromhex(cp.root)).decode("ascii")
    return f"{origin(cp.gateway, cp.stream)}\n{cp.size}\n{root}\n"


@dataclass(frozen=True)
class WitnessedCheckpoint:
    """The gateway's own signed checkpoint and the witness's cosigned note of it."""

    checkpoint: Checkpoint
    note: SignedNote

    def to_bytes(self) -> bytes:
        return (
            canonical_json(
                {
                    "checkpoint": asdict(self.checkpoint),
                    "note": self.note.to_text(),
                    "type": WITNESSED_TYPE,
                    "v": WITNESSED_VERSION,
                }
            )
            + b"\n"
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> WitnessedCheckpoint:
        """Parse strictly: any malformed input raises CryptoFormatError, a newer format
        UnsupportedFormatError. Nothing is verified here (see `check_witnessed`)."""
        if len(data) > MAX_WITNESSED_BYTES:
            raise CryptoFormatError(
                f"witnessed checkpoint is {len(data)} bytes, over {MAX_WITNESSED_BYTES}"
            )
        try:
            obj = json.loads(data)
        except (ValueError, RecursionError) as e:
            raise CryptoFormatError(f"witnessed checkpoint is not JSON: {e}") from e
        if not isinstance(obj, dict) or obj.get("type") != WITNESSED_TYPE:
            raise CryptoFormatError(f"not a witnessed checkpoint (type {WITNESSED_TYPE!r})")
        version = obj.get("v")
        if isinstance(version, int) and not isinstance(version, bool) and version > 1:
            raise UnsupportedFormatError(
                f"witnessed checkpoint format {version} is newer than this evgw reads "
                f"({WITNESSED_VERSION}): update evgw"
            )
        if version != WITNESSED_VERSION or set(obj) != _FIELDS:
            raise CryptoFormatError(
                f"witnessed checkpoint must be format {WITNESSED_VERSION} with exactly the "
                f"fields {sorted(_FIELDS)}"
            )
        if not isinstance(obj["checkpoint"], dict) or not isinstance(obj["note"], str):
            raise CryptoFormatError("witnessed checkpoint: checkpoint is an object, note text")
        try:
            checkpoint_bytes = canonical_json(obj["checkpoint"])
            note_bytes = obj["note"].encode("utf-8")
        except UnicodeEncodeError as e:
            raise CryptoFormatError(
                "witnessed checkpoint holds invalid text (a lone surrogate)"
            ) from e
        return cls(Checkpoint.from_json(checkpoint_bytes), parse_note(note_bytes))


@dataclass(frozen=True)
class Witnessed:
    """What a verified witnessed checkpoint proves: this checkpoint, seen by this witness."""

    checkpoint: Checkpoint
    cosignature: Cosignature


def cosign(
    checkpoint: Checkpoint, witness_name: str, signer: Signer, timestamp: int
) -> WitnessedCheckpoint:
    """The witness's cosignature of a gateway checkpoint at `timestamp` (POSIX seconds).

    The caller (the archive) has checked the device signature and consistency with what it
    saw before; an unsigned checkpoint is refused here all the same.
    """
    if not checkpoint.sig:
        raise WitnessError("refusing to cosign an unsigned checkpoint")
    text = checkpoint_body(checkpoint)
    return WitnessedCheckpoint(
        checkpoint, SignedNote(text, (cosign_text(text, witness_name, signer, timestamp),))
    )


def open_witnessed(
    data: bytes,
    device_verifier: Verifier,
    witness_verifier: Verifier,
    witness_name: str | None = None,
) -> Witnessed:
    """Check a witnessed checkpoint file; raise with the reason it does not hold.

    Malformed bytes raise CryptoFormatError (its `CosignatureError` when no trusted
    cosignature verifies); a note of another checkpoint raises WitnessError, a bad device
    signature its `DeviceSignatureError`.
    """
    # (1) Parse strictly, within size limits.
    witnessed = WitnessedCheckpoint.from_bytes(data)
    cp = witnessed.checkpoint
    # (2) The trusted witness key (under `witness_name`, if given) cosigned the note text.
    cosignature = open_cosignature(witnessed.note, witness_verifier, witness_name)
    # (3) The note's tree head is this checkpoint's: origin (gateway, stream), size, root.
    expected = checkpoint_body(cp)
    if witnessed.note.text != expected:
        raise WitnessError(
            f"the witness cosigned {_head(witnessed.note.text)}, but the checkpoint in the "
            f"file is {_head(expected)}: the file pairs a checkpoint with another's note"
        )
    # (4) The gateway's own signature on the checkpoint verifies with the trusted device key.
    try:
        ok = cp.verify(device_verifier)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise DeviceSignatureError(
            f"the gateway's signature on checkpoint size {cp.size} does not verify with the "
            f"device key {fingerprint(device_verifier)}"
        )
    return Witnessed(cp, cosignature)


def check_witnessed(
    data: bytes,
    device_verifier: Verifier,
    witness_verifier: Verifier,
    witness_name: str | None = None,
) -> Checkpoint:
    """The gateway checkpoint a witnessed file vouches for, or an error saying why not."""
    return open_witnessed(data, device_verifier, witness_verifier, witness_name).checkpoint


def _head(text: str) -> str:
    """A note text in one line for messages: `origin size N root R`."""
    parts = text.split("\n")
    if len(parts) < 3:
        return repr(text[:80])
    return f"{parts[0][:120]!r} size {parts[1][:24]} root {parts[2][:48]}"
