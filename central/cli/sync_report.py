"""The witness and timestamp part of `evgw archive sync`'s summary (terminal and --json).

The terminal shows each TSA time in the reader's zone with the offset; JSON keeps UTC.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from evgw.i18n import _, ngettext
from evgw.local_time import Zone, note, show

from ..sync.service import SyncResult
from ..witness.step import WitnessCounts


def companions_json(result: SyncResult, witness: WitnessCounts | None) -> dict[str, Any]:
    return {
        "witness": None if witness is None else asdict(witness),
        "timestamps": [asdict(t) for t in result.times],
    }


def companion_lines(
    result: SyncResult, witness: WitnessCounts | None, zone: Zone | None = None
) -> list[str]:
    """What the witness did, then the TSA time of each stream's newest checkpoint."""
    lines = _witness_lines(witness)
    for t in result.times:
        where = _("time of newest checkpoint {gateway}/{stream} size {size}").format(
            gateway=t.gateway, stream=t.stream, size=t.size
        )
        if t.status is None:
            lines.append(_("{where}: no timestamp token yet").format(where=where))
        elif t.status == "PENDING":
            lines.append(_("{where}: token waiting for its checkpoint").format(where=where))
        else:
            lines.append(
                _("{where}: {time} by the TSA ({status})").format(
                    where=where, time=show(t.tsa_time, zone), status=t.status
                )
            )
    if zone is not None and any(t.tsa_time for t in result.times):
        lines.append("  " + note(zone))
    return lines


def _witness_lines(witness: WitnessCounts | None) -> list[str]:
    if witness is None:
        return [_("witness: not configured ([witness] left out): nothing co-signed")]
    done = ngettext(
        "witness: co-signed {count} checkpoint and wrote it beside its checkpoint",
        "witness: co-signed {count} checkpoints and wrote them beside their checkpoints",
        witness.witnessed,
    ).format(count=witness.witnessed)
    done = _("{done}; {count} co-signed before").format(done=done, count=witness.already)
    if witness.resumed:
        done = _("{done}; {count} finished from a stopped run").format(
            done=done, count=witness.resumed
        )
    lines = [done]
    if witness.refused:
        lines.append(
            _("witness refused {count} (never co-signed):").format(count=len(witness.refused))
        )
        lines += [f"  {why}" for why in witness.refused]
    return lines
