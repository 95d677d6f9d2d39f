"""`gateway.retention`: the ring buffer's executor against a real index, ledger and sealed files."""

from __future__ import annotations

import itertools
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.daemon.retention import Retention
from gateway.status import free_bytes
from segments.agekeys import X25519Identity
from segments.errors import WriteError
from segments.index import Index
from segments.index_rows import EVICTED, PURGED
from segments.ledger import LEDGER_NAME, Ledger, line_hash, read_lines, signature_ok
from segments.records import ClockStatus, Record, StreamIdentity
from segments.ringbuffer import EVICT_UNUPLOADED, STOP_RECORDING, Limits
from segments.signing import Ed25519Signer
from segments.store import StreamStore, write_durably
from segments.timeline import iso_utc
from segments.trust import TrustedKeys
from segments.verify import DirMediaSource, Verdict, verify
from tests.support.paths import REPO

T0 = 1_795_759_200.0  # 2026-11-27T06:00:00Z
SEG_S = 60.0
SIZE = 4000  # plaintext bytes per fake segment
RECIPIENT = X25519Identity(bytes(range(1, 33))).recipient()
CLOCK = ClockStatus(synced=True, est_error_s=0.01, source="test")


class Site:
    """A data dir with streams recorded like the recorder does, indexed like the daemon will."""

    def __init__(self, data_dir: Path, streams: tuple[str, ...] = ("cam1",)) -> None:
        self.data_dir = data_dir
        self.signer = Ed25519Signer(Ed25519PrivateKey.generate())
        self.index = Index.open(data_dir / "index.sqlite")
        self.ledgers: dict[str, Ledger] = {}
        self.identities: dict[str, StreamIdentity] = {}
        self.stores: dict[str, StreamStore] = {}
        self.free = 10**12
        self.events: list[dict[str, object]] = []
        self.records: list[Record] = []
        for name in streams:
            store = StreamStore(data_dir, name)
            self.stores[name] = store
            self.ledgers[name] = Ledger.open(store.root, name, "gw1", self.signer)
            self.identities[name] = StreamIdentity("gw1", "s1", "gate 1", name, name, "b1")
            key = replace(
                self.draft(name, "key", T0, None),
                extra={"public_key": self.signer.public_key_text()},
            )
            self.ledgers[name].append(key)

    def draft(
        self, stream: str, kind: str, start: float, end: float | None, **kw: object
    ) -> Record:
        ident = self.identities[stream]
        return Record(
            stream=stream,
            seq=0,
            kind=kind,
            start=iso_utc(start),
            end=None if end is None else iso_utc(end),
            gateway=ident.gateway,
            site=ident.site,
            location=ident.location,
            camera=ident.camera,
            camera_name=ident.camera_name,
            boot_id=ident.boot_id,
            **kw,  # type: ignore[arg-type]
        )

    def seal(self, stream: str, start: float) -> Record:
        store = self.stores[stream]
        open_segment = store.open_segment(start, [RECIPIENT])
        open_segment.sink.write(os.urandom(SIZE))

        def make(seq: int) -> Record:
            sealed = open_segment.seal(store.final_path(seq, start))
            return self.draft(
                stream,
                "segment",
                start,
                start + SEG_S,
                file=store.relative(sealed.path),
                size_plain=sealed.size_plain,
                sha256_plain=sealed.sha256_plain,
                size_cipher=sealed.size_cipher,
                sha256_cipher=sealed.sha256_cipher,
            )

        record = self.ledgers[stream].append_numbered(make)
        assert record.file is not None
        write_durably(store.root / record.file.replace(".mp4.age", ".json"), record.to_json())
        self.index.add_record(record)
        return record

    def confirm(self, *records: Record) -> None:
        """As the uploader does once the store's answer matched (set here, apart from it)."""
        with closing(sqlite3.connect(self.index.path, isolation_level=None)) as db:
            for r in records:
                db.execute(
                    "UPDATE segments SET confirmed_at = 1 WHERE stream = ? AND seq = ?",
                    (r.stream, r.seq),
                )

    def state(self, record: Record) -> str:
        with closing(sqlite3.connect(self.index.path)) as db:
            row = db.execute(
                "SELECT state FROM segments WHERE stream = ? AND seq = ?",
                (record.stream, record.seq),
            ).fetchone()
        return str(row[0])

    def path(self, record: Record) -> Path:
        assert record.file is not None
        return self.stores[record.stream].root / record.file

    def retention(
        self,
        *,
        interval_s: float = 5.0,
        on_record: Callable[[Record], None] | None = None,
        **limits: object,
    ) -> Retention:
        return Retention(
            self.index,
            self.data_dir,
            self.ledgers,
            self.identities,
            Limits(**limits),  # type: ignore[arg-type]
            on_event=lambda **e: self.events.append(e),
            on_record=on_record or self.records.append,
            interval_s=interval_s,
            free_bytes=lambda path: self.free,
            clock=lambda: T0 + 10 * 86400,
            clock_status=lambda: CLOCK,
        )

    def purges(self, stream: str = "cam1") -> list[Record]:
        lines = list(read_lines(self.stores[stream].root / LEDGER_NAME))
        return [r for r in map(Record.from_json, lines) if r.kind == "purge"]

    def local(self) -> list[tuple[str, int]]:
        return [(r.stream, r.seq) for r in self.index.local_segments()]


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path / "data")


def record_size(record: Record) -> int:
    assert record.size_cipher is not None
    return record.size_cipher


def test_within_limits_nothing_happens(site: Site) -> None:
    segs = [site.seal("cam1", T0 + i * SEG_S) for i in range(3)]
    retention = site.retention(quota_bytes=10**9, min_free_bytes=1)
    plan = retention.run_once()
    assert plan.evictions == () and site.purges() == [] and not retention.disk_full.is_set()
    assert all(site.path(s).exists() for s in segs)


def test_evicts_oldest_confirmed_first_with_signed_chained_records(site: Site) -> None:
    segs = [site.seal("cam1", T0 + i * SEG_S) for i in range(5)]
    site.confirm(segs[1], segs[2], segs[4])
    quota = sum(map(record_size, segs)) - 2 * record_size(segs[0])
    site.retention(quota_bytes=quota).run_once()
    purges = site.purges()
    assert [p.extra["seq"] for p in purges] == [segs[1].seq, segs[2].seq]
    assert {p.reason for p in purges} == {"evicted_confirmed"}
    for p, seg in zip(purges, segs[1:3], strict=True):
        assert p.extra["sha256_cipher"] == seg.sha256_cipher
        assert p.extra["size_cipher"] == seg.size_cipher
        assert p.extra["file"] == seg.file and p.extra["confirmed"] is True
        assert p.extra["limits"] == ["quota"]
        assert signature_ok(p, site.signer.verifier())
        assert not site.path(seg).exists()
        assert not Path(str(site.path(seg)).replace(".mp4.age", ".json")).exists()
    lines = list(read_lines(site.stores["cam1"].root / LEDGER_NAME))
    for prev, line in itertools.pairwise(lines):
        assert Record.from_json(line).prev == line_hash(prev)
    assert site.records == purges  # passed on to the index/uplink sink
    assert site.local() == [("cam1", s.seq) for s in (segs[0], segs[3], segs[4])]
    assert site.events == []  # evicting confirmed segments raises no alarm


def test_held_segments_are_never_evicted(site: Site) -> None:
    segs = [site.seal("cam1", T0 + i * SEG_S) for i in range(4)]
    site.confirm(*segs)
    site.index.add_hold("cam1", T0, T0 + 2 * SEG_S, "case-7")
    retention = site.retention(quota_bytes=1)
    plan = retention.run_once()
    assert [p.extra["seq"] for p in site.purges()] == [segs[2].seq, segs[3].seq]
    assert site.path(segs[0]).exists() and site.path(segs[1]).exists()
    assert plan.unmet_bytes > 0
    assert site.events[-1] == {
        "kind": "storage_exhausted",
        "active": True,
        "unmet_bytes": plan.unmet_bytes,
    }


def test_unconfirmed_purged_last_with_alarm(site: Site) -> None:
    segs = [site.seal("cam1", T0 + i * SEG_S) for i in range(4)]
    site.confirm(segs[3])
    keep = record_size(segs[2]) + record_size(segs[1])
    site.retention(quota_bytes=keep).run_once()
    purges = site.purges()
    assert [(p.extra["seq"], p.reason) for p in purges] == [
        (segs[3].seq, "evicted_confirmed"),
        (segs[0].seq, "evicted_unuploaded"),
    ]
    assert purges[1].extra["confirmed"] is False
    alarm = [e for e in site.events if e["kind"] == "purge"]
    assert len(alarm) == 1 and alarm[0]["seq"] == segs[0].seq
    assert alarm[0]["record_seq"] == purges[1].seq
    assert site.local() == [("cam1", segs[1].seq), ("cam1", segs[2].seq)]
    assert (site.state(segs[0]), site.state(segs[3])) == (PURGED, EVICTED)


def test_min_free_uses_the_filesystem_numbers(site: Site) -> None:
    segs = [site.seal("cam1", T0 + i * SEG_S) for i in range(3)]
    site.confirm(*segs)
    site.free = 100
    site.retention(min_free_bytes=100 + record_size(segs[0]) + 1).run_once()
    purges = site.purges()
    assert [p.extra["seq"] for p in purges] == [segs[0].seq, segs[1].seq]
    assert purges[0].extra["limits"] == ["min_free"] and purges[0].extra["free_bytes"] == 100


def test_oldest_first_across_streams(tmp_path: Path) -> None:
    site = Site(tmp_path / "data", ("cam1", "cam2"))
    a = [site.seal("cam1", T0 + i * SEG_S) for i in (0, 2)]
    b = [site.seal("cam2", T0 + i * SEG_S) for i in (1, 3)]
    site.confirm(*a, *b)
    site.retention(quota_bytes=record_size(a[1]) + record_size(b[1])).run_once()
    assert [p.extra["seq"] for p in site.purges("cam1")] == [a[0].seq]
    assert [p.extra["seq"] for p in site.purges("cam2")] == [b[0].seq]
    assert site.local() == [("cam1", a[1].seq), ("cam2", b[1].seq)]


def test_nothing_deleted_when_the_record_cannot_be_written(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    segs = [site.seal("cam1", T0 + i * SEG_S) for i in range(2)]
    site.confirm(*segs)

    def refuse(draft: Record) -> Record:
        raise WriteError("disk full")

    monkeypatch.setattr(site.ledgers["cam1"], "append", refuse)
    site.retention(quota_bytes=1).run_once()
    assert all(site.path(s).exists() for s in segs)
    assert site.local() == [("cam1", s.seq) for s in segs]
    assert site.events[0]["kind"] == "retention_error"


def test_file_still_present_when_its_record_is_passed_on(site: Site) -> None:
    seg = site.seal("cam1", T0)
    site.confirm(seg)
    seen: list[bool] = []
    retention = site.retention(
        quota_bytes=1, on_record=lambda record: seen.append(site.path(seg).exists())
    )
    retention.run_once()
    assert seen == [True] and not site.path(seg).exists()


def test_stop_recording_sets_and_clears_disk_full(site: Site) -> None:
    segs = [site.seal("cam1", T0 + i * SEG_S) for i in range(3)]
    retention = site.retention(quota_bytes=2 * record_size(segs[0]), on_full=STOP_RECORDING)
    plan = retention.run_once()
    assert plan.stop_recording and retention.disk_full.is_set()
    assert site.purges() == [] and all(site.path(s).exists() for s in segs)
    assert site.events == [{"kind": "disk_full", "active": True, "unmet_bytes": plan.unmet_bytes}]
    retention.run_once()  # still full: no repeated event
    assert len(site.events) == 1
    site.confirm(segs[0])
    retention.run_once()
    assert not retention.disk_full.is_set()
    assert [p.extra["seq"] for p in site.purges()] == [segs[0].seq]
    assert site.events[-1] == {"kind": "disk_full", "active": False, "unmet_bytes": 0}


def test_evict_unuploaded_never_sets_disk_full(site: Site) -> None:
    site.seal("cam1", T0)
    retention = site.retention(quota_bytes=1, on_full=EVICT_UNUPLOADED)
    retention.run_once()
    assert not retention.disk_full.is_set()


def test_file_already_gone_is_reported_not_declared(site: Site) -> None:
    seg = site.seal("cam1", T0)
    site.confirm(seg)
    site.path(seg).unlink()
    site.retention(quota_bytes=1).run_once()
    assert site.purges() == [] and site.local() == []
    assert site.state(seg) == "missing" and [q for _, q, _ in site.index.refused()] == [seg.seq]
    assert site.events == [{"kind": "missing", "stream": "cam1", "seq": seg.seq, "file": seg.file}]


def test_verify_after_evictions_is_authentic_with_declared_gaps(site: Site) -> None:
    segs = [site.seal("cam1", T0 + i * SEG_S) for i in range(4)]
    site.confirm(segs[0])
    site.ledgers["cam1"].checkpoint()
    site.retention(quota_bytes=2 * record_size(segs[0])).run_once()
    report = verify(
        [("cam1", DirMediaSource(site.stores["cam1"].root))],
        trust=TrustedKeys.single(site.signer.verifier()),
    )
    assert report.verdict is Verdict.AUTHENTIC_WITH_DECLARED_GAPS
    found = {f.seq: f.verdict for f in report.streams[0].findings}
    assert found[segs[0].seq] == "GAP(evicted_confirmed)"
    assert found[segs[1].seq] == "GAP(evicted_unuploaded)"
    assert found[segs[2].seq] == found[segs[3].seq] == "OK"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "verify",
            str(site.data_dir),
            "--json",
            "--pubkey",
            site.signer.public_key_text(),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert '"verdict": "AUTHENTIC_WITH_DECLARED_GAPS"' in out.stdout, out.stderr


def test_thread_runs_on_poke_and_stops(site: Site) -> None:
    seg = site.seal("cam1", T0)
    site.confirm(seg)
    retention = site.retention(quota_bytes=1, interval_s=30.0)
    retention.start()
    assert "retention" in {t.name for t in threading.enumerate()}
    try:
        deadline = time.monotonic() + 5
        while site.path(seg).exists() and time.monotonic() < deadline:
            retention.poke()
            time.sleep(0.02)
        assert not site.path(seg).exists()
    finally:
        retention.stop()
    assert not retention.is_alive()


def test_free_bytes_reads_the_filesystem(tmp_path: Path) -> None:
    assert free_bytes(tmp_path) > 0


def test_streams_without_an_open_ledger_are_left_alone(tmp_path: Path) -> None:
    site = Site(tmp_path / "data", ("cam1", "cam2"))
    old = site.seal("cam2", T0)
    new = site.seal("cam1", T0 + SEG_S)
    site.confirm(old, new)
    del site.ledgers["cam2"]
    site.retention(quota_bytes=record_size(old)).run_once()
    assert site.path(old).exists() and not site.path(new).exists()
