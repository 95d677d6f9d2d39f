"""`evgw verify --witnessed`: a box held to the checkpoints the central witness cosigned.

Each attack is one a thief holding the box (and so its device key) can make: without the
witness the box still verifies; with it, the verdict is NOT_AUTHENTIC and names the range.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.cli.main import main
from segments.checkpoint import Checkpoint
from segments.ledger import CHECKPOINTS_NAME, LEDGER_NAME, Ledger, read_checkpoints
from segments.records import Record
from segments.signing import Ed25519Signer
from segments.verify import DirMediaSource, Report, Verdict, WitnessInput, verify
from segments.witness import cosign
from tests.segments.sealed_stream import SIGNER, Stream
from tests.segments.test_verify import TRUSTED

WITNESS = Ed25519Signer(Ed25519PrivateKey.generate())
OTHER = Ed25519Signer(Ed25519PrivateKey.generate())
NAME = "archive.example.gov/witness"
T = 1_795_760_000


@pytest.fixture
def box(tmp_path: Path) -> Stream:
    """key, boot, 18 segments: 20 records, checkpoints of size 4, 8, 12, 16 and 20."""
    s = Stream(tmp_path / "data")
    s.start()
    for _ in range(18):
        s.segment()
    assert [cp.size for cp in read_checkpoints(s.root)] == [4, 8, 12, 16, 20]
    return s


def witness_all(stream: Stream, out: Path) -> list[Path]:
    """What the archive writes: a `.witnessed` file per checkpoint it catalogued."""
    out.mkdir(exist_ok=True)
    files = []
    for cp in read_checkpoints(stream.root):
        path = out / f"{cp.size:08d}.witnessed"
        path.write_bytes(cosign(cp, NAME, WITNESS, T + cp.size).to_bytes())
        files.append(path)
    return files


def check(stream: Stream, files: list[Path] | None = None, key: Ed25519Signer = WITNESS) -> Report:
    witness = None
    if files is not None:
        witness = WitnessInput(tuple((p.name, p.read_bytes()) for p in files), key.verifier())
    return verify([("cam1", DirMediaSource(stream.root))], trust=TRUSTED, witness=witness)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["verify", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def witness_args(files: list[Path], key: str = WITNESS.public_key_text()) -> list[str]:
    return [*(a for f in files for a in ("--witnessed", str(f))), "--witness-key", key]


def issues(report: Report) -> list[str]:
    return [i.detail for i in report.streams[0].issues]


def cut_tail(stream: Stream, n: int) -> None:
    """Cut the last `n` records, their media files, and every checkpoint that covers them."""
    lines = stream.lines()
    for line in lines[-n:]:
        stream.file(Record.from_json(line)).unlink()
    stream.write_lines(lines[:-n])
    kept = [cp for cp in read_checkpoints(stream.root) if cp.size <= len(lines) - n]
    (stream.root / CHECKPOINTS_NAME).write_bytes(b"".join(cp.to_json() + b"\n" for cp in kept))


def rewrite(stream: Stream, seq: int, **changes: Any) -> None:
    """Re-sign the ledger with the device key from scratch, one record changed."""
    records = [Record.from_json(line) for line in stream.lines()]
    (stream.root / LEDGER_NAME).unlink()
    (stream.root / CHECKPOINTS_NAME).unlink()
    ledger = Ledger.open(stream.root, "cam1", "gw1", SIGNER, every_records=4)
    for r in records:
        ledger.append(replace(r, **changes) if r.seq == seq else r)


def test_an_untouched_box_passes_with_the_witness_step_shown(
    box: Stream, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = witness_all(box, tmp_path / "w")
    report = check(box, files)
    assert report.verdict is Verdict.AUTHENTIC
    summary = report.streams[0].witness
    assert summary is not None
    assert (summary.files, summary.used, summary.newest_size, summary.matched) == (5, 5, 20, 20)
    assert summary.witness == NAME and summary.findings == ()
    code, out, _ = cli(
        capsys, str(box.root), "--pubkey", SIGNER.public_key_text(), *witness_args(files)
    )
    assert code == 0, out
    assert f"witness {NAME}" in out and "5 of 5 witnessed file(s)" in out
    assert "newest size 20 cosigned 2026-11-27 " in out and "holds them unchanged" in out
    assert "verdict: AUTHENTIC" in out


def test_a_cut_tail_is_not_authentic_and_names_the_missing_records(
    box: Stream, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = witness_all(box, tmp_path / "w")
    cut_tail(box, 3)
    assert check(box).verdict is Verdict.AUTHENTIC, "without the witness the cut is invisible"
    report = check(box, files)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    rows = {f.seq: f for f in report.streams[0].findings}
    assert [rows[s].verdict for s in (17, 18, 19)] == ["MISSING"] * 3
    assert rows[17].steps == ("W2",)
    code, out, _ = cli(
        capsys, str(box.root.parent.parent), "--pubkey", SIGNER.public_key_text(),
        "--json", *witness_args(files),
    )  # fmt: skip
    assert code == 1
    doc = json.loads(out)
    assert doc["verdict"] == "NOT_AUTHENTIC"
    [finding] = doc["streams"][0]["witness"]["findings"]
    assert {k: finding[k] for k in ("step", "kind", "first", "last", "size")} == {
        "step": "W2", "kind": "cut", "first": 17, "last": 19, "size": 20,
    }  # fmt: skip
    code, out, _ = cli(
        capsys, str(box.root), "--pubkey", SIGNER.public_key_text(), *witness_args(files)
    )
    assert code == 1 and "verdict: NOT_AUTHENTIC" in out
    assert (
        "! NOT_AUTHENTIC: [W2] records 17..19 missing: the witnessed checkpoint of size 20" in out
    )
    assert "the ledger ends at seq 16" in out


def test_a_rewritten_record_names_the_range_the_witness_narrows(
    box: Stream, tmp_path: Path
) -> None:
    files = witness_all(box, tmp_path / "w")
    rewrite(box, 10, location="gate 9")
    assert check(box).verdict is Verdict.AUTHENTIC, "re-signed with the key: looks intact alone"
    report = check(box, files)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    summary = report.streams[0].witness
    assert summary is not None and summary.matched == 8
    rewritten = [f for f in summary.findings if f.kind == "rewrite"]
    assert [(f.first, f.last, f.size) for f in rewritten] == [(8, 11, 12)]
    assert rewritten[0].detail.startswith("[W3] rewritten within records 8..11: ")
    assert "the first 8 still match the witnessed checkpoint of size 8" in rewritten[0].detail
    forks = [f.size for f in summary.findings if f.kind == "fork"]
    assert forks == [12, 16, 20], "the box signed other roots for sizes the witness saw"


def test_a_forked_checkpoint_beside_an_intact_ledger_is_not_authentic(
    box: Stream, tmp_path: Path
) -> None:
    files = witness_all(box, tmp_path / "w")
    forged = Checkpoint(
        stream="cam1", gateway="gw1", size=8, root="ab" * 32, time="2026-11-27T07:00:00+00:00"
    ).signed_by(SIGNER)
    with (box.root / CHECKPOINTS_NAME).open("ab") as f:
        f.write(forged.to_json() + b"\n")
    report = check(box, files)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    [fork] = [i for i in issues(report) if i.startswith("[W4]")]
    assert "checkpoint 6 of size 8" in fork and "signed two histories" in fork


def test_a_witnessed_file_needs_a_trusted_witness_key(
    box: Stream, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = witness_all(box, tmp_path / "w")
    code, _, err = cli(capsys, str(box.root), "--witnessed", str(files[0]))
    assert code == 2 and "--witnessed needs --witness-key" in err
    code, _, err = cli(capsys, str(box.root), "--witness-key", WITNESS.public_key_text())
    assert code == 2 and "need --witnessed" in err
    code, _, err = cli(capsys, str(box.root), *witness_args(files, "ed25519:bad"))
    assert code == 2 and "--witness-key" in err


def test_another_witness_key_or_name_makes_the_files_unusable(
    box: Stream, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = witness_all(box, tmp_path / "w")
    report = check(box, files, key=OTHER)
    assert report.verdict is Verdict.INCOMPLETE
    assert all("unusable" in i and "trusted witness key" in i for i in issues(report))
    code, out, _ = cli(
        capsys, str(box.root), "--pubkey", SIGNER.public_key_text(), *witness_args(files),
        "--witness-name", "hq/other",
    )  # fmt: skip
    assert code == 1 and "under witness name 'hq/other'" in out
    assert "0 of 5 witnessed file(s) usable" in out


def test_a_witnessed_file_altered_or_of_another_key_never_frames_the_box(
    box: Stream, tmp_path: Path
) -> None:
    """Its checkpoint not signed by the trusted device key: the file is unusable, the box is
    not judged on it (a box whose key was swapped fails V2/V3 on its own records)."""
    files = witness_all(box, tmp_path / "w")
    doc = json.loads(files[0].read_bytes())
    doc["checkpoint"]["time"] = "2026-11-27T09:00:00.000000+00:00"
    files[0].write_text(json.dumps(doc))
    stranger = Ed25519Signer(Ed25519PrivateKey.generate())
    cp = Checkpoint(
        stream="cam1", gateway="gw1", size=4, root="cd" * 32, time="2026-11-27T06:00:40+00:00"
    ).signed_by(stranger)
    odd = tmp_path / "odd.witnessed"
    odd.write_bytes(cosign(cp, NAME, WITNESS, T).to_bytes())
    report = check(box, [files[0], odd])
    assert report.verdict is Verdict.INCOMPLETE
    assert [i.split(": ")[0] for i in issues(report)] == [
        f"[W1] {files[0].name}",
        "[W1] odd.witnessed",
    ]
    assert all("does not verify with the device key" in i for i in issues(report))


def test_a_witnessed_stream_missing_from_the_box_is_reported(
    box: Stream, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cp = Checkpoint(
        stream="cam2", gateway="gw1", size=4, root="ef" * 32, time="2026-11-27T06:00:40+00:00"
    ).signed_by(SIGNER)
    other = tmp_path / "cam2.witnessed"
    other.write_bytes(cosign(cp, NAME, WITNESS, T).to_bytes())
    report = check(box, [other])
    assert report.verdict is Verdict.INCOMPLETE
    assert "'cam2' of gateway 'gw1' (size 4) is not among the verified streams" in (
        report.issues[0].detail
    )
    args = [str(box.root.parent.parent), "--pubkey", SIGNER.public_key_text()]
    code, out, _ = cli(capsys, *args, *witness_args([other]), "--camera", "cam1")
    assert code == 0 and "verdict: AUTHENTIC" in out, (
        "with --camera, other cameras' witnessed files are not checked"
    )


def test_hostile_witnessed_bytes_are_reported_not_raised(box: Stream, tmp_path: Path) -> None:
    junk = tmp_path / "junk.witnessed"
    junk.write_bytes(b'{"type": "evgw-witnessed-checkpoint", "v": 1, "note": [')
    report = check(box, [junk])
    assert report.verdict is Verdict.INCOMPLETE
    assert report.issues[0].detail.startswith("[W1] junk.witnessed: unusable: ")


def test_an_emptied_ledger_misses_everything_the_witness_saw(box: Stream, tmp_path: Path) -> None:
    files = witness_all(box, tmp_path / "w")
    box.write_lines([])
    (box.root / CHECKPOINTS_NAME).write_bytes(b"")
    report = check(box, files)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert any(
        i.startswith("[W2] records 0..19 missing") and i.endswith("the ledger is empty")
        for i in issues(report)
    )


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(at=st.integers(0, 10_000), value=st.integers(0, 255), cut=st.integers(0, 3))
def test_no_altered_witnessed_file_frames_an_honest_box(
    box: Stream, tmp_path: Path, at: int, value: int, cut: int
) -> None:
    """Any byte of the newest witnessed file changed: a finding at most, never NOT_AUTHENTIC."""
    files = witness_all(box, tmp_path / "w")
    data = bytearray(files[-1].read_bytes())
    data[at % len(data)] = value
    files[-1].write_bytes(bytes(data[: len(data) - cut]))
    report = check(box, files)
    assert report.verdict in (Verdict.AUTHENTIC, Verdict.INCOMPLETE)
