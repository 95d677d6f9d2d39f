"""The append-only ledger: numbering, hash chain, signatures, checkpoints, reopen, torn tails."""

import json
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from segments import merkle
from segments.errors import CryptoFormatError, WriteError
from segments.ledger import (
    CHECKPOINTS_NAME,
    LEDGER_NAME,
    Ledger,
    line_hash,
    read_checkpoints,
    read_lines,
    read_records,
    signature_ok,
)
from segments.records import GENESIS_PREV, Record
from segments.signing import Ed25519Signer

SIGNER = Ed25519Signer(Ed25519PrivateKey.generate())


def _draft(kind: str = "segment", **extra: Any) -> Record:
    return Record(
        stream="cam",
        seq=0,
        kind=kind,
        start="2026-11-27T06:03:00.000000+00:00",
        end=None,
        gateway="gw",
        site="site",
        location="loc",
        camera="cam",
        camera_name="一号",
        boot_id="boot-1",
        extra=extra,
    )


def _open(d: Path, every: int = 10, signer: Ed25519Signer = SIGNER) -> Ledger:
    return Ledger.open(d, "cam", "gw", signer, every_records=every)


def _assert_chain(d: Path) -> list[Record]:
    lines = list(read_lines(d / LEDGER_NAME))
    records = [Record.from_json(line) for line in lines]
    assert [r.seq for r in records] == list(range(len(records)))
    prev = GENESIS_PREV
    for line, r in zip(lines, records, strict=True):
        assert r.prev == prev, r.seq
        assert signature_ok(r, SIGNER.verifier()), r.seq
        prev = line_hash(line)
    return records


def _assert_checkpoints(d: Path) -> None:
    lines = list(read_lines(d / LEDGER_NAME))
    for cp in read_checkpoints(d):
        assert cp.verify(SIGNER.verifier())
        assert cp.root == merkle.root(lines[: cp.size]).hex(), cp.size


def test_appends_are_numbered_chained_and_signed(tmp_path: Path) -> None:
    ledger = _open(tmp_path)
    out = [ledger.append(_draft(n=i)) for i in range(5)]
    assert [r.seq for r in out] == [0, 1, 2, 3, 4]
    assert out[0].prev == GENESIS_PREV
    assert ledger.next_seq == 5 and ledger.size == 5
    assert ledger.last_record == out[-1]
    records = _assert_chain(tmp_path)
    assert records == out
    assert all(r.key_id == SIGNER.key_id and r.alg == "ed25519" for r in records)


def test_the_draft_seq_prev_and_sig_are_overwritten(tmp_path: Path) -> None:
    ledger = _open(tmp_path)
    forged = replace(_draft(), seq=99, prev="ab" * 32, alg="x", key_id="y", sig="zz")
    r = ledger.append(forged)
    assert (r.seq, r.prev, r.alg, r.key_id) == (0, GENESIS_PREV, "ed25519", SIGNER.key_id)
    assert signature_ok(r, SIGNER.verifier())


def test_a_tampered_record_fails_its_signature(tmp_path: Path) -> None:
    r = _open(tmp_path).append(_draft())
    assert not signature_ok(replace(r, site="elsewhere"), SIGNER.verifier())
    other = Ed25519Signer(Ed25519PrivateKey.generate())
    assert not signature_ok(r, other.verifier())


def test_append_numbered_passes_the_seq_it_will_use(tmp_path: Path) -> None:
    ledger = _open(tmp_path)
    ledger.append(_draft("key"))
    seen: list[int] = []

    def make(seq: int) -> Record:
        seen.append(seq)
        return _draft(file=f"{seq:08d}.mp4.age")

    r = ledger.append_numbered(make)
    assert seen == [1] and r.seq == 1 and r.extra == {"file": "00000001.mp4.age"}


def test_a_checkpoint_every_n_records_with_the_merkle_root_of_the_lines(tmp_path: Path) -> None:
    ledger = _open(tmp_path, every=3)
    for i in range(10):
        ledger.append(_draft(n=i))
    assert [cp.size for cp in read_checkpoints(tmp_path)] == [3, 6, 9]
    _assert_checkpoints(tmp_path)
    assert all(cp.stream == "cam" and cp.gateway == "gw" for cp in read_checkpoints(tmp_path))


def test_explicit_checkpoint_and_nothing_new_writes_nothing(tmp_path: Path) -> None:
    ledger = _open(tmp_path, every=100)
    for i in range(4):
        ledger.append(_draft(n=i))
    cp = ledger.checkpoint()
    assert cp is not None and cp.size == 4
    assert ledger.checkpoint() is None
    assert [c.size for c in read_checkpoints(tmp_path)] == [4]
    _assert_checkpoints(tmp_path)


def test_a_checkpoint_after_every_s_seconds(tmp_path: Path) -> None:
    now = [0.0]
    ledger = Ledger(tmp_path, "cam", "gw", SIGNER, every_records=100, every_s=60.0,
                    monotonic=lambda: now[0])  # fmt: skip
    ledger.append(_draft())
    now[0] = 59.0
    ledger.append(_draft())
    assert read_checkpoints(tmp_path) == []
    now[0] = 60.0
    ledger.append(_draft())
    assert [c.size for c in read_checkpoints(tmp_path)] == [3]


def test_reopen_continues_seq_and_chain(tmp_path: Path) -> None:
    first = _open(tmp_path, every=4)
    for i in range(6):
        first.append(_draft(n=i))
    again = _open(tmp_path, every=4)
    assert again.next_seq == 6 and again.size == 6
    assert again.last_record is not None and again.last_record.seq == 5
    r = again.append(_draft(n=6))
    assert r.seq == 6
    for i in range(7, 9):
        again.append(_draft(n=i))
    assert len(_assert_chain(tmp_path)) == 9
    assert [c.size for c in read_checkpoints(tmp_path)] == [4, 8]
    _assert_checkpoints(tmp_path)


def test_closed_cleanly_only_after_a_final_checkpoint(tmp_path: Path) -> None:
    assert _open(tmp_path / "empty").closed_cleanly
    ledger = _open(tmp_path, every=100)
    ledger.append(_draft())
    ledger.append(_draft())
    assert not _open(tmp_path).closed_cleanly, "no checkpoint covers the last records"
    ledger.checkpoint()
    assert _open(tmp_path).closed_cleanly
    ledger.append(_draft())
    assert not _open(tmp_path).closed_cleanly


def test_a_torn_last_line_is_set_aside_and_the_ledger_keeps_working(tmp_path: Path) -> None:
    ledger = _open(tmp_path)
    for i in range(3):
        ledger.append(_draft(n=i))
    torn = b'{"alg":"ed25519","boot_id":"boot-1","cam'
    with open(tmp_path / LEDGER_NAME, "ab") as f:
        f.write(torn)
    again = _open(tmp_path)
    aside = list(tmp_path.glob(f"{LEDGER_NAME}.torn-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == torn
    assert (tmp_path / LEDGER_NAME).read_bytes().endswith(b"}\n")
    assert again.next_seq == 3
    again.append(_draft(n=3))
    assert [r.seq for r in _assert_chain(tmp_path)] == [0, 1, 2, 3]


def test_a_ledger_that_is_only_a_torn_line_starts_from_genesis(tmp_path: Path) -> None:
    (tmp_path / LEDGER_NAME).write_bytes(b'{"half":')
    ledger = _open(tmp_path)
    assert ledger.next_seq == 0
    assert ledger.append(_draft()).prev == GENESIS_PREV
    assert len(list(tmp_path.glob(f"{LEDGER_NAME}.torn-*"))) == 1


def test_two_torn_tails_in_one_second_are_both_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("segments.ledger.time.time", lambda: 1_800_000_000.0)
    _open(tmp_path).append(_draft())
    for tail in (b'{"first', b'{"second'):
        with open(tmp_path / LEDGER_NAME, "ab") as f:
            f.write(tail)
        _open(tmp_path)
    kept = sorted(p.read_bytes() for p in tmp_path.glob(f"{LEDGER_NAME}.torn-*"))
    assert kept == [b'{"first', b'{"second']


def test_concurrent_appends_keep_seq_unique_and_the_chain_intact(tmp_path: Path) -> None:
    ledger = _open(tmp_path, every=7)
    barrier = threading.Barrier(2)

    def worker(name: str) -> None:
        barrier.wait()
        for i in range(40):
            ledger.append(_draft(who=name, i=i))

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    records = _assert_chain(tmp_path)
    assert len(records) == 80
    for who in ("a", "b"):
        assert [r.extra["i"] for r in records if r.extra["who"] == who] == list(range(40))
    _assert_checkpoints(tmp_path)
    assert [c.size for c in read_checkpoints(tmp_path)] == list(range(7, 80, 7))


def test_read_records_matches_what_was_appended(tmp_path: Path) -> None:
    ledger = _open(tmp_path)
    out = [ledger.append(_draft(n=i)) for i in range(3)]
    assert read_records(tmp_path) == out
    assert read_records(tmp_path / "absent") == []
    assert read_checkpoints(tmp_path / "absent") == []


def test_an_unwritable_ledger_raises_write_error(tmp_path: Path) -> None:
    ledger = _open(tmp_path)
    (tmp_path / LEDGER_NAME).mkdir()
    with pytest.raises(WriteError, match="cannot append"):
        ledger.append(_draft())
    assert ledger.next_seq == 0, "a failed append must not consume a seq"
    assert not (tmp_path / CHECKPOINTS_NAME).exists()


def test_a_record_without_sig_does_not_parse(tmp_path: Path) -> None:
    obj = json.loads(_open(tmp_path).append(_draft()).to_json())
    with pytest.raises(CryptoFormatError, match="sig must be a string"):
        Record.from_json(json.dumps({**obj, "sig": None}).encode())


def test_two_writers_on_one_ledger_never_fork_the_chain(tmp_path: Path) -> None:
    """An export appends beside the running daemon: each writer takes in the other's lines."""
    daemon, export = _open(tmp_path), _open(tmp_path)
    written = [w.append(_draft()) for w in (daemon, export, daemon, daemon, export)]
    assert [r.seq for r in written] == [0, 1, 2, 3, 4]
    lines = (tmp_path / LEDGER_NAME).read_bytes().splitlines()
    records = [Record.from_json(line) for line in lines]
    assert [r.seq for r in records] == [0, 1, 2, 3, 4]
    for prev, record in zip(lines, records[1:], strict=False):
        assert record.prev == line_hash(prev), "chained to the other writer's line"
        assert signature_ok(record, SIGNER.verifier())
    checkpoint = daemon.checkpoint()
    assert checkpoint is not None and checkpoint.size == 5
    assert checkpoint.root == merkle.root(lines).hex()


def test_the_other_writers_records_reach_on_append_in_order(tmp_path: Path) -> None:
    """The daemon indexes (and uploads) an export's record too, before its own next one."""
    _open(tmp_path).append(_draft())
    seen: list[int] = []
    daemon = Ledger.open(tmp_path, "cam", "gw", SIGNER, on_append=lambda r: seen.append(r.seq))
    assert seen == [], "the history read on open is not new"
    _open(tmp_path).append(_draft("export"))
    daemon.append(_draft())
    daemon.checkpoint()
    _open(tmp_path).append(_draft("export"))
    daemon.checkpoint()
    assert seen == [1, 2, 3]
