"""Wall-clock alignment of boundaries, time formats and the PTS → wall mapping."""

from datetime import UTC, datetime
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segments.errors import CryptoFormatError
from segments.timeline import (
    PtsClock,
    boundary_floor,
    compact_utc,
    iso_utc,
    next_boundary,
    parse_iso,
)

T0 = datetime(2026, 11, 27, 6, 3, 27, 250000, tzinfo=UTC).timestamp()


def test_boundary_floor_and_next_boundary_align_to_the_segment_length() -> None:
    assert iso_utc(boundary_floor(T0, 60)) == "2026-11-27T06:03:00.000000+00:00"
    assert iso_utc(next_boundary(T0, 60)) == "2026-11-27T06:04:00.000000+00:00"
    assert iso_utc(boundary_floor(T0, 300)) == "2026-11-27T06:00:00.000000+00:00"
    assert boundary_floor(10.0, 2) == 10.0
    assert next_boundary(10.0, 2) == 12.0
    assert boundary_floor(11.999, 2) == 10.0


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False), st.sampled_from([1, 2, 60, 900]))
def test_a_wall_time_lies_in_its_slot(wall: float, seconds: int) -> None:
    lo = boundary_floor(wall, seconds)
    assert lo <= wall < next_boundary(wall, seconds)
    assert lo % seconds == 0


def test_iso_utc_has_microseconds_and_an_explicit_offset() -> None:
    assert iso_utc(T0) == "2026-11-27T06:03:27.250000+00:00"
    assert iso_utc(0.0) == "1970-01-01T00:00:00.000000+00:00"
    assert datetime.fromisoformat(iso_utc(T0)).timestamp() == T0


def test_compact_utc_is_a_sortable_file_name_stamp() -> None:
    assert compact_utc(T0) == "20261127T060327Z"
    assert ":" not in compact_utc(T0)
    assert compact_utc(T0) < compact_utc(T0 + 1) < compact_utc(T0 + 86400)


def test_pts_clock_maps_pts_to_wall_time_from_its_anchor() -> None:
    tb = Fraction(1, 90000)
    clock = PtsClock.anchor(1_800_000_001.0, 900_000, tb)  # anchored at PTS 10 s
    assert clock.anchor_s == 10.0
    assert clock.wall(900_000, tb) == 1_800_000_001.0
    assert clock.wall(900_000 + 3600, tb) == pytest.approx(1_800_000_001.04)
    assert clock.wall(900_000 + 90000 * 60, tb) == pytest.approx(1_800_000_061.0)
    assert clock.wall(0, tb) == pytest.approx(1_800_000_001.0 - 10)


def test_pts_clock_follows_the_source_timestamps_not_the_frame_count() -> None:
    tb = Fraction(1, 25)
    clock = PtsClock.anchor(100.0, 0, tb)
    assert clock.wall(1, tb) == pytest.approx(100.04)
    assert clock.wall(50, tb) == pytest.approx(102.0), "a 48-frame hole stays a 2 s hole"


def test_pts_clock_is_frozen() -> None:
    clock = PtsClock.anchor(1.0, 0, Fraction(1, 1000))
    with pytest.raises(AttributeError):
        clock.anchor_wall = 2.0  # type: ignore[misc]


@given(st.floats(min_value=0, max_value=4e9))
def test_parse_iso_reads_back_iso_utc(wall: float) -> None:
    parsed = parse_iso(iso_utc(wall))
    assert parsed is not None and parsed.timestamp() == pytest.approx(wall, abs=1e-6)


def test_parse_iso_refuses_what_names_no_instant() -> None:
    assert parse_iso(None) is None
    for bad in ("2026-11-27T06:03:00", "06:03", 1_795_759_380):
        with pytest.raises(CryptoFormatError):
            parse_iso(bad)
