"""`gateway.status`: the daemon's `outlook` tells what `gather` tells, from indexed queries."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.status import StatusScope, gather, outlook
from segments.index import Index
from segments.index_rows import EVICTED, MISSING, PURGED
from segments.records import Record
from segments.ringbuffer import Limits
from segments.timeline import iso_utc

NOW = 1_795_800_000.0
SEGMENT = Record(
    stream="", seq=0, kind="segment", start=None, end=None, gateway="gw", site="s",
    location="l", camera="", camera_name="", boot_id="b", file="f.mp4.age", size_cipher=0,
    sha256_cipher="a" * 64,
)  # fmt: skip


def add(index: Index, stream: str, seq: int, start: float, seconds: float, size: int) -> None:
    index.add_record(
        replace(SEGMENT, stream=stream, camera=stream, seq=seq, start=iso_utc(start),
                end=iso_utc(start + seconds), size_cipher=size)
    )  # fmt: skip


@pytest.mark.parametrize("uploading", [True, False])
def test_outlook_has_gathers_figures(tmp_path: Path, uploading: bool) -> None:
    index = Index.open(tmp_path / "index.sqlite3")
    try:
        for n in range(40):  # an old stream: two hours of 3-minute segments, states mixed
            add(index, "old", n + 1, NOW - 7150 + 180 * n, 180, 1000 + n)
        for n in range(5):  # a young one, within the hour
            add(index, "young", n + 1, NOW - 1500 + 300 * n, 300, 7000 + n)
        add(index, "gone", 1, NOW - 600, 60, 10**6)  # not configured any more
        add(index, "idle", 1, NOW - 9000, 60, 500)  # nothing within the hour
        states = {1: EVICTED, 2: PURGED, 3: MISSING, 31: EVICTED, 33: PURGED, 35: MISSING}
        with sqlite3.connect(index.path) as db:
            for seq, state in states.items():
                db.execute("UPDATE segments SET state = ? WHERE stream = 'old' AND seq = ?",
                           (state, seq))  # fmt: skip
        scope = StatusScope("gw", tmp_path, ("old", "young", "idle"),
                            Limits(quota_bytes=10**7), uploading)  # fmt: skip
        full, light = gather(scope, index, NOW), outlook(scope, index, NOW)
        assert light.minutes_left is not None and light.minutes_left > 0
        assert light.used_bytes > 0 and (light.backlog_count > 0) == uploading
        for name in (
            "used_bytes", "quota_bytes", "min_free_bytes", "backlog_count", "backlog_bytes",
            "oldest_unconfirmed_age_s", "minutes_left",
        ):  # fmt: skip
            assert getattr(light, name) == getattr(full, name), name
        assert abs(light.free_bytes - full.free_bytes) < 2**24  # read twice from the disk
        assert {c.camera: c.local_segments for c in full.cameras}["old"] == 40 - len(states)
    finally:
        index.close()
