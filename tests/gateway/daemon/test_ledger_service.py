"""The daemon signs for its camera processes: it seals what a recorder asks, and refuses what a
compromised child might ask instead (another stream, the daemon's own kinds, a foreign file)."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from gateway.daemon.child_protocol import Append, Checkpoint, Seal
from gateway.daemon.ledger_service import LedgerService
from segments.agekeys import generate_identity, parse_recipient
from segments.clock import kernel_clock_status
from segments.ledger import Ledger, read_checkpoints, read_records, signature_ok
from segments.records import MediaFacts, Record, StreamIdentity
from segments.signing import Ed25519Signer, generate_signing_key
from segments.store import DataDir, StreamStore

START = 1_800_000_000.25
RECIPIENTS = (parse_recipient(generate_identity()[1]),)
IDENTITY = StreamIdentity("gw", "site", "loc", "gate-1", "一号", "boot-1")


@dataclass
class Rig:
    service: LedgerService
    store: StreamStore
    signer: Ed25519Signer
    appended: list[Record]

    def records(self) -> list[Record]:
        return read_records(self.store.root)

    def part(self, start: float = START, payload: bytes = b"camera bytes" * 100) -> int:
        """A finished `.part` as a camera process leaves it; its size in bytes."""
        segment = self.store.open_segment(start, RECIPIENTS)
        segment.sink.write(payload)
        return segment.finish().size_cipher


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    signer = generate_signing_key(tmp_path / "keys" / "device.ed25519")
    store = DataDir(tmp_path / "data").store("gate-1")
    ledger = Ledger.open(store.root, "gate-1", "gw", signer)
    appended: list[Record] = []
    service = LedgerService(ledger, store, IDENTITY, signer.public_key_text(), appended.append)
    service.open_run(None)
    return Rig(service, store, signer, appended)


def draft(kind: str = "segment", start: float = START, **fields: object) -> Record:
    return IDENTITY.draft(kind=kind, start=start, end=start + 60, clock=kernel_clock_status(),
                          **fields)  # fmt: skip


def segment(size: int) -> Record:
    return draft(media=MediaFacts("h264", 640, 360, 1500, 60.0), size_cipher=size,
                 sha256_cipher="00" * 32)  # fmt: skip


def test_a_new_stream_opens_with_key_and_boot(rig: Rig) -> None:
    assert [r.kind for r in rig.records()] == ["key", "boot"]
    assert rig.records()[0].extra == {"public_key": rig.signer.public_key_text()}
    assert rig.appended == rig.records()


def test_a_sealed_segment_is_named_by_its_seq_signed_and_has_its_sidecar(rig: Rig) -> None:
    size = rig.part()
    reply = rig.service.handle(Seal(7, segment(size), START))
    record = reply.record
    assert reply.id == 7 and reply.error is None and record is not None and record.file
    assert (record.seq, record.file) == (2, "2027/01/15/00000002_20270115T080000Z.mp4.age")
    assert (rig.store.root / record.file).stat().st_size == size
    assert not rig.store.leftover_parts()
    assert (rig.store.sidecar_path(record.file)).read_bytes() == record.to_json()
    assert signature_ok(record, rig.signer.verifier())
    assert rig.records()[-1] == record == rig.appended[-1]


def test_gaps_and_checkpoints_are_signed_for_the_child(rig: Rig) -> None:
    reply = rig.service.handle(Append(1, draft("gap", reason="rtsp_timeout")))
    assert reply.record is not None and reply.record.kind == "gap"
    assert rig.service.handle(Checkpoint(2)).error is None
    assert read_checkpoints(rig.store.root)[-1].size == 3


def test_a_crashed_child_s_leftover_is_sealed_truncated_before_the_next_boot(rig: Rig) -> None:
    rig.part()
    began = rig.service.open_run("worker_crash")
    kinds = [(r.kind, r.reason) for r in rig.records()[2:]]
    assert kinds == [("truncated", "worker_crash"), ("boot", "worker_crash")]
    assert rig.records()[-1].end_ts == pytest.approx(began, abs=1e-5)


REFUSED = {
    "the daemon's own kind: boot": Append(1, draft("boot")),
    "the daemon's own kind: key": Append(1, draft("key", extra={"public_key": "ed25519:x"})),
    "the daemon's own kind: truncated": Append(1, draft("truncated")),
    "the daemon's own kind: purge": Append(1, draft("purge")),
    "the daemon's own kind: hold": Append(1, draft("hold")),
    "the daemon's own kind: export": Append(1, draft("export")),
    "a segment without its file": Append(1, segment(10)),
    "another camera's stream": Append(1, replace(draft("gap"), stream="gate-2", camera="gate-2")),
    "another gateway": Append(1, replace(draft("gap"), gateway="gw-2")),
    "another site": Append(1, replace(draft("gap"), site="elsewhere")),
    "another boot": Append(1, replace(draft("gap"), boot_id="boot-0")),
    "a chain filled in": Append(1, replace(draft("gap"), prev="ab" * 32)),
    "a signature filled in": Append(1, replace(draft("gap"), sig="AAAA", key_id="k")),
    "a seq chosen": Append(1, replace(draft("gap"), seq=99)),
    "a time without offset": Append(1, replace(draft("gap"), start="2027-01-15T08:00:00")),
    "an end that is no time": Append(1, replace(draft("gap"), end="yesterday")),
    "no start": Append(1, replace(draft("gap"), start=None)),
    "a gap through seal": Seal(1, draft("gap"), START),
    "a file name chosen": Seal(1, replace(segment(10), file="../gate-2/x.mp4.age"), START),
    "a start that is not the part's": Seal(1, segment(10), START + 1),
    "no part at all": Seal(1, segment(10), START + 120),
}


@pytest.mark.parametrize("request_", REFUSED.values(), ids=REFUSED.keys())
def test_requests_no_recorder_makes_are_refused_and_nothing_is_written(
    rig: Rig, request_: Append | Seal
) -> None:
    rig.part()
    before = rig.records()
    reply = rig.service.handle(request_)
    assert reply.record is None and reply.error is not None and reply.error.startswith("refused")
    assert rig.records() == before
    assert len(rig.store.leftover_parts()) == 1


def test_a_part_of_another_size_is_not_sealed(rig: Rig) -> None:
    size = rig.part()
    reply = rig.service.handle(Seal(1, segment(size + 1), START))
    assert reply.error is not None and "bytes" in reply.error
    assert [r.kind for r in rig.records()] == ["key", "boot"]


def test_a_symlink_planted_as_part_is_neither_sealed_nor_recovered(
    rig: Rig, tmp_path: Path
) -> None:
    """A child that plants a link to the key would have the daemon sign and upload the key."""
    secret = tmp_path / "keys" / "device.ed25519"
    part = rig.store.part_path(START)
    part.parent.mkdir(parents=True)
    os.symlink(secret, part)
    reply = rig.service.handle(Seal(1, segment(secret.stat().st_size), START))
    assert reply.error is not None and "not a regular file" in reply.error
    rig.service.open_run("worker_crash")
    assert [r.kind for r in rig.records()] == ["key", "boot", "boot"]
    assert part.is_symlink(), "left as it is for an investigator"
