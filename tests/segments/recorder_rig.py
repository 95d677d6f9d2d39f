"""A StreamRecorder on a temporary data dir, fed from a local MP4 as a live camera would."""

import contextlib
import io
import itertools
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import av
import pytest

from cameras.errors import StreamError
from cameras.rtsp import RtspStream, StreamSettings
from segments.age_reader import decrypt_stream
from segments.agekeys import X25519Identity, generate_identity, parse_identity, parse_recipient
from segments.clock import kernel_clock_status
from segments.ledger import Ledger, read_records, signature_ok
from segments.overlay import OverlaySpec
from segments.plan import EncodeSettings, RecordingPlan
from segments.recorder import StreamRecorder
from segments.records import Record, StreamIdentity
from segments.runs import open_run
from segments.signing import Ed25519Signer, generate_signing_key
from segments.store import StreamStore
from segments.stream_log import LocalLog

ANCHOR = 1_800_000_001.0  # odd second: the first segment is 1 s, then 2 s slots
FPS = 25
FRAME_S = 1 / FPS
SOURCE_FRAMES = 175
EPS = 1e-5


def make_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """7 s of 320x240 at 25 fps, a keyframe every second, with B-frames (pts != dts)."""
    path = tmp_path_factory.mktemp("src") / "source.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi",
         "-i", f"testsrc2=size=320x240:rate={FPS}:duration=7",
         "-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "25",
         "-pix_fmt", "yuv420p", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


@dataclass
class Rig:
    recorder: StreamRecorder
    store: StreamStore
    signer: Ed25519Signer
    identity: X25519Identity

    def records(self, kind: str | None = None) -> list[Record]:
        return [r for r in read_records(self.store.root) if kind is None or r.kind == kind]

    def plaintext(self, record: Record) -> bytes:
        assert record.file is not None
        out = io.BytesIO()
        with open(self.store.root / record.file, "rb") as f:
            assert decrypt_stream(f, out, [self.identity]).complete
        return out.getvalue()


def make_rig(tmp_path: Path, mode: str, max_drift_s: float = 2.0) -> Rig:
    identity, recipient = generate_identity()
    plan = RecordingPlan(
        segment_seconds=2,
        mode=mode,
        encode=EncodeSettings(preset="ultrafast"),
        overlay=OverlaySpec(location="某某检查站", camera="一号卡口"),
        tz=ZoneInfo("Asia/Shanghai"),
        recipients=(parse_recipient(recipient),),
        max_camera_drift_s=max_drift_s,
    )
    store = StreamStore(tmp_path / "data", "cam")
    signer = generate_signing_key(tmp_path / "k" / "device.ed25519")
    ledger = Ledger.open(store.root, "cam", "gw", signer)
    ident = StreamIdentity("gw", "site", "loc", "cam", "cam", "boot-1")
    draft = partial(ident.draft, clock=kernel_clock_status())
    run = open_run(ledger, store, draft, signer.public_key_text())
    rec = StreamRecorder(plan, ident, store, LocalLog(ledger, store))
    rec.begin(run.began)
    return Rig(rec, store, signer, parse_identity(identity))


OPEN_SOURCES: list[RtspStream] = []


def file_packets(path: Path) -> Iterator[tuple[av.Packet, RtspStream]]:
    """Every packet of `path`; the stream stays open until the test ends (see conftest).

    As in the camera worker, the recorder flushes and seals while its connection is open:
    closing the container first frees the streams the decoder and muxer still read.
    """
    s = RtspStream(StreamSettings(str(path))).__enter__()
    OPEN_SOURCES.append(s)
    assert s.video is not None
    with contextlib.suppress(StreamError):
        yield from ((p, s) for p in s.packets())


def close_sources() -> None:
    while OPEN_SOURCES:
        OPEN_SOURCES.pop().__exit__(None, None, None)


def live_arrival(anchor: float, packet: av.Packet, latest: list[float]) -> float:
    """When a live camera would deliver `packet`: never before its frame (B-frames wait)."""
    assert packet.pts is not None and packet.time_base is not None
    latest[0] = max(latest[0], float(packet.pts * packet.time_base))
    return anchor + latest[0]


def feed_all(rig: Rig, path: Path, anchor: float = ANCHOR) -> None:
    connected = False
    latest = [0.0]
    for p, s in file_packets(path):
        if not connected:
            assert s.video is not None
            rig.recorder.connect(s.video, s.audio)
            connected = True
        arrival = live_arrival(anchor, p, latest)
        rig.recorder.feed(p, arrival, arrival)


def wall_of(stamp: str | None) -> float:
    assert stamp is not None
    return datetime.fromisoformat(stamp).timestamp()


def since(stamp: str | None, origin: float = ANCHOR) -> float:
    """Seconds after `origin`: keeps comparisons precise (1.8e9 swamps pytest.approx's rel)."""
    return round(wall_of(stamp) - origin, 6)


def source_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


def decoded(data: bytes) -> tuple[int, bool, bool]:
    """Frames decoded, whether the first packet and the first frame are key."""
    with av.open(io.BytesIO(data), "r") as c:
        first_packet = next(iter(c.demux(c.streams.video[0])))
    with av.open(io.BytesIO(data), "r") as c:
        frames = list(c.decode(video=0))
    return len(frames), first_packet.is_keyframe, frames[0].key_frame


def assert_continuous_and_aligned(segs: list[Record]) -> None:
    for prev, nxt in itertools.pairwise(segs):
        hole = wall_of(nxt.start) - wall_of(prev.end)
        assert -EPS <= hole <= FRAME_S + EPS, (prev.end, nxt.start)
        assert wall_of(nxt.start) % 2 < EPS, f"{nxt.start} is not on a 2 s boundary"


def assert_signed(rig: Rig) -> None:
    records = rig.records()
    assert [r.seq for r in records] == list(range(len(records)))
    assert all(signature_ok(r, rig.signer.verifier()) for r in records)
