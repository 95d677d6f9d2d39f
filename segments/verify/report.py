"""What a verification finds: verdicts per seq, issues of a stream, and the reports of both.

The stream verifier, the slice check and the package check share this vocabulary, so an
expert reads one set of verdicts whichever check ran. Every finding names the step of the
procedure that produced it (`V4`, `S5`, `P1`, as numbered in each check's docstring): the
id leads each part of a `detail` (what the table shows) and is listed in `steps` or `step`
(what a JSON reader filters on).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from evgw import exit_codes

from ..camera_signing import SigningClaim
from ..records import Record
from ..timestamp import TimestampFinding


class SeqVerdict(StrEnum):
    """Per-seq verdicts, in rising severity."""

    OK = "OK"
    GAP = "GAP"
    TRUNCATED = "TRUNCATED"
    UNCHECKED = "UNCHECKED"  # present, but its content not hash-checked (a store's HEAD)
    MISSING = "MISSING"
    TIME_REGRESSION = "TIME_REGRESSION"
    HASH_MISMATCH = "HASH_MISMATCH"
    CHAIN_BREAK = "CHAIN_BREAK"
    SIG_BAD = "SIG_BAD"


class Verdict(StrEnum):
    """Overall verdicts, in rising severity.

    INTEGRITY_ONLY stands in for a passing verdict when no trusted key proved origin: the
    evidence is consistent with the key it names itself, which anyone can make. Any failing
    verdict still wins over it.
    """

    AUTHENTIC = "AUTHENTIC"
    AUTHENTIC_WITH_DECLARED_GAPS = "AUTHENTIC_WITH_DECLARED_GAPS"
    INTEGRITY_ONLY = "INTEGRITY_ONLY"
    INCOMPLETE = "INCOMPLETE"
    NOT_AUTHENTIC = "NOT_AUTHENTIC"


PASSING = frozenset({Verdict.AUTHENTIC, Verdict.AUTHENTIC_WITH_DECLARED_GAPS})
"""The verdicts under which `evgw verify` (and export, verify-export, find) exit 0."""

EXIT_PASS, EXIT_FAIL, EXIT_INTEGRITY_ONLY = exit_codes.OK, exit_codes.NEGATIVE, exit_codes.PARTIAL

KEY_FROM_CALLER = "trusted"  # a key the caller trusts (--pubkey, --trust): proves origin
KEY_FROM_LEDGER = "ledger"  # the stream's own `key` record: proves integrity since then
KEY_NONE = "none"


def exit_code(verdict: Verdict) -> int:
    """0 for a passing verdict, 4 (partial: origin unchecked) for INTEGRITY_ONLY, 1 for a
    failing one."""
    if verdict in PASSING:
        return EXIT_PASS
    return EXIT_INTEGRITY_ONLY if verdict is Verdict.INTEGRITY_ONLY else EXIT_FAIL


def with_origin(integrity: Verdict, trusted: bool) -> Verdict:
    """The verdict to report: a passing one becomes INTEGRITY_ONLY unless origin is proven."""
    return Verdict.INTEGRITY_ONLY if integrity in PASSING and not trusted else integrity


MAX_ROWS_PER_RUN = 1000  # a longer run of missing seqs is one row (a forged seq can be huge)

_SEVERITY = {v: i for i, v in enumerate(SeqVerdict)}
_VERDICT_RANK = {v: i for i, v in enumerate(Verdict)}
_IMPACT = {
    SeqVerdict.OK: Verdict.AUTHENTIC,
    SeqVerdict.GAP: Verdict.AUTHENTIC_WITH_DECLARED_GAPS,
    SeqVerdict.TRUNCATED: Verdict.AUTHENTIC_WITH_DECLARED_GAPS,
    SeqVerdict.UNCHECKED: Verdict.INCOMPLETE,
    SeqVerdict.MISSING: Verdict.INCOMPLETE,
    SeqVerdict.TIME_REGRESSION: Verdict.NOT_AUTHENTIC,
    SeqVerdict.HASH_MISMATCH: Verdict.NOT_AUTHENTIC,
    SeqVerdict.CHAIN_BREAK: Verdict.NOT_AUTHENTIC,
    SeqVerdict.SIG_BAD: Verdict.NOT_AUTHENTIC,
}


@dataclass(frozen=True)
class SeqFinding:
    """One table row: the worst verdict of a seq, with every reason in `detail`.

    `detail` joins the reasons, worst first, each led by its step id (`[V4] prev does not
    match seq 5`); `steps` lists those ids in the same order.
    """

    seq: int
    verdict: str  # a SeqVerdict, or "GAP(<reason>)"
    detail: str
    kind: str | None
    start: str | None
    end: str | None
    file: str | None
    through: int | None = None  # last seq of a collapsed run of MISSING seqs
    steps: tuple[str, ...] = ()
    # The camera's claim as the gateway recorded it (never verified by evgw): None when the
    # record holds none (burn-in, not a segment, older records).
    camera_signed: bool | None = None
    camera_cert_sha256: str | None = None


@dataclass(frozen=True)
class StreamIssue:
    """A defect of the stream not tied to one seq (unreadable line, bad checkpoint).

    `detail` is led by the id of the `step` that found it.
    """

    impact: Verdict
    detail: str
    step: str


@dataclass(frozen=True)
class WitnessFinding:
    """A range of seqs the box does not hold as the witness saw it (`kind`: cut, rewrite, fork).

    Seqs `first`..`last` are the ones in question, `size` the witnessed tree size that shows
    it; `detail` is the issue's text, led by its `step` id.
    """

    step: str
    kind: str
    first: int
    last: int
    size: int
    detail: str


@dataclass(frozen=True)
class WitnessSummary:
    """How a stream compares with its witnessed checkpoints (steps W1-W4)."""

    witness: str  # the witness name(s) whose cosignatures verified, or "-"
    fingerprint: str  # the trusted witness key
    files: int  # witnessed files given for this stream
    used: int  # of them, those that verified (W1)
    newest_size: int  # largest verified witnessed size (0: none)
    newest_time: str | None  # when the witness cosigned it (UTC)
    matched: int  # largest witnessed size the ledger still matches
    findings: tuple[WitnessFinding, ...]


@dataclass(frozen=True)
class StreamReport:
    """One stream's result; `verdict` is `integrity` unless origin is unproven (V2)."""

    stream: str
    verdict: Verdict
    integrity: Verdict  # what the records and files show, whichever key checked them
    findings: tuple[SeqFinding, ...]
    issues: tuple[StreamIssue, ...]
    key_source: str
    fingerprint: str | None
    origin: str  # how origin was (not) established, for the reader
    records: int  # ledger lines
    checkpoints_used: int  # valid checkpoints whose root matched the ledger
    pinned: int  # ledger lines covered by the newest matching checkpoint
    witness: WitnessSummary | None = None  # given witnessed checkpoints only
    timestamps: tuple[TimestampFinding, ...] = ()  # V12: one per checkpoint, by size


@dataclass(frozen=True)
class Report:
    verdict: Verdict
    integrity: Verdict
    streams: tuple[StreamReport, ...]
    key_source: str
    fingerprint: str | None
    checkpoints_used: int
    issues: tuple[StreamIssue, ...] = ()  # of no one stream: an unusable witnessed file

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


def worst(verdicts: Iterable[Verdict], empty: Verdict) -> Verdict:
    """The most severe of `verdicts`; `empty` when there are none."""
    return max(verdicts, key=_VERDICT_RANK.__getitem__, default=empty)


@dataclass(frozen=True)
class _Entry:
    step: str
    verdict: SeqVerdict
    detail: str
    reason: str | None  # a GAP's reason


@dataclass
class _Row:
    entries: list[_Entry] = field(default_factory=list)
    record: Record | None = None
    through: int | None = None

    def worst(self) -> _Entry:
        return max(
            self.entries,
            key=lambda e: _SEVERITY[e.verdict],
            default=_Entry("", SeqVerdict.OK, "", None),
        )


class Findings:
    """Every finding of one check, collected step by step, then read back as rows and a verdict.

    A seq gets a row as soon as its record is seen, so an intact record shows as OK.
    """

    def __init__(self) -> None:
        self._rows: dict[int, _Row] = {}
        self.issues: list[StreamIssue] = []

    def see(self, record: Record) -> None:
        """A parsed record of `record.seq`; the first one seen names the row."""
        row = self._rows.setdefault(record.seq, _Row())
        if row.record is None:
            row.record = record

    def record(self, seq: int) -> Record | None:
        row = self._rows.get(seq)
        return None if row is None else row.record

    def first_record(self) -> Record | None:
        return next((r.record for r in self._rows.values() if r.record is not None), None)

    def add(
        self, step: str, seq: int, verdict: SeqVerdict, detail: str, reason: str | None = None
    ) -> None:
        self._rows.setdefault(seq, _Row()).entries.append(_Entry(step, verdict, detail, reason))

    def missing(self, step: str, first: int, last: int, detail: str) -> None:
        """Seqs `first`..`last` are MISSING; a run too long for rows becomes one row."""
        if last - first + 1 <= MAX_ROWS_PER_RUN:
            for seq in range(first, last + 1):
                self.add(step, seq, SeqVerdict.MISSING, detail)
        else:
            self.add(step, first, SeqVerdict.MISSING, f"seqs {first}-{last}: {detail}")
            self._rows[first].through = last

    def issue(self, step: str, impact: Verdict, detail: str) -> None:
        self.issues.append(StreamIssue(impact, f"[{step}] {detail}", step))

    def findings(self) -> tuple[SeqFinding, ...]:
        return tuple(_finding(seq, row) for seq, row in sorted(self._rows.items()))

    def verdict(self) -> Verdict:
        """The worst impact of any row or issue; AUTHENTIC when nothing was found."""
        rows = (_IMPACT[row.worst().verdict] for row in self._rows.values())
        return worst([*rows, *(i.impact for i in self.issues)], Verdict.AUTHENTIC)


def _finding(seq: int, row: _Row) -> SeqFinding:
    top = row.worst()
    ordered = sorted(row.entries, key=lambda e: -_SEVERITY[e.verdict])
    record = row.record
    claim = None if record is None else SigningClaim.from_extra(record.extra)
    return SeqFinding(
        seq=seq,
        verdict=f"GAP({top.reason})" if top.verdict is SeqVerdict.GAP else str(top.verdict),
        detail="; ".join(dict.fromkeys(f"[{e.step}] {e.detail}" for e in ordered)),
        kind=record.kind if record else None,
        start=record.start if record else None,
        end=record.end if record else None,
        file=record.file if record else None,
        through=row.through,
        steps=tuple(dict.fromkeys(e.step for e in ordered)),
        camera_signed=None if claim is None else claim.signed,
        camera_cert_sha256=None if claim is None else claim.cert_sha256,
    )
