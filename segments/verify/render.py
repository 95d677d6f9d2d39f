"""The human reading of a verification report: one table per stream, then the verdict.

Shared by `evgw verify` (the box's and an expert's command) and `evgw archive verify-box`
(headquarters), so a box checked either way reads the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from evgw.display_width import ljust, rjust
from evgw.i18n import _
from evgw.local_time import Zone, note, show

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


def render(report: Report, zone: Zone | None = None) -> str:
    """The report for a person; times in `zone` (else as recorded, UTC)."""
    out = [] if zone is None else [note(zone)]
    for stream in report.streams:
        out += _render_stream(stream, zone, per_stream_key=len(report.streams) > 1)
    key = report.fingerprint or _("differs per stream")
    origins = "; ".join(sorted({s.origin for s in report.streams}))
    out.append(
        _("key: {key} ({note}; {origins})").format(
            key=key, note=_key_note(report.key_source), origins=origins
        )
    )
    out += [f"! {i.impact}: {i.detail}" for i in report.issues]
    out.append(_("verdict: {verdict}").format(verdict=report.verdict))
    if report.verdict is Verdict.INTEGRITY_ONLY:
        out.append(
            _(
                "origin NOT established: the records are consistent ({integrity}) with the "
                "key they name themselves, which anyone can make; {hint}"
            ).format(integrity=report.integrity, hint=_(ORIGIN_HINT))
        )
    return "\n".join(out)


def _render_stream(s: StreamReport, zone: Zone | None, *, per_stream_key: bool) -> list[str]:
    lines = [
        _(
            "stream {stream}: {verdict}  ({records} records, {pinned} pinned by {checkpoints} "
            "signed checkpoint(s))"
        ).format(
            stream=s.stream,
            verdict=s.verdict,
            records=s.records,
            pinned=s.pinned,
            checkpoints=s.checkpoints_used,
        ),
        f"  {rjust(_('seq'), 8)}  {ljust(_('kind'), 9)}  {ljust(_('start'), 32)}  "
        f"{ljust(_('verdict'), 28)}  {_('detail')}",
    ]
    for f in s.findings:
        seq = f"{f.seq}-{f.through}" if f.through is not None else str(f.seq)
        lines.append(
            f"  {seq:>8}  {f.kind or '-':<9}  {show(f.start, zone):<32}  {f.verdict:<28}  "
            f"{f.detail}"
        )
    if s.witness is not None:
        lines.append(_witness_line(s.witness, zone))
    lines += [f"  ! {i.impact}: {i.detail}" for i in s.issues]
    lines += _render_timestamps(s.timestamps, zone)
    if per_stream_key:
        lines.append(
            "  "
            + _("key {key} ({note}; {origin})").format(
                key=s.fingerprint or "-", note=_key_note(s.key_source), origin=s.origin
            )
        )
    lines += [f"  {line}" for line in _camera_signing(s.findings)]
    return lines


def _witness_line(w: WitnessSummary, zone: Zone | None) -> str:
    head = "  " + _("witness {witness} (key {key}): {used} of {files} witnessed file(s)").format(
        witness=w.witness, key=w.fingerprint, used=w.used, files=w.files
    )
    if not w.files:
        return "  " + _("witness: no witnessed checkpoint given for this stream")
    if not w.used:
        return head + _(" usable: the witness check could not be made")
    verdict = _("FAILED, see below") if w.findings else _("the ledger holds them unchanged")
    return head + _(
        ", newest size {size} cosigned {time}; ledger matches up to size {matched}: {verdict}"
    ).format(size=w.newest_size, time=show(w.newest_time, zone), matched=w.matched, verdict=verdict)


def _render_timestamps(stamps: Sequence[TimestampFinding], zone: Zone | None) -> list[str]:
    """The RFC 3161 time per checkpoint (V12); a stream without any token says so once."""
    if not stamps:
        return []
    if all(t.status == MISSING for t in stamps):
        return ["  " + _("timestamps: none for its {n} checkpoint(s)").format(n=len(stamps))]
    lines = [
        f"  {rjust(_('checkpoint'), 10)}  {ljust(_('timestamp'), 9)}  "
        f"{ljust(_('time (TSA)'), 32)}  {_('detail')}"
    ]
    for t in stamps:
        by = _("by {tsa}; ").format(tsa=t.tsa) if t.tsa else ""
        lines.append(f"  {t.size:>10}  {t.status:<9}  {show(t.time, zone):<32}  {by}{t.detail}")
    return lines


def _key_note(source: str) -> str:
    if source == KEY_FROM_CALLER:
        return _("trusted")
    if source == KEY_FROM_LEDGER:
        return _("from the ledger's own key record: proves integrity, not origin")
    return _("no key")


def _camera_signing(findings: Sequence[SeqFinding]) -> list[str]:
    """Which segments the camera says it signed (recorded by the gateway, not verified)."""
    claims = [
        (f.seq, SigningClaim(f.camera_signed, f.camera_cert_sha256))
        for f in findings
        if f.camera_signed is not None
    ]
    return summary_lines(claims)
