"""`evgw verify PATH`: check recorded streams offline and print a verdict an expert can cite.

PATH is a data dir (or a copy), its `streams` folder, or one `streams/<camera>` folder.
Origin is proven only by a key the caller trusts (--pubkey or --trust). Exit 0 for
AUTHENTIC and AUTHENTIC_WITH_DECLARED_GAPS, 3 for INTEGRITY_ONLY (consistent, but no trusted
key), 1 for a failing verdict, 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from evgw.errors import UsageError
from evgw.progress import Progress
from segments.agekeys import X25519Identity, load_identities
from segments.ledger import LEDGER_NAME
from segments.store import DataDir
from segments.trust import ORIGIN_HINT, TrustedKeys
from segments.verify import (
    KEY_FROM_CALLER,
    KEY_FROM_LEDGER,
    DirMediaSource,
    Report,
    StreamReport,
    Verdict,
    exit_code,
    verify,
)

from . import args as common


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=Path, help="data dir, its streams/ folder, or streams/<camera>")
    common.add_json(p, "print the report as JSON")
    p.add_argument(
        "--identity", type=Path, help="age identity file: also decrypt and check plaintext"
    )
    common.add_trust(p)
    p.add_argument("--camera", help="verify only this camera's stream")


def run(args: argparse.Namespace) -> int:
    identities = load_identities(args.identity) if args.identity else []
    report = verify_path(args.path, args.camera, common.trusted(args), identities)
    print(report.to_json() if args.json else render(report))
    return exit_code(report.verdict)


def verify_path(
    path: Path,
    camera: str | None,
    trust: TrustedKeys | None,
    identities: Sequence[X25519Identity],
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
    key = report.fingerprint or "differs per stream"
    origins = {s.origin for s in report.streams}
    out.append(f"key: {key} ({_key_note(report.key_source)}; {'; '.join(sorted(origins))})")
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
    lines += [f"  ! {i.impact}: {i.detail}" for i in s.issues]
    if per_stream_key:
        lines.append(f"  key {s.fingerprint or '-'} ({_key_note(s.key_source)}; {s.origin})")
    return lines


def _key_note(source: str) -> str:
    if source == KEY_FROM_CALLER:
        return "trusted"
    if source == KEY_FROM_LEDGER:
        return "from the ledger's own key record: proves integrity, not origin"
    return "no key"
