"""Steps W1-W4: hold a box's ledger to the checkpoints the central witness cosigned.

The box's own checkpoints (V8) catch a careless cut, but whoever holds the box holds its
device key and can cut records and checkpoints alike, then re-sign. The witness's cosigned
copies live at headquarters: what they cover, the box must still hold, unchanged.

W1  Trust: each witnessed file parses, carries a cosignature by the caller's trusted witness
    key (under `--witness-name`, if given) over exactly its checkpoint's tree head, and that
    checkpoint verifies with the stream's device key (V2; for a ledger emptied of every
    record, the caller's trusted key of the gateway it names) and names this stream and
    gateway. A file that fails is unusable (INCOMPLETE), never a verdict on the box: an
    altered file must not frame an honest one (a box whose key was swapped fails V2/V3).
    Files naming no verified stream are reported on the whole report.
W2  Tail: the ledger holds at least the newest witnessed size's records; the missing seqs
    are MISSING and the stream NOT_AUTHENTIC (the witness saw them).
W3  History: the RFC 6962 root over the ledger's first `size` lines equals every witnessed
    root of a size the ledger reaches; the first that differs, with the largest smaller
    witnessed size that still matches, bounds the rewritten records (NOT_AUTHENTIC).
W4  Fork: no checkpoint the box signed (checkpoints.jsonl) has a witnessed size with
    another root, nor do two witnessed checkpoints of one size differ (NOT_AUTHENTIC).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ..checkpoint import Checkpoint
from ..errors import SegmentError
from ..ledger import CHECKPOINTS_NAME, LEDGER_NAME
from ..signing import Verifier, fingerprint
from ..trust import TrustedKeys
from ..witness import Witnessed, WitnessedCheckpoint, open_witnessed
from .ledger_checks import LedgerResult, roots_at, split_lines
from .report import StreamIssue, Verdict, WitnessFinding, WitnessSummary
from .source import MediaSource

Files = list[tuple[str, bytes]]  # (label for messages, e.g. the path; the file's bytes)


@dataclass(frozen=True)
class WitnessInput:
    """What the caller brings: witnessed files, the witness key it trusts, and its name."""

    files: tuple[tuple[str, bytes], ...]
    key: Verifier
    name: str | None = None


def assign(
    witness: WitnessInput, streams: Sequence[tuple[str, LedgerResult]]
) -> tuple[dict[str, Files], list[StreamIssue]]:
    """W1 (part): the witnessed files of each stream, by the stream their checkpoint names."""
    by_stream: dict[str, Files] = {}
    issues: list[StreamIssue] = []
    for label, data in witness.files:
        try:
            cp = WitnessedCheckpoint.from_bytes(data).checkpoint
        except SegmentError as e:
            issues.append(_issue(Verdict.INCOMPLETE, f"{label}: unusable: {e}"))
            continue
        name = next((n for n, r in streams if cp.stream in (n, _stream_of(r))), None)
        if name is None:
            issues.append(
                _issue(
                    Verdict.INCOMPLETE,
                    f"{label}: witnessed stream {cp.stream!r} of gateway {cp.gateway!r} "
                    f"(size {cp.size}) is not among the verified streams",
                )
            )
            continue
        by_stream.setdefault(name, []).append((label, data))
    return by_stream, issues


def check_witness(
    name: str,
    source: MediaSource,
    result: LedgerResult,
    files: Files,
    witness: WitnessInput,
    trust: TrustedKeys | None = None,
) -> WitnessSummary:
    """W1-W4 for one stream; every finding goes to `result.findings`."""
    lines = split_lines(source.read_bytes(LEDGER_NAME))[0]
    seen = _trusted(result, files, witness, trust)  # W1
    found: list[WitnessFinding] = []
    heads = _heads(seen, found)  # W4 (the witness's own)
    newest = max(seen, key=lambda w: w.checkpoint.size, default=None)
    if newest is not None:
        _tail(result, len(lines), newest, found)  # W2
    matched = _history(lines, heads, found)  # W3
    _forks(name, source, result, heads, matched, found)  # W4
    for f in found:
        result.findings.issues.append(StreamIssue(Verdict.NOT_AUTHENTIC, f.detail, f.step))
    names = sorted({w.cosignature.name for w in seen})
    return WitnessSummary(
        witness=", ".join(names) or "-",
        fingerprint=fingerprint(witness.key),
        files=len(files),
        used=len(seen),
        newest_size=0 if newest is None else newest.checkpoint.size,
        newest_time=None if newest is None else _when(newest),
        matched=max(matched, default=0),
        findings=tuple(found),
    )


def _trusted(
    result: LedgerResult, files: Files, witness: WitnessInput, trust: TrustedKeys | None
) -> list[Witnessed]:
    """W1: the witnessed checkpoints that hold for this stream's key, stream and gateway.

    The device key is the one V2 chose; for a ledger emptied of every record, the caller's
    trusted key of the gateway the witnessed checkpoint names.
    """
    found, first = result.findings, result.findings.first_record()
    seen: list[Witnessed] = []
    for label, data in files:
        try:
            cp = WitnessedCheckpoint.from_bytes(data).checkpoint
            key = result.verifier
            if key is None and trust is not None:
                key = trust.for_subject(cp.gateway, cp.key_id)
            if key is None:
                found.issue("W1", Verdict.INCOMPLETE, f"{label}: unchecked: no device key (V2)")
                continue
            w = open_witnessed(data, key, witness.key, witness.name)
        except SegmentError as e:
            found.issue("W1", Verdict.INCOMPLETE, f"{label}: unusable: {e}")
            continue
        if first is not None and w.checkpoint.gateway != first.gateway:
            found.issue(
                "W1",
                Verdict.INCOMPLETE,
                f"{label}: witnessed for gateway {w.checkpoint.gateway!r}, the records name "
                f"{first.gateway!r}",
            )
            continue
        seen.append(w)
    return seen


def _tail(result: LedgerResult, held: int, newest: Witnessed, found: list[WitnessFinding]) -> None:
    """W2: the ledger's `held` lines reach the newest witnessed size, else the rest is cut."""
    size, last = newest.checkpoint.size, held - 1
    if size <= held:
        return
    ends = f"the ledger ends at seq {last}" if last >= 0 else "the ledger is empty"
    found.append(
        WitnessFinding(
            "W2",
            "cut",
            last + 1,
            size - 1,
            size,
            f"[W2] records {last + 1}..{size - 1} missing: the witnessed checkpoint of size "
            f"{size} ({_when(newest)}) covers them; {ends}",
        )
    )
    result.findings.missing(
        "W2", last + 1, size - 1, f"not in the ledger; the witnessed size {size} covers it"
    )


def _heads(seen: list[Witnessed], found: list[WitnessFinding]) -> dict[int, tuple[str, str]]:
    """Witnessed (root, when) by size; two witnessed roots for one size are a fork (W4)."""
    heads: dict[int, tuple[str, str]] = {}
    for w in sorted(seen, key=lambda w: w.checkpoint.size):
        size, root = w.checkpoint.size, w.checkpoint.root
        if size in heads and heads[size][0] != root:
            found.append(
                WitnessFinding(
                    "W4",
                    "fork",
                    0,
                    size - 1,
                    size,
                    f"[W4] fork: the witness cosigned two checkpoints of size {size} with "
                    f"different roots, both signed by the device key",
                )
            )
            continue
        heads.setdefault(size, (root, _when(w)))
    return heads


def _history(
    lines: Sequence[bytes], heads: dict[int, tuple[str, str]], found: list[WitnessFinding]
) -> list[int]:
    """W3: the witnessed sizes the ledger still matches; a mismatch bounds the rewrite."""
    reach = {size for size in heads if size <= len(lines)}
    roots = roots_at(lines, reach)
    matched: list[int] = []
    for size in sorted(reach):
        if roots[size] == heads[size][0]:
            matched.append(size)
            continue
        lo = max(matched, default=0)
        still = (
            f"the first {lo} still match the witnessed checkpoint of size {lo}"
            if lo
            else "no smaller witnessed checkpoint narrows it"
        )
        found.append(
            WitnessFinding(
                "W3",
                "rewrite",
                lo,
                size - 1,
                size,
                f"[W3] rewritten within records {lo}..{size - 1}: the ledger's first {size} "
                f"records differ from the witnessed checkpoint of size {size} ({heads[size][1]}); "
                f"{still}",
            )
        )
        break
    return matched


def _forks(
    name: str,
    source: MediaSource,
    result: LedgerResult,
    heads: dict[int, tuple[str, str]],
    matched: list[int],
    found: list[WitnessFinding],
) -> None:
    """W4: a checkpoint the box signed for a witnessed size must carry the witnessed root."""
    verifier, first = result.verifier, result.findings.first_record()
    if verifier is None or not heads:
        return
    for j, line in enumerate(split_lines(source.read_bytes(CHECKPOINTS_NAME))[0], start=1):
        try:
            cp = Checkpoint.from_json(line)
            ok = cp.verify(verifier)
        except (SegmentError, TypeError, ValueError, RecursionError):
            continue  # V8 reports unreadable and badly signed lines
        ours = cp.stream == name or (first is not None and cp.stream == first.stream)
        head = heads.get(cp.size)
        if not ok or not ours or head is None or head[0] == cp.root:
            continue
        lo = max((s for s in matched if s < cp.size), default=0)
        found.append(
            WitnessFinding(
                "W4",
                "fork",
                lo,
                cp.size - 1,
                cp.size,
                f"[W4] fork: the box's checkpoint {j} of size {cp.size} has root "
                f"{cp.root[:16]}…, the witnessed one {head[0][:16]}… ({head[1]}): the gateway "
                f"signed two histories, parting within records {lo}..{cp.size - 1}",
            )
        )


def _stream_of(result: LedgerResult) -> str | None:
    first = result.findings.first_record()
    return None if first is None else first.stream


def _issue(impact: Verdict, detail: str) -> StreamIssue:
    return StreamIssue(impact, f"[W1] {detail}", "W1")


def _when(w: Witnessed) -> str:
    """The cosignature's time as ISO 8601 UTC (a forged huge timestamp as `@<seconds>`)."""
    ts = w.cosignature.timestamp
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat()
    except (OverflowError, ValueError, OSError):
        return f"@{ts}"
