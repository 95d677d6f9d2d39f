"""`evgw verify PATH`: check recorded streams offline and print a verdict an expert can cite.

PATH is a data dir (or a copy), its `streams` folder, or one `streams/<camera>` folder.
Origin is proven only by a key the caller trusts (--pubkey or --trust). With --witnessed
FILE (the archive's `.witnessed` copies of the gateway's checkpoints) and the witness's
public key (--witness-key), each stream is also held to what the central witness saw:
a cut tail, a rewritten record or a fork is NOT_AUTHENTIC (steps W1-W4). A checkpoint's
RFC 3161 time is trusted only by a TSA CA the caller trusts (--tsa-ca), else its token is
listed unchecked; a refused token is NOT_AUTHENTIC (step V12). Exit 0 for AUTHENTIC and
AUTHENTIC_WITH_DECLARED_GAPS, 3 for INTEGRITY_ONLY (consistent, but no trusted key), 1 for
a failing verdict, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509

from evgw.errors import UsageError
from evgw.progress import Progress
from segments.agekeys import X25519Identity, load_identities
from segments.errors import SegmentError
from segments.ledger import LEDGER_NAME
from segments.note import check_key_name
from segments.signing import load_verifier
from segments.store import DataDir
from segments.timestamp import MISSING, TimestampError, TimestampFinding, load_anchors
from segments.trust import ORIGIN_HINT, TrustedKeys
from segments.verify import (
    KEY_FROM_CALLER,
    KEY_FROM_LEDGER,
    DirMediaSource,
    Report,
    StreamReport,
    Verdict,
    WitnessInput,
    WitnessSummary,
    exit_code,
    verify,
)
from segments.witness import MAX_WITNESSED_BYTES, WitnessedCheckpoint

from . import args as common


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=Path, help="data dir, its streams/ folder, or streams/<camera>")
    common.add_json(p, "print the report as JSON")
    p.add_argument(
        "--identity", type=Path, help="age identity file: also decrypt and check plaintext"
    )
    common.add_trust(p)
    p.add_argument("--camera", help="verify only this camera's stream")
    p.add_argument(
        "--witnessed",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a witnessed checkpoint (<size>.witnessed from the bucket); repeat for more",
    )
    p.add_argument(
        "--witness-key",
        help="the central witness's public key 'ed25519:<base64>' or a file holding it; "
        "required with --witnessed",
    )
    p.add_argument("--witness-name", help="accept only cosignatures under this witness name")
    p.add_argument(
        "--tsa-ca",
        type=Path,
        help="PEM CA certificate(s) of the time-stamping authorities you trust: check each "
        "checkpoint's RFC 3161 token against them (without: tokens are listed, unchecked)",
    )


def run(args: argparse.Namespace) -> int:
    identities = load_identities(args.identity) if args.identity else []
    witness = witness_input(args.witnessed, args.witness_key, args.witness_name)
    anchors = tsa_anchors(args.tsa_ca) if args.tsa_ca else None
    report = verify_path(args.path, args.camera, common.trusted(args), identities, witness, anchors)
    print(report.to_json() if args.json else render(report))
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
    progress = Progress(sys.stderr, "verifying")
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
            raise UsageError("--witness-key/--witness-name need --witnessed FILE")
        return None
    if key is None:
        raise UsageError(
            "--witnessed needs --witness-key: a witnessed checkpoint counts only when the "
            "witness key you trust cosigned it (pass 'ed25519:<base64>' or its file)"
        )
    try:
        verifier = load_verifier(key)
        if name is not None:
            check_key_name(name)
    except SegmentError as e:
        raise UsageError(f"--witness-key/--witness-name: {e}") from e
    return WitnessInput(tuple((str(f), _read(f)) for f in files), verifier, name)


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_WITNESSED_BYTES + 1)
    except OSError as e:
        raise UsageError(f"--witnessed {path}: cannot read it ({e.strerror})") from e
    if len(data) > MAX_WITNESSED_BYTES:
        raise UsageError(
            f"--witnessed {path}: over {MAX_WITNESSED_BYTES} bytes: not a witnessed checkpoint"
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
        raise UsageError(f"--tsa-ca {path}: cannot read: {e.strerror or e}") from e
    except TimestampError as e:
        raise UsageError(str(e)) from e


def find_streams(path: Path, camera: str | None) -> list[tuple[str, Path]]:
    """(name, folder) of every stream under PATH, optionally only `camera`'s."""
    if not path.is_dir():
        raise UsageError(f"{path}: no such directory; pass a data dir or a streams/<camera> folder")
    if (path / LEDGER_NAME).is_file():
        found = [(path.name, path)]
    else:
        streams = DataDir(path).streams
        base = streams if streams.is_dir() else path
        found = sorted(
            (d.name, d) for d in base.iterdir() if d.is_dir() and (d / LEDGER_NAME).is_file()
        )
    if not found:
        raise UsageError(
            f"{path}: no {LEDGER_NAME} found (expected streams/<camera>/{LEDGER_NAME})"
        )
    if camera is not None:
        found = [s for s in found if s[0] == camera]
        if not found:
            raise UsageError(f"{path}: no stream for camera {camera!r}")
    return found


def render(report: Report) -> str:
    out: list[str] = []
    for stream in report.streams:
        out += _render_stream(stream, per_stream_key=len(report.streams) > 1)
    key = report.fingerprint or "differs per stream"
    origins = {s.origin for s in report.streams}
    out.append(f"key: {key} ({_key_note(report.key_source)}; {'; '.join(sorted(origins))})")
    out += [f"! {i.impact}: {i.detail}" for i in report.issues]
    out.append(f"verdict: {report.verdict}")
    if report.verdict is Verdict.INTEGRITY_ONLY:
        out.append(
            f"origin NOT established: the records are consistent ({report.integrity}) with the "
            f"key they name themselves, which anyone can make; {ORIGIN_HINT}"
        )
    return "\n".join(out)


def _render_stream(s: StreamReport, *, per_stream_key: bool) -> list[str]:
    lines = [
        f"stream {s.stream}: {s.verdict}  ({s.records} records, {s.pinned} pinned by "
        f"{s.checkpoints_used} signed checkpoint(s))",
        f"  {'seq':>8}  {'kind':<9}  {'start':<32}  {'verdict':<28}  detail",
    ]
    for f in s.findings:
        seq = f"{f.seq}-{f.through}" if f.through is not None else str(f.seq)
        lines.append(
            f"  {seq:>8}  {f.kind or '-':<9}  {f.start or '-':<32}  {f.verdict:<28}  {f.detail}"
        )
    if s.witness is not None:
        lines.append(_witness_line(s.witness))
    lines += [f"  ! {i.impact}: {i.detail}" for i in s.issues]
    lines += _render_timestamps(s.timestamps)
    if per_stream_key:
        lines.append(f"  key {s.fingerprint or '-'} ({_key_note(s.key_source)}; {s.origin})")
    return lines


def _witness_line(w: WitnessSummary) -> str:
    head = f"  witness {w.witness} (key {w.fingerprint}): {w.used} of {w.files} witnessed file(s)"
    if not w.files:
        return "  witness: no witnessed checkpoint given for this stream"
    if not w.used:
        return head + " usable: the witness check could not be made"
    verdict = "FAILED, see below" if w.findings else "the ledger holds them unchanged"
    return (
        f"{head}, newest size {w.newest_size} cosigned {w.newest_time}; ledger matches up to "
        f"size {w.matched}: {verdict}"
    )


def _render_timestamps(stamps: Sequence[TimestampFinding]) -> list[str]:
    """The RFC 3161 time per checkpoint (V12); a stream without any token says so once."""
    if not stamps:
        return []
    if all(t.status == MISSING for t in stamps):
        return [f"  timestamps: none for its {len(stamps)} checkpoint(s)"]
    lines = [f"  {'checkpoint':>10}  {'timestamp':<9}  {'time (TSA)':<25}  detail"]
    for t in stamps:
        by = f"by {t.tsa}; " if t.tsa else ""
        lines.append(f"  {t.size:>10}  {t.status:<9}  {t.time or '-':<25}  {by}{t.detail}")
    return lines


def _key_note(source: str) -> str:
    if source == KEY_FROM_CALLER:
        return "trusted"
    if source == KEY_FROM_LEDGER:
        return "from the ledger's own key record: proves integrity, not origin"
    return "no key"
