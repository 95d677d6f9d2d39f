"""The SQLite index: its schema is checked on open; upload names come from the data dir."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from segments.errors import UnsupportedFormatError
from segments.index import Index
from segments.index_rows import EVICTED, MISSING, MISSING_BEFORE_UPLOAD, PURGED
from segments.index_schema import SCHEMA
from segments.records import Record
from segments.store import DataDir
from segments.timeline import iso_utc

RECORD = Record(
    stream="gate-1",
    seq=4,
    kind="segment",
    start="2026-11-27T06:03:00.250000+00:00",
    end="2026-11-27T06:04:00.000000+00:00",
    gateway="gw",
    site="s",
    location="l",
    camera="gate-1",
    camera_name="Gate",
    boot_id="b",
    file="2026/11/27/00000004_20261127T060300Z.mp4.age",
    size_cipher=10,
    sha256_cipher="a" * 64,
)
T_NOV_27 = 1_795_759_200.0  # 2026-11-27T06:00:00Z


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def set_user_version(path: Path, version: int) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute(f"PRAGMA user_version={version}")
    finally:
        db.close()


def test_a_new_file_gets_the_current_schema(tmp_path: Path) -> None:
    path = DataDir(tmp_path).index
    Index.open(path).close()
    assert user_version(path) == SCHEMA.version
    index = Index.open(path)  # the same version opens as it is
    index.add_record(RECORD)
    assert [r.seq for r in index.local_segments()] == [RECORD.seq]
    index.close()


def test_the_upload_name_is_the_data_dir_stem(tmp_path: Path) -> None:
    index = Index.open(tmp_path / "index.sqlite3")
    try:
        index.add_record(RECORD)
        item = index.next_upload(now=1e12)
        assert item is not None
        assert item.name == DataDir.stem(RECORD.seq, RECORD.start_ts or 0)
        assert item.start_ts == RECORD.start_ts
    finally:
        index.close()


def test_a_newer_index_is_refused_with_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    Index.open(path).close()
    set_user_version(path, SCHEMA.version + 1)
    with pytest.raises(UnsupportedFormatError) as caught:
        Index.open(path)
    message = str(caught.value)
    assert str(path) in message and "please update evgw" in message
    assert f"version {SCHEMA.version + 1}" in message and f"up to {SCHEMA.version}" in message
    assert user_version(path) == SCHEMA.version + 1  # left as it was


def test_a_nonce_is_claimed_once_and_forgotten_after_its_window(tmp_path: Path) -> None:
    index = Index.open(tmp_path / "index.sqlite3")
    try:
        assert not index.nonce_seen("op1", "n1")
        assert index.claim_nonce("op1", "n1", issued_ts=1000.0, forget_before=0.0)
        assert index.nonce_seen("op1", "n1")
        assert not index.claim_nonce("op1", "n1", issued_ts=1000.0, forget_before=0.0)
        assert index.claim_nonce("op2", "n1", issued_ts=1000.0, forget_before=0.0), "per key"
        assert index.claim_nonce("op1", "n2", issued_ts=5000.0, forget_before=2000.0)
        assert not index.nonce_seen("op1", "n1") and index.nonce_seen("op1", "n2")
    finally:
        index.close()


def test_a_reserved_hold_id_is_never_given_again(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    index = Index.open(path)
    first = index.reserve_hold_id()
    second = index.reserve_hold_id()  # its record failed: the id stays used
    assert index.add_hold("gate-1", 0.0, 10.0, "c-1", first) == first
    index.close()
    index = Index.open(path)
    try:
        assert index.add_hold("gate-1", 0.0, 10.0, "c-2") == second + 1
        assert index.reserve_hold_id() == second + 2
        assert index.hold(first) == ("gate-1", 0.0, 10.0, "c-1") and index.hold(second) is None
    finally:
        index.close()


@pytest.mark.parametrize(
    ("state", "refused", "column"),
    [(PURGED, [], "purged_count"), (EVICTED, [], "evicted_count"),
     (MISSING, [("gate-1", 4, MISSING_BEFORE_UPLOAD)], "missing_count")],
)  # fmt: skip
def test_a_declared_purge_is_not_a_refused_upload(
    tmp_path: Path, state: str, refused: list[tuple[str, int, str]], column: str
) -> None:
    index = Index.open(tmp_path / "index.sqlite3")
    try:
        index.add_record(RECORD)
        (row,) = index.local_segments()
        index.mark_removed(row, state)
        assert index.refused() == refused
        assert index.backlog().count == (2 if state == EVICTED else 1)  # media dropped, record not
        (stats,) = index.stream_stats(0)
        assert getattr(stats, column) == 1 and stats.local_count == 0
        assert index.segment_states("gate-1") == {4: (state, None)}
    finally:
        index.close()


def test_oldest_unheld_pages_through_what_local_segments_lists(tmp_path: Path) -> None:
    index = Index.open(tmp_path / "index.sqlite3")
    try:
        for n in range(9):  # two streams, starts tied in pairs, sizes all different
            stream = f"gate-{n % 2}"
            start = T_NOV_27 + 60 * (n // 2)
            index.add_record(
                replace(RECORD, stream=stream, camera=stream, seq=n + 1, start=iso_utc(start),
                        end=iso_utc(start + 60), size_cipher=100 + n)
            )  # fmt: skip
        with sqlite3.connect(index.path) as db:
            db.execute("UPDATE segments SET confirmed_at = 1 WHERE seq % 3 != 0")
        index.add_hold("gate-0", T_NOV_27 + 120, T_NOV_27 + 150, "case-1")  # holds seq 5
        (gone,) = [r for r in index.local_segments() if r.seq == 9]
        index.mark_removed(gone, EVICTED)
        listed = index.local_segments()
        assert index.local_bytes() == sum(r.size for r in listed)
        assert index.local_bytes_by_stream() == {
            s: sum(r.size for r in listed if r.stream == s) for s in ("gate-0", "gate-1")
        }
        for confirmed in (True, False):
            want = [r for r in listed if r.confirmed == confirmed and not r.held]
            assert list(index.oldest_unheld(confirmed=confirmed, page=2)) == want
        assert [r.seq for r in listed if r.held] == [5]
    finally:
        index.close()
