"""Light imports: a court expert's checks never load the video stack, a passthrough camera
never loads OpenCV or Pillow. Each case runs in a fresh interpreter, so nothing the test
process already imported can hide a heavy import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.segments.sealed_stream import Stream
from tests.segments.test_package_check import build

REPO = Path(__file__).resolve().parents[2]
VIDEO_STACK = ("av", "numpy", "cv2", "PIL")


def heavy_after(code: str) -> list[str]:
    """Which of the video stack's libraries `code` leaves loaded in a fresh interpreter."""
    report = f"print(json.dumps([m for m in {VIDEO_STACK!r} if m in sys.modules]))"
    probe = f"{code}\nimport json, sys\n{report}"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "modules",
    [
        "segments",
        "segments.verify",
        "segments.package_check",
        "segments.slice_check, segments.package, segments.package_signature",
        "segments.package_claims, segments.trust",
        "segments.ledger, segments.records, segments.checkpoint, segments.merkle",
        "segments.signing, segments.agekeys, segments.age, segments.hashing",
        "segments.overlay",
        "segments.plan, segments.stream_log, segments.runs",
        "cameras",
    ],
)
def test_verification_modules_load_no_video_stack(modules: str) -> None:
    assert heavy_after(f"import {modules}") == []


def test_the_daemon_loads_no_video_stack() -> None:
    """It plans, signs and supervises; only its camera processes decode, encode and draw."""
    assert heavy_after("import gateway.daemon.lifecycle, gateway.wiring") == []


def test_describing_an_overlay_loads_no_imaging() -> None:
    code = "from segments.overlay import OverlaySpec\nOverlaySpec(location='l', camera='c')"
    assert heavy_after(code) == []


def test_a_passthrough_camera_loads_neither_opencv_nor_pillow() -> None:
    loaded = heavy_after("import segments.recorder, cameras.rtsp, cameras.freeze, cameras")
    assert "cv2" not in loaded and "PIL" not in loaded


def test_verifying_a_stream_loads_no_video_stack(tmp_path: Path) -> None:
    stream = Stream(tmp_path)
    stream.start()
    for _ in range(3):
        stream.segment()
    stream.ledger.checkpoint()
    code = (
        "from pathlib import Path\n"
        "from segments.agekeys import X25519Identity\n"
        "from segments.verify import DirMediaSource, Verdict, verify\n"
        f"source = DirMediaSource(Path({str(stream.root)!r}))\n"
        "report = verify([('cam1', source)], identities=[X25519Identity(bytes(range(1, 33)))])\n"
        "assert report.verdict is Verdict.INTEGRITY_ONLY, report"
    )
    assert heavy_after(code) == []


def test_checking_a_package_loads_no_video_stack(tmp_path: Path) -> None:
    root = build(tmp_path / "case-1", tmp_path / "data")
    code = (
        "from pathlib import Path\n"
        "from segments.package_check import verify_package\n"
        "from segments.verify import Verdict\n"
        f"check = verify_package(Path({str(root)!r}))\n"
        "assert check.verdict is Verdict.INTEGRITY_ONLY, check"
    )
    assert heavy_after(code) == []
