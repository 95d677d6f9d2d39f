"""On-disk layout and segment store: DataDir names, encrypted .part files, sealing, leftovers."""

import hashlib
import io
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segments.age_reader import decrypt_stream
from segments.agekeys import generate_identity, parse_identity, parse_recipient
from segments.hashing import hash_file
from segments.ledger import CHECKPOINTS_NAME, LEDGER_NAME
from segments.store import PART_SUFFIX, SEGMENT_SUFFIX, DataDir, StreamStore, write_durably

IDENTITY, RECIPIENT = generate_identity()
RECIPIENTS = (parse_recipient(RECIPIENT),)
START = datetime(2026, 11, 27, 6, 3, 0, 250000, tzinfo=UTC).timestamp()
MARKER = b"PLAINTEXT-MARKER-ftypisom"
PAYLOAD = MARKER * 20_000 + os.urandom(1000)  # spans several 64 KiB age chunks


def _decrypt(path: Path) -> bytes:
    out = io.BytesIO()
    with open(path, "rb") as f:
        result = decrypt_stream(f, out, [parse_identity(IDENTITY)])
    assert result.complete
    return out.getvalue()


def test_layout_names_and_folders(tmp_path: Path) -> None:
    store = StreamStore(tmp_path, "gate-1")
    assert store.root == tmp_path / "streams" / "gate-1"
    assert store.day_folder(START) == store.root / "2026" / "11" / "27"
    final = store.final_path(42, START)
    assert final == store.root / "2026/11/27/00000042_20261127T060300Z.mp4.age"
    assert store.relative(final) == "2026/11/27/00000042_20261127T060300Z.mp4.age"


def test_the_part_file_holds_only_ciphertext(tmp_path: Path) -> None:
    store = StreamStore(tmp_path, "cam")
    seg = store.open_segment(START, RECIPIENTS)
    assert seg.part.name == "20261127T060300Z-250.mp4.age.part"
    seg.sink.write(PAYLOAD)
    seg.sink.flush()
    on_disk = seg.part.read_bytes()
    assert on_disk.startswith(b"age-encryption.org/v1\n")
    assert MARKER not in on_disk
    seg.seal(store.final_path(0, START))


def test_seal_renames_and_reports_what_decryption_gives(tmp_path: Path) -> None:
    store = StreamStore(tmp_path, "cam")
    seg = store.open_segment(START, RECIPIENTS)
    for i in range(0, len(PAYLOAD), 7777):
        seg.sink.write(PAYLOAD[i : i + 7777])
    final = store.final_path(3, START)
    sealed = seg.seal(final)
    assert sealed.path == final and final.exists()
    assert not seg.part.exists()
    assert store.leftover_parts() == []
    assert MARKER not in final.read_bytes()
    assert (sealed.size_cipher, sealed.sha256_cipher) == hash_file(final)
    plain = _decrypt(final)
    assert plain == PAYLOAD
    assert sealed.size_plain == len(PAYLOAD)
    assert sealed.sha256_plain == hashlib.sha256(PAYLOAD).hexdigest()


def test_an_empty_segment_seals_to_a_valid_empty_file(tmp_path: Path) -> None:
    store = StreamStore(tmp_path, "cam")
    sealed = store.open_segment(START, RECIPIENTS).seal(store.final_path(0, START))
    assert sealed.size_plain == 0
    assert sealed.sha256_plain == hashlib.sha256(b"").hexdigest()
    assert _decrypt(sealed.path) == b""


def test_opening_the_same_part_twice_refuses_to_overwrite(tmp_path: Path) -> None:
    store = StreamStore(tmp_path, "cam")
    store.open_segment(START, RECIPIENTS)
    with pytest.raises(FileExistsError):
        store.open_segment(START, RECIPIENTS)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("20261127T060300Z-250.mp4.age.part", START),
        ("19700101T000000Z-000.mp4.age.part", 0.0),
        ("20261127T060300Z-250.mp4.age", None),
        ("20261127T060300Z.mp4.age.part", None),
        ("00000001_20261127T060300Z.mp4.age", None),
        ("notes.txt", None),
        ("20261327T060300Z-250.mp4.age.part", "error"),
    ],
)
def test_part_start_parses_part_names(name: str, expected: float | str | None) -> None:
    if expected == "error":
        with pytest.raises(ValueError):
            DataDir.part_start(name)
        return
    got = DataDir.part_start(name)
    assert got == (None if expected is None else pytest.approx(expected))


@given(st.text(max_size=60))
def test_part_start_of_any_name_is_a_time_none_or_value_error(name: str) -> None:
    try:
        start = DataDir.part_start(name)
    except ValueError:
        return  # the pattern matched but names no date (month 13)
    assert start is None or isinstance(start, float)


def test_part_start_inverts_open_segment_naming(tmp_path: Path) -> None:
    store = StreamStore(tmp_path, "cam")
    for start in (START, START + 0.999, START + 86_399.001):
        seg = store.open_segment(start, RECIPIENTS)
        assert DataDir.part_start(seg.part.name) == pytest.approx(start, abs=0.001)


def test_leftover_parts_lists_only_parts_oldest_first(tmp_path: Path) -> None:
    store = StreamStore(tmp_path, "cam")
    late = store.open_segment(START + 86_400 * 3, RECIPIENTS)
    early = store.open_segment(START, RECIPIENTS)
    sealed = store.open_segment(START + 60, RECIPIENTS)
    sealed.seal(store.final_path(5, START + 60))
    day = store.day_folder(START)
    (day / "00000005_20261127T060400Z.json").write_text("{}")
    (store.root / f"stray{PART_SUFFIX}").write_text("not in a day folder")
    assert store.leftover_parts() == [early.part, late.part]
    assert all(p.name.endswith(SEGMENT_SUFFIX + PART_SUFFIX) for p in store.leftover_parts())
    assert StreamStore(tmp_path, "other").leftover_parts() == []


def test_write_durably_replaces_whole_files(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_durably(path, b"one")
    write_durably(path, b"two")
    assert path.read_bytes() == b"two"
    assert not path.with_name("r.json.tmp").exists()
    assert hash_file(path) == (3, hashlib.sha256(b"two").hexdigest())


# --- DataDir: every name in the data dir ---


def test_data_dir_names_its_files(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    assert data.index == tmp_path / "index.sqlite3"
    assert data.streams == tmp_path / "streams"
    assert data.stream("gate-1") == tmp_path / "streams" / "gate-1"
    assert data.ledger("gate-1") == tmp_path / "streams" / "gate-1" / LEDGER_NAME
    assert data.checkpoints("gate-1") == tmp_path / "streams" / "gate-1" / CHECKPOINTS_NAME
    assert data.store("gate-1").root == StreamStore(tmp_path, "gate-1").root


def test_data_dir_segment_names_are_utc_from_the_start() -> None:
    assert DataDir.day(START) == "2026/11/27"
    assert DataDir.stem(42, START) == "00000042_20261127T060300Z"
    assert DataDir.segment(42, START) == "2026/11/27/00000042_20261127T060300Z.mp4.age"
    assert (
        DataDir.sidecar(DataDir.segment(42, START)) == "2026/11/27/00000042_20261127T060300Z.json"
    )
    assert DataDir.part(START) == "2026/11/27/20261127T060300Z-250.mp4.age.part"
    # a segment starting just before midnight UTC stays in that UTC day
    late = datetime(2026, 11, 27, 23, 59, 59, tzinfo=UTC).timestamp()
    assert DataDir.segment(7, late) == "2026/11/27/00000007_20261127T235959Z.mp4.age"


def test_sidecar_of_something_else_is_refused() -> None:
    with pytest.raises(ValueError, match="not a sealed segment"):
        DataDir.sidecar("2026/11/27/notes.txt")


def test_stream_store_uses_the_data_dir_names(tmp_path: Path) -> None:
    store = StreamStore(tmp_path, "cam")
    seg = store.open_segment(START, RECIPIENTS)
    assert store.relative(seg.part) == DataDir.part(START)
    final = seg.seal(store.final_path(9, START)).path
    assert store.relative(final) == DataDir.segment(9, START)
    assert store.sidecar_path(store.relative(final)) == final.with_name(
        DataDir.stem(9, START) + ".json"
    )
