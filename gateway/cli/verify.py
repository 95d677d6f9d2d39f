"""`evgw verify PATH`: check recorded streams offline and print a verdict an expert can cite.

PATH is a data dir (or a copy), its `streams` folder, or one `streams/<camera>` folder.
Exit 0 only for AUTHENTIC and AUTHENTIC_WITH_DECLARED_GAPS, 1 otherwise, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from evgw.errors import UsageError
from segments.agekeys import X25519Identity, load_identities
from segments.ledger import LEDGER_NAME
from segments.signing import Verifier
from segments.store import DataDir
from segments.verify import (
    KEY_FROM_CALLER,
    KEY_FROM_LEDGER,
    PASSING,
    DirMediaSource,
    Report,
    StreamReport,
    verify,
)

from . import args as common
from .progress import Progress


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=Path, help="data dir, its streams/ folder, or streams/<camera>")
    common.add_json(p, "print the report as JSON")
    p.add_argument(
        "--identity", type=Path, help="age identity file: also decrypt and check plaintext"
    )
    common.add_pubkey(p)
    p.add_argument("--camera", help="verify only this camera's stream")


def run(args: argparse.Namespace) -> int:
    identities = load_identities(args.identity) if args.identity else []
    report = verify_path(args.path, args.camera, common.pubkey(args.pubkey), identities)
    print(report.to_json() if args.json else render(report))
    return 0 if report.verdict in PASSING else 1


def verify_path(
    path: Path,
    camera: str | None,
    pubkey: Verifier | None,
    identities: Sequence[X25519Identity],
) -> Report:
    """Verify every stream under `path` (or `camera`'s), with a progress line on stderr."""
    streams = find_streams(path, camera)
    progress = Progress(sys.stderr, "verifying")
    try:
        return verify(
            [(name, DirMediaSource(folder)) for name, folder in streams],
            pubkey=pubkey,
            identities=identities,
            progress=progress,
        )
    finally:
        progress.finish()


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
    out.append(
        f"key: {report.fingerprint or 'differs per stream'} ({_key_note(report.key_source)})"
    )
    out.append(f"verdict: {report.verdict}")
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
    lines += [f"  ! {i.impact}: {i.detail}" for i in s.issues]
    if per_stream_key:
        lines.append(f"  key {s.fingerprint or '-'} ({_key_note(s.key_source)})")
    return lines


def _key_note(source: str) -> str:
    if source == KEY_FROM_CALLER:
        return "trusted key from --pubkey"
    if source == KEY_FROM_LEDGER:
        return "from the ledger's own key record: proves integrity, not origin; use --pubkey"
    return "no trusted key"
