"""What `find` answers, on the box and at the archive: each segment's state and verdict, the
holes, and one text rendering, so both name the same things the same way.

States: `local` (on the box only), `confirmed` (uploaded; at the archive: in the bucket and
matching its signed record), `held` (under a legal hold), `evicted` (removed from the box by
a signed `purge` after a confirmed upload), `purged` (removed before one: a declared loss),
`missing` (absent with nothing declaring it).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from evgw.display_width import ljust, rjust
from evgw.i18n import _
from evgw.local_time import Zone, note, show

from .case_range import DECLARED, Hole
from .records import Record
from .trust import ORIGIN_HINT
from .verify import SeqFinding, StreamIssue, Verdict

LOCAL = "local"
HELD, CONFIRMED, EVICTED, PURGED, MISSING = "held", "confirmed", "evicted", "purged", "missing"


@dataclass(frozen=True)
class FoundSegment:
    seq: int
    kind: str
    start: str | None
    end: str | None
    file: str | None
    state: str  # local | confirmed | held | evicted | purged | missing
    verdict: str
    detail: str


@dataclass(frozen=True)
class FindResult:
    camera: str
    start: str
    end: str
    source: str
    verdict: str
    integrity: str
    key: str | None  # fingerprint of the key the records were checked with
    origin: str
    segments: tuple[FoundSegment, ...]
    gaps: tuple[Hole, ...]
    issues: tuple[StreamIssue, ...]


def found_segment(r: Record, states: dict[int, str], finding: SeqFinding | None) -> FoundSegment:
    return FoundSegment(
        r.seq, r.kind, r.start, r.end, r.file, states.get(r.seq, MISSING),
        finding.verdict if finding else "-", finding.detail if finding else "",
    )  # fmt: skip


def whole_sha256(checksum: str | None) -> str | None:
    """A store's full-object SHA-256 (base64) as hex; None for none or a multipart composite."""
    if not checksum or "-" in checksum:
        return None
    try:
        raw = base64.b64decode(checksum, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


def render_find(result: FindResult, zone: Zone | None = None) -> str:
    """The human table of `evgw find` and `evgw archive find`; times in `zone` (else as
    recorded, UTC)."""
    out = [
        _("camera {camera}: {start} .. {end} (source {source})").format(
            camera=result.camera,
            start=show(result.start, zone),
            end=show(result.end, zone),
            source=result.source,
        )
    ]
    if zone is not None:
        out.append("  " + note(zone))
    if not result.segments:
        out.append("  " + _("no recording in this range"))
    out.append(
        f"  {rjust(_('seq'), 6)}  {ljust(_('start'), 32)}  {ljust(_('end'), 32)}  "
        f"{ljust(_('state'), 9)}  {_('verdict')}"
    )
    for s in result.segments:
        detail = f"  {s.detail}" if s.detail else ""
        out.append(
            f"  {s.seq:>6}  {show(s.start, zone):<32}  {show(s.end, zone):<32}  "
            f"{s.state:<9}  {s.verdict}" + detail
        )
    for h in result.gaps:
        by = "" if h.status != DECLARED else _declared_by(h.seq, h.reason)
        out.append(
            "  "
            + _("gap {start} .. {end}: {reason} ({status}{by})").format(
                start=show(h.start, zone),
                end=show(h.end, zone),
                reason=h.reason,
                status=h.status.replace("_", " "),
                by=by,
            )
        )
    out += [f"  ! {i.impact}: {i.detail}" for i in result.issues]
    out.append(_("key: {key} ({origin})").format(key=result.key, origin=result.origin))
    out.append(_("verdict: {verdict}").format(verdict=result.verdict))
    if result.verdict == Verdict.INTEGRITY_ONLY:
        out.append(_("origin NOT established: {hint}").format(hint=_(ORIGIN_HINT)))
    return "\n".join(out)


def _declared_by(seq: int | None, reason: str) -> str:
    if seq is not None:
        return _(" by record seq {seq}").format(seq=seq)
    return _(" by the final checkpoint of a clean stop") if reason == "operator_stop" else ""
