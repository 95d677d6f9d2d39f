"""`evgw verify PATH`: check recorded streams offline and print a verdict an expert can cite.

PATH is a data dir (or a copy), its `streams` folder, or one `streams/<camera>` folder.
Origin is proven only by a key the caller trusts (--pubkey or --trust). With --witnessed
FILE (the archive's `.witnessed` copies of the gateway's checkpoints) and the witness's
public key (--witness-key), each stream is also held to what the central witness saw:
a cut tail, a rewritten record or a fork is NOT_AUTHENTIC (steps W1-W4). A checkpoint's
RFC 3161 time is trusted only by a TSA CA the caller trusts (--tsa-ca), else its token is
listed unchecked; a refused token is NOT_AUTHENTIC (step V12). Exit 0 for AUTHENTIC and
AUTHENTIC_WITH_DECLARED_GAPS, 4 for INTEGRITY_ONLY (consistent, but no trusted key), 1 for
a failing verdict, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509

from evgw.errors import UsageError
from evgw.i18n import _
from evgw.local_time import machine
from evgw.progress import Progress
from segments.agekeys import X25519Identity, load_identities
from segments.errors import SegmentError
from segments.note import check_key_name
from segments.signing import load_verifier
from segments.timestamp import TimestampError, load_anchors
from segments.trust import TrustedKeys
from segments.verify import (
    DirMediaSource,
    Report,
    WitnessInput,
    exit_code,
    verify,
)
from segments.verify.paths import find_streams
from segments.verify.render import render
from segments.witness import MAX_WITNESSED_BYTES, WitnessedCheckpoint

from . import args as common


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=Path, help=_("data dir, its streams/ folder, or streams/<camera>"))
    common.add_json(p, _("print the report as JSON"))
    p.add_argument(
        "--identity", type=Path, help=_("age identity file: also decrypt and check plaintext")
    )
    common.add_trust(p)
    p.add_argument("--camera", help=_("verify only this camera's stream"))
    p.add_argument(
        "--witnessed",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help=_("a witnessed checkpoint (<size>.witnessed from the bucket); repeat for more"),
    )
    p.add_argument(
        "--witness-key",
        help=_(
            "the central witness's public key 'ed25519:<base64>' or a file holding it; "
            "required with --witnessed"
        ),
    )
    p.add_argument("--witness-name", help=_("accept only cosignatures under this witness name"))
    p.add_argument(
        "--tsa-ca",
        type=Path,
        help=_(
            "PEM CA certificate(s) of the time-stamping authorities you trust: check each "
            "checkpoint's RFC 3161 token against them (without: tokens are listed, unchecked)"
        ),
    )


def run(args: argparse.Namespace) -> int:
    identities = load_identities(args.identity) if args.identity else []
    witness = witness_input(args.witnessed, args.witness_key, args.witness_name)
    anchors = tsa_anchors(args.tsa_ca) if args.tsa_ca else None
    report = verify_path(args.path, args.camera, common.trusted(args), identities, witness, anchors)
    print(report.to_json() if args.json else render(report, machine()))
    return exit_code(report.verdict)


def verify_path(
    path: Path,
    camera: str | None,
    trust: TrustedKeys | None,
    identities: Sequence[X25519Identity],
    witness: WitnessInput | None = None,
    anchors: Sequence[x509.Certificate] | None = None,
) -> Report:
    """Verify every stream under `path` (or `camera`'s), with a progress line on stderr."""
    streams = find_streams(path, camera)
    progress = Progress(sys.stderr, _("verifying"))
    try:
        return verify(
            [(name, DirMediaSource(folder)) for name, folder in streams],
            trust=trust,
            identities=identities,
            progress=progress,
            witness=_only(witness, camera),
            tsa_anchors=anchors,
        )
    finally:
        progress.finish()


def witness_input(files: Sequence[Path], key: str | None, name: str | None) -> WitnessInput | None:
    """The witnessed files and the witness key to trust, or None when none were given.

    A witnessed file proves nothing by itself: without the witness's public key it is
    refused, never read as trusted.
    """
    if not files:
        if key is not None or name is not None:
            raise UsageError(_("--witness-key/--witness-name need --witnessed FILE"))
        return None
    if key is None:
        raise UsageError(
            _(
                "--witnessed needs --witness-key: a witnessed checkpoint counts only when the "
                "witness key you trust cosigned it (pass 'ed25519:<base64>' or its file)"
            )
        )
    try:
        verifier = load_verifier(key)
        if name is not None:
            check_key_name(name)
    except SegmentError as e:
        raise UsageError(_("--witness-key/--witness-name: {error}").format(error=e)) from e
    return WitnessInput(tuple((str(f), _read(f)) for f in files), verifier, name)


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_WITNESSED_BYTES + 1)
    except OSError as e:
        raise UsageError(
            _("--witnessed {path}: cannot read it ({error})").format(path=path, error=e.strerror)
        ) from e
    if len(data) > MAX_WITNESSED_BYTES:
        raise UsageError(
            _("--witnessed {path}: over {limit} bytes: not a witnessed checkpoint").format(
                path=path, limit=MAX_WITNESSED_BYTES
            )
        )
    return data


def _only(witness: WitnessInput | None, camera: str | None) -> WitnessInput | None:
    """With --camera, the other cameras' witnessed files are not this check's business."""
    if witness is None or camera is None:
        return witness
    kept = []
    for label, data in witness.files:
        try:
            other = WitnessedCheckpoint.from_bytes(data).checkpoint.stream != camera
        except SegmentError:
            other = False  # unreadable: reported by W1
        if not other:
            kept.append((label, data))
    return WitnessInput(tuple(kept), witness.key, witness.name)


def tsa_anchors(path: Path) -> tuple[x509.Certificate, ...]:
    """The CA certificates in `path` (--tsa-ca), or a UsageError saying what is wrong."""
    try:
        return load_anchors(path.read_bytes(), f"--tsa-ca {path}")
    except OSError as e:
        raise UsageError(
            _("--tsa-ca {path}: cannot read: {error}").format(path=path, error=e.strerror or e)
        ) from e
    except TimestampError as e:
        raise UsageError(str(e)) from e
