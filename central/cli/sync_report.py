"""The witness and timestamp part of `evgw archive sync`'s summary (terminal and --json)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..sync.service import SyncResult
from ..witness.step import WitnessCounts


def companions_json(result: SyncResult, witness: WitnessCounts | None) -> dict[str, Any]:
    return {
        "witness": None if witness is None else asdict(witness),
        "timestamps": [asdict(t) for t in result.times],
    }


def companion_lines(result: SyncResult, witness: WitnessCounts | None) -> list[str]:
    """What the witness did, then the TSA time of each stream's newest checkpoint."""
    if witness is None:
        lines = ["witness: not configured ([witness] left out): nothing co-signed"]
    else:
        lines = [
            f"witness: co-signed {witness.witnessed} checkpoint(s) and wrote them beside "
            f"their checkpoints; {witness.already} co-signed before"
            + (f"; {witness.resumed} finished from a stopped run" if witness.resumed else "")
        ]
        if witness.refused:
            lines.append(f"witness refused {len(witness.refused)} (never co-signed):")
            lines += [f"  {why}" for why in witness.refused]
    for t in result.times:
        where = f"{t.gateway}/{t.stream} size {t.size}"
        if t.status is None:
            lines.append(f"time of newest checkpoint {where}: no timestamp token yet")
        elif t.status == "PENDING":
            lines.append(f"time of newest checkpoint {where}: token waiting for its checkpoint")
        else:
            lines.append(f"time of newest checkpoint {where}: {t.tsa_time or '-'} by the TSA "
                         f"({t.status})")  # fmt: skip
    return lines
