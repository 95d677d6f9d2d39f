"""Stored reports are untrusted JSON: whatever a gateway sent, the desk's row for it is built
without an exception, a wrong-typed value reads as absent."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from central.desk.web.ratelimit import LoginLimiter
from central.desk.web.reports import (
    OFFLINE,
    ONLINE,
    STALE,
    camera_status,
    gateway_state,
    gateway_status,
)

KEYS = [
    "upload",
    "backlog_count",
    "oldest_unconfirmed_age_s",
    "minutes_left",
    "clock",
    "synced",
    "cameras_recording",
    "cameras_total",
    "site",
    "online",
    "recording",
    "fps",
    "bitrate_bps",
    "last_frame_age_s",
    "last_error",
]
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), values) | values, st.text(max_size=30))
def test_any_report_makes_a_row(report: Any, raw: str) -> None:
    for text in (json.dumps(report), raw, None):
        camera = camera_status("gw", "cam", text or "", 0.0, 0, 10.0, 60.0)
        row = gateway_status("gw", "online", text, 0.0, [camera], 1, 10.0, 60.0)
        assert row.state == ONLINE and row.active_alarms == 1
        assert row.backlog_count is None or isinstance(row.backlog_count, int)
        assert row.minutes_left is None or isinstance(row.minutes_left, float)
        assert isinstance(row.site, str) and camera.state in (ONLINE, OFFLINE)


def test_wrong_types_read_as_absent() -> None:
    text = json.dumps(
        {
            "upload": {"backlog_count": True, "oldest_unconfirmed_age_s": "3"},
            "minutes_left": 10**400,
            "clock": [],
            "site": 5,
        }
    )
    row = gateway_status("gw", "", text, 0.0, [], 0, 1.0, 60.0)
    assert (row.backlog_count, row.oldest_unconfirmed_age_s, row.minutes_left) == (None,) * 3
    assert row.clock_synced is None and row.site == ""
    for hostile in ("{" * 10_000, "[" * 100_000 + "]" * 100_000):
        assert gateway_status("gw", "", hostile, 0.0, [], 0, 1.0, 60.0).backlog_count is None


def test_offline_beats_stale_beats_online() -> None:
    assert gateway_state("offline", 0.0, 1.0, 60.0) == OFFLINE
    assert gateway_state("offline", 0.0, 1000.0, 60.0) == OFFLINE
    assert gateway_state("online", 0.0, 61.0, 60.0) == STALE
    assert gateway_state("", 0.0, 60.0, 60.0) == ONLINE


def test_login_limiter_counts_a_sliding_minute() -> None:
    limiter = LoginLimiter()
    for t in range(5):
        assert not limiter.blocked("10.0.0.1", float(t))
        limiter.failed("10.0.0.1", float(t))
    assert limiter.blocked("10.0.0.1", 5.0) and not limiter.blocked("10.0.0.2", 5.0)
    assert limiter.retry_after_s("10.0.0.1", 5.0) == 55
    assert limiter.blocked("10.0.0.1", 59.9) and not limiter.blocked("10.0.0.1", 60.0)
