"""Case export against a real recording: find, export, derived MP4, central copies, tampering.

One module-wide recording (2 s segments, the camera killed mid-run for a declared gap, uploads
to a real SeaweedFS) serves every test; the test that deletes local copies runs last.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from gateway.cli.main import main
from gateway.config import Config
from gateway.daemon.lifecycle import Gateway
from gateway.keys import make_archive_identity
from segments.package import MANIFEST_NAME
from segments.package_check import verify_package
from segments.records import Record
from segments.signing import load_verifier
from segments.verify import Verdict
from testbeds.process import find_free_port
from testbeds.rtsp import RtspTestServer, gst_rtsp_available
from testbeds.seaweedfs import SeaweedServer
from tests.support.recording import Cam, archive_identity, make_config, media_path, records
from tests.support.seaweed import raw_client, unique_bucket, upload_section
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
            time.sleep(7)
            camera.kill()
            time.sleep(3)
            camera.start()
            time.sleep(6)
        finally:
            gateway.stop(drain_s=30)
        yield config
    finally:
        camera.stop()


def segments(config: Config) -> list[Record]:
    return records(config, CAMERA, "segment")


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
    rc = evgw("find", "--config", recorded.path, "--camera", CAMERA,
              "--from", start.isoformat(), "--to", end.isoformat(), "--json")  # fmt: skip
    found = json.loads(capsys.readouterr().out)
    assert rc == 0
    assert [s["seq"] for s in found["segments"]] == [s.seq for s in segs]
    assert {s["state"] for s in found["segments"]} <= {"local", "confirmed"}
    assert any(s["state"] == "confirmed" for s in found["segments"])
    assert all(s["verdict"] == "OK" for s in found["segments"])
    assert [(g["reason"], g["seq"]) for g in found["gaps"]] == [(gap.reason, gap.seq)]
    assert found["verdict"] == "AUTHENTIC_WITH_DECLARED_GAPS"


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
    assert first_kf + timedelta(seconds=times[-1]) >= end
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
    assert [g["reason"] for g in rep["gaps"]] == ["camera_offline"]
    times = frame_times(package / rep["derived"]["file"])
    jump = max(b - a for a, b in itertools.pairwise(times))
    lasted = (at(gap.end) - at(gap.start)).total_seconds()
    assert abs(jump - lasted) < 0.2, "a declared gap must stay a gap, not be stretched over"
    assert verify_package(package).verdict is Verdict.AUTHENTIC_WITH_DECLARED_GAPS


def test_tampered_packages_are_caught(recorded: Config, tmp_path) -> None:
    seg = segments(recorded)[1]
    out = tmp_path / "out"
    assert evgw(*export_args(recorded, at(seg.start, 0.2), at(seg.end, -0.2), "t", out)) == 0
    good = out / "t"
    trusted = load_verifier(pubkey(recorded))
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
    assert verify_package(out / "c2").verdict is Verdict.AUTHENTIC
