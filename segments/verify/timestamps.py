"""Step V12 of the stream verifier: the RFC 3161 token beside each checkpoint.

For every readable line of `checkpoints.jsonl` (V8 reports the unreadable ones), the token
`checkpoints/<size:08d>.tsr` is checked against that line's exact bytes and the caller's TSA
trust anchors (`segments.timestamp`, T1-T3). A refused token (broken, for another checkpoint,
from a TSA the caller does not trust) is a stream issue of impact NOT_AUTHENTIC: someone put
a false time beside the evidence. A missing token is listed, not held against the stream (the
TSA may still have been offline); without anchors a token's time is listed as UNCHECKED.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509

from ..checkpoint import Checkpoint
from ..errors import CryptoFormatError
from ..ledger import CHECKPOINTS_NAME
from ..timestamp import REFUSED, TimestampFinding, check_token, token_relpath
from .report import Findings, Verdict
from .source import MediaSource


def check_timestamps(
    source: MediaSource,
    found: Findings,
    anchors: Sequence[x509.Certificate] | None,
) -> tuple[TimestampFinding, ...]:
    """V12 for one stream: a finding per checkpoint; refused tokens also become issues."""
    data = source.read_bytes(CHECKPOINTS_NAME) or b""
    results: dict[int, TimestampFinding] = {}
    for line in data.split(b"\n"):
        try:
            size = Checkpoint.from_json(line).size
        except (CryptoFormatError, RecursionError):
            continue
        finding = check_token(source.read_bytes(token_relpath(size)), line, size, anchors)
        results[size] = finding
        if finding.status == REFUSED:
            found.issue(
                "V12",
                Verdict.NOT_AUTHENTIC,
                f"checkpoint of size {size}: timestamp token refused: {finding.detail}",
            )
    return tuple(results[size] for size in sorted(results))
