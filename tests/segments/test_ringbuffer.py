"""`segments.ringbuffer`: eviction order, legal holds, the on_full policy, and its properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segments.index_rows import LOCAL, SegmentRow
from segments.ringbuffer import (
    EVICT_UNUPLOADED,
    EVICTED_CONFIRMED,
    EVICTED_UNUPLOADED,
    MIN_FREE,
    QUOTA,
    STOP_RECORDING,
    Limits,
    Plan,
    Usage,
    needed_bytes,
    plan,
)

MB = 1_000_000


def seg(seq: int, *, confirmed: bool = True, held: bool = False, size: int = MB) -> SegmentRow:
    start = 1000.0 + 60 * seq
    return SegmentRow(
        "cam1", seq, start, start + 60, f"{seq}.mp4.age", size, LOCAL, confirmed, held
    )


def used(segments: list[SegmentRow]) -> int:
    return sum(s.size for s in segments)


def seqs(p: Plan) -> list[int]:
    return [e.segment.seq for e in p.evictions]


def test_within_limits_plans_nothing() -> None:
    segments = [seg(i) for i in range(5)]
    p = plan(segments, Limits(quota_bytes=10 * MB, min_free_bytes=MB), Usage(5 * MB, 2 * MB))
    assert p.evictions == () and not p.stop_recording and p.needed_bytes == 0


def test_no_limits_plans_nothing() -> None:
    p = plan([seg(1)], Limits(), Usage(10**15, 0))
    assert p.evictions == () and p.causes == ()


def test_quota_evicts_oldest_confirmed_first() -> None:
    segments = [seg(1, confirmed=False), seg(2), seg(3), seg(4)]
    p = plan(segments, Limits(quota_bytes=2 * MB), Usage(4 * MB, 100 * MB))
    assert seqs(p) == [2, 3]
    assert all(not e.purge and e.reason == EVICTED_CONFIRMED for e in p.evictions)
    assert p.frees_bytes == 2 * MB and p.causes == (QUOTA,) and p.unmet_bytes == 0


def test_min_free_counts_the_disk() -> None:
    segments = [seg(i) for i in range(4)]
    p = plan(segments, Limits(min_free_bytes=3 * MB), Usage(4 * MB, MB + 1))
    assert seqs(p) == [0, 1] and p.causes == (MIN_FREE,)


def test_the_larger_shortfall_wins() -> None:
    need, causes = needed_bytes(Limits(quota_bytes=5, min_free_bytes=10), Usage(8, 1))
    assert need == 9 and causes == (QUOTA, MIN_FREE)


def test_order_is_by_start_time_not_input_order() -> None:
    segments = [seg(3), seg(1), seg(2)]
    assert seqs(plan(segments, Limits(quota_bytes=MB), Usage(3 * MB, 0))) == [1, 2]


def test_held_segments_are_never_evicted() -> None:
    segments = [seg(1, held=True), seg(2, held=True, confirmed=False), seg(3), seg(4)]
    p = plan(segments, Limits(quota_bytes=MB), Usage(4 * MB, 0))
    assert seqs(p) == [3, 4]
    assert p.unmet_bytes == MB and not p.stop_recording


def test_unconfirmed_are_purged_only_after_every_confirmed() -> None:
    segments = [seg(1, confirmed=False), seg(2), seg(3, confirmed=False), seg(4, confirmed=False)]
    p = plan(segments, Limits(quota_bytes=MB), Usage(4 * MB, 0))
    assert seqs(p) == [2, 1, 3]
    assert [e.purge for e in p.evictions] == [False, True, True]
    assert p.evictions[1].reason == EVICTED_UNUPLOADED
    assert [e.segment.seq for e in p.purges] == [1, 3]
    assert not p.stop_recording


def test_stop_recording_keeps_unconfirmed_and_stops() -> None:
    segments = [seg(1, confirmed=False), seg(2), seg(3, confirmed=False)]
    p = plan(segments, Limits(quota_bytes=MB, on_full=STOP_RECORDING), Usage(3 * MB, 0))
    assert seqs(p) == [2] and p.stop_recording and p.unmet_bytes == MB


def test_stop_recording_not_needed_when_confirmed_suffice() -> None:
    segments = [seg(1, confirmed=False), seg(2), seg(3)]
    p = plan(segments, Limits(quota_bytes=2 * MB, on_full=STOP_RECORDING), Usage(3 * MB, 0))
    assert seqs(p) == [2] and not p.stop_recording


def test_stop_recording_when_only_held_remain() -> None:
    p = plan([seg(1, held=True)], Limits(quota_bytes=1, on_full=STOP_RECORDING), Usage(MB, 0))
    assert p.evictions == () and p.stop_recording


@pytest.mark.parametrize(
    "kw", [{"quota_bytes": -1}, {"min_free_bytes": -5}, {"on_full": "delete_everything"}]
)
def test_bad_limits_are_refused(kw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Limits(**kw)  # type: ignore[arg-type]


# --- properties ---

rows = st.lists(st.tuples(st.booleans(), st.booleans(), st.integers(0, 5 * MB)), max_size=30).map(
    lambda xs: [seg(i, confirmed=c, held=h, size=n) for i, (c, h, n) in enumerate(xs)]
)
limits = st.builds(
    Limits,
    quota_bytes=st.integers(0, 60 * MB),
    min_free_bytes=st.integers(0, 60 * MB),
    on_full=st.sampled_from([EVICT_UNUPLOADED, STOP_RECORDING]),
)


@given(rows, limits, st.integers(0, 60 * MB))
def test_properties(segments: list[SegmentRow], lim: Limits, free: int) -> None:
    usage = Usage(used(segments), free)
    p = plan(segments, lim, usage)
    gone = [e.segment for e in p.evictions]
    need, _ = needed_bytes(lim, usage)
    # Never a held segment, never one twice.
    assert not any(s.held for s in gone)
    assert len({s.seq for s in gone}) == len(gone)
    # Confirmed before unconfirmed; oldest first within each class.
    kinds = [e.purge for e in p.evictions]
    assert kinds == sorted(kinds)
    for purge in (False, True):
        starts = [e.segment.start_ts for e in p.evictions if e.purge is purge]
        assert starts == sorted(starts)
    # Never purges while a confirmed, unheld segment stays.
    if p.purges:
        assert {s.seq for s in segments if s.confirmed and not s.held} <= {s.seq for s in gone}
        assert lim.on_full == EVICT_UNUPLOADED
    # Frees enough when the policy can, and no more segments than needed.
    assert p.frees_bytes == sum(s.size for s in gone)
    allowed = [
        s for s in segments if not s.held and (s.confirmed or lim.on_full == EVICT_UNUPLOADED)
    ]
    if used(allowed) >= need:
        assert p.frees_bytes >= need and not p.stop_recording
    else:
        assert p.unmet_bytes > 0
        assert p.stop_recording == (lim.on_full == STOP_RECORDING)
    if gone:
        assert p.frees_bytes - gone[-1].size < need
    # Within limits: nothing to do.
    if need == 0:
        assert p.evictions == () and not p.stop_recording
