"""Case export against a real recording: find, export, derived MP4, central copies, tampering.

One module-wide recording (2 s segments, the camera killed mid-run for a declared gap, uploads
to a real SeaweedFS) serves every test; the test that deletes local copies runs last.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from gateway.cli.main import main
from gateway.config import Config
from gateway.daemon.lifecycle import Gateway
from gateway.keys import make_archive_identity
from segments.ledger import Ledger
from segments.package import MANIFEST_NAME, manifest_text
from segments.package_check import verify_package
from segments.package_derive import derive_mp4
from segments.package_signature import SIGNATURE_NAME, read_signature
from segments.package_statement import sign_package
from segments.records import Record
from segments.signing import load_signer, load_verifier
from segments.store import DataDir
from segments.trust import TrustedKeys
from segments.verify import Verdict
from testbeds.process import find_free_port
from testbeds.rtsp import RtspTestServer, gst_rtsp_available
from testbeds.seaweedfs import SeaweedServer
from tests.support.recording import (
    Cam,
    archive_identity,
    decrypted,
    make_config,
    media_path,
    records,
    wall,
)
from tests.support.seaweed import raw_client, unique_bucket, upload_section
from tests.support.waiting import wait_until
from uplink.object_keys import media_key
from uplink.objectstore import ObjectStore

pytestmark = pytest.mark.integration
CAMERA = "gate-1"


@pytest.fixture(scope="module")
def recorded(seaweed: SeaweedServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    reason = gst_rtsp_available()
    if reason is not None:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("export")
    camera = RtspTestServer(find_free_port(), ["cam1:320x240@25"]).start()
    try:
        config = make_config(
            tmp, [Cam(CAMERA, camera.url("cam1"))], extra=upload_section(seaweed, unique_bucket())
        )
        assert config.upload is not None
        ObjectStore(config.upload.store).ensure_bucket(object_lock=True)
        gateway = Gateway(config)
        gateway.start()
        try:
            wait_until("four segments", lambda: len(segments(config)) >= 4, 90)
            camera.kill()
            time.sleep(3)  # the outage's length, not a wait for readiness
            camera.start()
            wait_until("two segments after the outage", lambda: after_outage(config) >= 2, 90)
        finally:
            gateway.stop(drain_s=30)
        yield config
    finally:
        camera.stop()


def segments(config: Config) -> list[Record]:
    return records(config, CAMERA, "segment")


def after_outage(config: Config) -> int:
    """Segments sealed after the camera_offline gap record (0 while the gap is open)."""
    found = records(config, CAMERA)
    gap = next((r.seq for r in found if r.kind == "gap" and r.reason == "camera_offline"), None)
    return 0 if gap is None else sum(1 for r in found if r.kind == "segment" and r.seq > gap)


def at(iso: str | None, shift: float = 0.0) -> datetime:
    assert iso is not None
    return datetime.fromisoformat(iso) + timedelta(seconds=shift)


def evgw(*argv: object) -> int:
    return main([str(a) for a in argv])


def export_args(config: Config, start: datetime, end: datetime, case: str, out: Path) -> list:
    return [
        "export", "--config", config.path, "--camera", CAMERA,
        "--from", start.isoformat(), "--to", end.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "--identity", archive_identity(config), "--case", case, "--out", out,
        "--operator", "张警官",
    ]  # fmt: skip


def pubkey(config: Config) -> str:
    return str(config.keys.signing_key) + ".pub"


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(f.time) for f in c.decode(video=0)]


def report(package: Path) -> dict:
    return json.loads((package / "report.json").read_text(encoding="utf-8"))


def test_find_lists_segments_states_and_the_declared_gap(recorded: Config, capsys) -> None:
    segs = segments(recorded)
    gap = next(g for g in records(recorded, CAMERA, "gap") if g.reason != "startup")
    start, end = at(segs[0].start), at(segs[-1].end)
    args = ["find", "--config", recorded.path, "--camera", CAMERA,
            "--from", start.isoformat(), "--to", end.isoformat(), "--json"]  # fmt: skip
    rc = evgw(*args, "--pubkey", pubkey(recorded))
    found = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert [s["seq"] for s in found["segments"]] == [s.seq for s in segs]
    assert {s["state"] for s in found["segments"]} <= {"local", "confirmed"}
    assert any(s["state"] == "confirmed" for s in found["segments"])
    assert all(s["verdict"] == "OK" for s in found["segments"])
    assert [(g["reason"], g["seq"]) for g in found["gaps"]] == [(gap.reason, gap.seq)]
    assert found["verdict"] == "AUTHENTIC_WITH_DECLARED_GAPS"
    assert evgw(*args) == 4  # the ledger's own key proves integrity, not origin
    assert json.loads(capsys.readouterr().out)["verdict"] == "INTEGRITY_ONLY"


def test_export_across_a_segment_boundary(
    recorded: Config, seaweed: SeaweedServer, tmp_path, capsys
) -> None:
    first, second = segments(recorded)[1:3]
    start, end = at(first.end, -0.7), at(second.start, 0.7)
    out = tmp_path / "out"
    assert evgw(*export_args(recorded, start, end, "案-001", out)) == 0
    package = out / "案-001"
    rep = report(package)
    assert rep["verdict"] == "AUTHENTIC"
    assert [s["seq"] for s in rep["segments"]] == [first.seq, second.seq]
    assert rep["operator"] == "张警官" and rep["inclusion_proofs"]
    assert (package / "original" / Path(first.file or "").name).read_bytes() == media_path(
        recorded, first
    ).read_bytes()
    derived = package / rep["derived"]["file"]
    with av.open(str(derived)) as c:
        assert "DERIVED COPY" in c.metadata.get("comment", "")
    times = frame_times(derived)
    assert len(times) == rep["derived"]["packets"]
    steps = [b - a for a, b in itertools.pairwise(times)]
    assert max(steps) < 0.1, "timestamps must be continuous across the boundary"
    first_kf = at(rep["derived"]["first_keyframe"])
    assert first_kf <= start and (start - first_kf).total_seconds() < 1.1  # within one GOP
    # the last frame starts before `end`, less than one frame step (< 0.1 s, above) before it
    assert first_kf + timedelta(seconds=times[-1] + 0.1) >= end
    capsys.readouterr()
    assert evgw("verify-export", package, "--pubkey", pubkey(recorded)) == 0
    assert "verdict: AUTHENTIC" in capsys.readouterr().out
    logged = records(recorded, CAMERA, "export")[-1]
    assert logged.extra["case"] == "案-001" and logged.extra["operator"] == "张警官"
    assert (
        logged.extra["manifest_sha256"]
        == hashlib.sha256((package / MANIFEST_NAME).read_bytes()).hexdigest()
    )
    assert recorded.upload is not None
    listed = raw_client(seaweed).list_objects_v2(
        Bucket=recorded.upload.store.bucket, Prefix="测试检查站/gw-test/exports/案-001/"
    )
    assert listed.get("KeyCount") == 1
    assert evgw("verify", recorded.gateway.data_dir, "--pubkey", pubkey(recorded)) == 0


def test_export_across_a_declared_gap_keeps_the_gap(recorded: Config, tmp_path) -> None:
    gap = next(g for g in records(recorded, CAMERA, "gap") if g.reason != "startup")
    start, end = at(gap.start, -1.0), at(gap.end, 1.0)
    out = tmp_path / "out"
    assert evgw(*export_args(recorded, start, end, "gap-1", out)) == 0
    package = out / "gap-1"
    rep = report(package)
    assert rep["verdict"] == "AUTHENTIC_WITH_DECLARED_GAPS"
    assert [(g["reason"], g["status"]) for g in rep["gaps"]] == [("camera_offline", "declared")]
    times = frame_times(package / rep["derived"]["file"])
    jump = max(b - a for a, b in itertools.pairwise(times))
    lasted = (at(gap.end) - at(gap.start)).total_seconds()
    assert abs(jump - lasted) < 0.2, "a declared gap must stay a gap, not be stretched over"
    trusted = TrustedKeys.single(load_verifier(pubkey(recorded)))
    assert verify_package(package, trusted).verdict is Verdict.AUTHENTIC_WITH_DECLARED_GAPS
    assert verify_package(package).verdict is Verdict.INTEGRITY_ONLY


def test_tampered_packages_are_caught(recorded: Config, tmp_path) -> None:
    seg = segments(recorded)[1]
    out = tmp_path / "out"
    assert evgw(*export_args(recorded, at(seg.start, 0.2), at(seg.end, -0.2), "t", out)) == 0
    good = out / "t"
    trusted = TrustedKeys.single(load_verifier(pubkey(recorded)))
    assert verify_package(good, trusted).verdict is Verdict.AUTHENTIC

    replaced = shutil.copytree(good, tmp_path / "replaced")
    plain = next((replaced / "decrypted").iterdir())
    plain.write_bytes(plain.read_bytes()[:-10] + b"0123456789")
    check = verify_package(replaced, trusted)
    assert check.verdict is Verdict.NOT_AUTHENTIC
    assert any(f.verdict == "HASH_MISMATCH" for f in check.findings)

    edited = shutil.copytree(good, tmp_path / "edited")
    plain = next((edited / "decrypted").iterdir())
    plain.write_bytes(b"not the video")
    manifest = edited / MANIFEST_NAME
    lines = [
        (hashlib.sha256(b"not the video").hexdigest() + "  " + ln.split("  ", 1)[1])
        if ln.endswith(plain.name) else ln
        for ln in manifest.read_text().splitlines()
    ]  # fmt: skip
    manifest.write_text("\n".join(lines) + "\n")
    assert verify_package(edited, trusted).verdict is Verdict.NOT_AUTHENTIC

    removed = shutil.copytree(good, tmp_path / "removed")
    next((removed / "original").glob("*.mp4.age")).unlink()
    check = verify_package(removed, trusted)
    assert check.verdict is not Verdict.AUTHENTIC
    assert any("absent" in p for p in check.manifest_problems)
    assert evgw("verify-export", removed, "--json") == 1


def test_the_reviewers_attack_on_a_real_package_fails(
    recorded: Config, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Overwrite the derived MP4, relabel camera and case, regenerate the manifest."""
    seg = segments(recorded)[1]
    out = tmp_path / "out"
    assert evgw(*export_args(recorded, at(seg.start, 0.2), at(seg.end, -0.2), "real", out)) == 0
    package = out / "real"
    rep = report(package)
    other = segments(recorded)[2]
    (package / rep["derived"]["file"]).write_bytes(decrypted(recorded, other).read_bytes())
    rep["camera"], rep["case"] = "store-9", "OTHER"
    (package / "report.json").write_text(json.dumps(rep, ensure_ascii=False), encoding="utf-8")
    (package / MANIFEST_NAME).write_text(manifest_text(package), encoding="utf-8")
    capsys.readouterr()
    assert evgw("verify-export", package, "--pubkey", pubkey(recorded)) == 1
    text = capsys.readouterr().out
    assert "verdict: NOT_AUTHENTIC" in text
    assert "MANIFEST.sha256 is not the signed one" in text
    assert "report.json camera is 'store-9', the signed label 'gate-1'" in text
    assert "is not the signed derived copy" in text
    assert evgw("verify-export", package) == 1  # without a key it fails all the same


def test_the_package_is_signed_logged_and_re_derivable(
    recorded: Config, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = segments(recorded)[1:3]
    out = tmp_path / "out"
    start, end = at(first.start, 0.3), at(second.end, -0.3)
    assert evgw(*export_args(recorded, start, end, "signed", out)) == 0
    package = out / "signed"
    rep = report(package)
    doc = json.loads((package / SIGNATURE_NAME).read_text(encoding="utf-8"))
    statement = doc["statement"]
    manifest = hashlib.sha256((package / MANIFEST_NAME).read_bytes()).hexdigest()
    assert statement["signer"] == {"kind": "gateway", "id": "gw-test"}
    assert statement["manifest_sha256"] == manifest
    assert statement["labels"] == {k: rep[k] for k in statement["labels"]}
    assert statement["labels"]["operator"] == "张警官"
    assert statement["derived"]["source_seqs"] == [first.seq, second.seq]
    assert statement["derived"]["method"] == "remux, no re-encoding"
    assert statement["derived"]["sha256"] == rep["derived"]["sha256"]
    logged = records(recorded, CAMERA, "export")[-1]
    assert logged.extra["manifest_sha256"] == manifest == statement["manifest_sha256"]
    stream_dir = media_path(recorded, first).parents[3]
    assert Ledger.open(
        stream_dir, CAMERA, "gw-test", load_signer(recorded.keys.signing_key)
    ).closed_cleanly, "an export keeps a clean stop clean (the next boot says operator_stop)"
    trusted = ["--pubkey", pubkey(recorded)]
    identity = ["--identity", archive_identity(recorded)]
    ledger = ["--ledger", stream_dir]
    capsys.readouterr()
    assert evgw("verify-export", package, *trusted, *identity, *ledger) == 0, capsys.readouterr()
    assert capsys.readouterr().out.rstrip().endswith("verdict: AUTHENTIC")


def test_a_derived_copy_the_signer_lies_about_is_caught_by_re_deriving(
    recorded: Config, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Even signed by the device key, a derived copy that is not the remux is found out."""
    first, second = segments(recorded)[1:3]
    out = tmp_path / "out"
    start, end = at(first.start, 0.3), at(second.end, -0.3)
    assert evgw(*export_args(recorded, start, end, "lie", out)) == 0
    package = out / "lie"
    rep = report(package)
    shorter = derive_mp4(
        [(package / "decrypted" / Path(first.file or "").name.removesuffix(".age"),
          at(first.start).timestamp())],
        start.timestamp(), end.timestamp(), tmp_path / "short.mp4", "DERIVED COPY",
    )  # fmt: skip
    derived = package / rep["derived"]["file"]
    derived.write_bytes((tmp_path / "short.mp4").read_bytes())
    rep["derived"]["sha256"] = shorter.sha256
    (package / "report.json").write_text(json.dumps(rep, ensure_ascii=False), encoding="utf-8")
    (package / MANIFEST_NAME).write_text(manifest_text(package), encoding="utf-8")
    signature = read_signature(package)
    note = signature.statement.derived.note
    sign_package(
        package, rep, load_signer(recorded.keys.signing_key), signature.statement.signer, note
    )
    assert evgw("verify-export", package, "--pubkey", pubkey(recorded)) == 0
    capsys.readouterr()
    args = ["--pubkey", pubkey(recorded), "--identity", archive_identity(recorded)]
    assert evgw("verify-export", package, *args) == 1
    assert "the derived copy is not a remux of the originals" in capsys.readouterr().out


def test_wrong_identity_names_the_segment_and_writes_nothing(
    recorded: Config, tmp_path, capsys
) -> None:
    seg = segments(recorded)[0]
    identity, _ = make_archive_identity(tmp_path / "other")
    args = export_args(recorded, at(seg.start), at(seg.end), "w", tmp_path / "out")
    args[args.index("--identity") + 1] = identity
    assert evgw(*args) == 1
    err = capsys.readouterr().err
    assert f"cannot decrypt segment #{seg.seq}" in err and "sealed for recipients age1" in err
    assert not any((tmp_path / "out").iterdir())


def test_a_range_without_recording_exits_1_and_writes_nothing(
    recorded: Config, tmp_path, capsys
) -> None:
    before = at(segments(recorded)[0].start, -86400)
    out = tmp_path / "out"
    assert evgw(*export_args(recorded, before, before + timedelta(minutes=5), "n", out)) == 1
    assert "no recording" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())


def test_find_from_central_reads_the_confirmed_version_and_its_checksum(
    recorded: Config, seaweed: SeaweedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    seg = segments(recorded)[3]
    assert recorded.upload is not None and seg.size_cipher is not None
    key = media_key(recorded.gateway.site, recorded.gateway.id, CAMERA, seg.seq, wall(seg.start))
    args = ["find", "--config", recorded.path, "--camera", CAMERA, "--source", "central",
            "--from", at(seg.start, 0.2).isoformat(), "--to", at(seg.end, -0.2).isoformat(),
            "--json", "--pubkey", pubkey(recorded)]  # fmt: skip

    def row() -> dict:
        capsys.readouterr()
        evgw(*args)
        found = json.loads(capsys.readouterr().out)
        return {**next(s for s in found["segments"] if s["seq"] == seg.seq), "all": found}

    assert row()["verdict"] == "OK"  # the store's SHA-256 checksum is the signed one
    raw_client(seaweed).put_object(  # same size, newer version, no checksum: a swap
        Bucket=recorded.upload.store.bucket, Key=key, Body=os.urandom(seg.size_cipher)
    )
    assert row()["verdict"] == "OK"  # still the version the upload confirmed
    index = DataDir(recorded.gateway.data_dir).index
    with closing(sqlite3.connect(index, isolation_level=None)) as db:
        (version,) = db.execute(
            "SELECT version_id FROM segments WHERE stream = ? AND seq = ?", (CAMERA, seg.seq)
        ).fetchone()
        db.execute("UPDATE segments SET version_id = NULL WHERE seq = ?", (seg.seq,))
        try:
            swapped = row()  # no version known: the newest one, known only by its size
        finally:
            db.execute("UPDATE segments SET version_id = ? WHERE seq = ?", (version, seg.seq))
    assert swapped["verdict"] == "UNCHECKED", swapped  # not OK from a HEAD size alone
    assert "present (signed size), not hash-checked" in swapped["detail"]
    assert swapped["all"]["verdict"] == "INCOMPLETE"


def test_export_from_central_after_local_copies_are_gone(recorded: Config, tmp_path) -> None:
    segs = segments(recorded)[:2]
    for seg in segs:
        media_path(recorded, seg).unlink()
    start, end = at(segs[0].start, 0.2), at(segs[1].end, -0.2)
    out = tmp_path / "out"
    assert evgw(*export_args(recorded, start, end, "c", out)) == 0
    rep = report(out / "c")
    assert rep["verdict"] == "AUTHENTIC"
    assert all(s["fetched_from"].endswith(".mp4.age") and not s["fetched_from"].startswith("/")
               for s in rep["segments"])  # fmt: skip
    args = [*export_args(recorded, start, end, "c2", out), "--source", "central"]
    assert evgw(*args) == 0
    trusted = TrustedKeys.single(load_verifier(pubkey(recorded)))
    assert verify_package(out / "c2", trusted).verdict is Verdict.AUTHENTIC
