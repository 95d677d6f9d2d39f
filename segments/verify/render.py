"""The human reading of a verification report: one table per stream, then the verdict.

Shared by `evgw verify` (the box's and an expert's command) and `evgw archive verify-box`
(headquarters), so a box checked either way reads the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..camera_signing import SigningClaim, summary_lines
from ..timestamp import MISSING, TimestampFinding
from ..trust import ORIGIN_HINT
from .report import (
    KEY_FROM_CALLER,
    KEY_FROM_LEDGER,
    Report,
    SeqFinding,
    StreamReport,
    Verdict,
    WitnessSummary,
)


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
    lines += [f"  {line}" for line in _camera_signing(s.findings)]
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


def _camera_signing(findings: Sequence[SeqFinding]) -> list[str]:
    """Which segments the camera says it signed (recorded by the gateway, not verified)."""
    claims = [
        (f.seq, SigningClaim(f.camera_signed, f.camera_cert_sha256))
        for f in findings
        if f.camera_signed is not None
    ]
    return summary_lines(claims)
