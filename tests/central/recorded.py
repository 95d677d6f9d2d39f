"""A camera recorded for real for the archive's retrieval tests, and the archive that reads it.

A generated H.264 + AAC clip is fed to the real recorder (passthrough, as a camera that sends
sound), twice with a camera outage between, so the ledger holds sealed segments with audio, a
declared `camera_offline` gap, a legal hold, an eviction and checkpoints every four records.
The real uploader puts it all into a real SeaweedFS bucket; the box's data dir can then be
deleted. No media is committed: the clip is made here.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from segments.agekeys import generate_identity, parse_identity, parse_recipient
from segments.checkpoint import Checkpoint
from segments.clock import kernel_clock_status
from segments.index import Index
from segments.ledger import Ledger, read_checkpoints, read_records
from segments.overlay import OverlaySpec
from segments.plan import EncodeSettings, RecordingPlan
from segments.recorder import PASSTHROUGH, StreamRecorder
from segments.records import Record, StreamIdentity
from segments.signing import Ed25519Signer, generate_signing_key
from segments.store import StreamStore
from segments.stream_log import LocalLog
from segments.witness import cosign
from testbeds.seaweedfs import SeaweedServer
from tests.central.boxes import central_toml
from tests.segments.recorder_rig import Rig, close_sources, feed_all
from tests.support.waiting import wait_until
from uplink.object_keys import witness_key
from uplink.objectstore import ObjectStore
from uplink.uploader import RetryPolicy, Uploader

SITE = "测试检查站"
GATEWAY = "gw-rec"
CAMERA = "cam1"
ANCHOR = 1_760_000_001.0  # in the past (a hole after now is `future`); odd: 1 s, then 2 s slots
RESUMED = ANCHOR + 20.0  # the camera is back after an outage
TONE_HZ = 440
RATE = 16_000
WITNESS_NAME = "archive.test/witness"
FAST = RetryPolicy(item_initial_s=0.2, item_cap_s=1.0, store_initial_s=0.3, idle_s=0.05)


@dataclass
class Recorded:
    folder: Path
    data_dir: Path
    signer: Ed25519Signer
    identity: str  # the archive's age identity (AGE-SECRET-KEY-…)
    store: ObjectStore

    def records(self, kind: str | None = None) -> list[Record]:
        found = read_records(StreamStore(self.data_dir, CAMERA).root)
        return [r for r in found if kind is None or r.kind == kind]

    def checkpoints(self) -> list[Checkpoint]:
        return read_checkpoints(StreamStore(self.data_dir, CAMERA).root)


def clip_with_sound(folder: Path) -> Path:
    """7 s of 320x240 H.264 at 25 fps (a keyframe a second) with a 440 Hz AAC tone."""
    path = folder / "camera.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y",
         "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=7",
         "-f", "lavfi", "-i", f"sine=frequency={TONE_HZ}:sample_rate={RATE}:duration=7",
         "-c:v", "libx264", "-preset", "ultrafast", "-bf", "0", "-g", "25", "-pix_fmt", "yuv420p",
         "-c:a", "aac", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def record_and_upload(folder: Path, store: ObjectStore) -> Recorded:
    """Record the clip twice around an outage, add a hold and an eviction, upload it all."""
    identity, recipient = generate_identity()
    data = folder / "data"
    files = StreamStore(data, CAMERA)
    index = Index.open(data / "index.sqlite")
    signer = generate_signing_key(folder / "keys" / "device.ed25519")
    ledger = Ledger.open(
        files.root, CAMERA, GATEWAY, signer, every_records=4, on_checkpoint=index.add_checkpoint
    )
    ident = StreamIdentity(GATEWAY, SITE, "测试检查站 一号卡口", CAMERA, "一号", "boot-1")
    _open_run(ledger, ident, signer, ANCHOR - 1)
    plan = RecordingPlan(
        segment_seconds=2,
        mode=PASSTHROUGH,
        encode=EncodeSettings(preset="ultrafast"),
        overlay=OverlaySpec(location="一号卡口", camera="一号"),
        tz=ZoneInfo("Asia/Shanghai"),
        recipients=(parse_recipient(recipient),),
    )
    recorder = StreamRecorder(plan, ident, files, LocalLog(ledger, files))
    recorder.begin(ANCHOR - 1)
    rig = Rig(recorder, files, signer, parse_identity(identity))
    clip = clip_with_sound(folder)
    try:
        feed_all(rig, clip, ANCHOR)
        recorder.interrupt("camera_offline", ANCHOR + 7.0)
        feed_all(rig, clip, RESUMED)
        recorder.close(time.time())
    finally:
        close_sources()
    _hold_and_evict(ledger, ident, rig)
    for record in read_records(files.root):
        index.add_record(record)
    uploader = Uploader(index, store, data, SITE, GATEWAY, 1, policy=FAST)
    uploader.start()
    try:
        wait_until("every object confirmed", lambda: index.backlog().count == 0, 120)
    finally:
        uploader.stop()
        index.close()
    return Recorded(folder, data, signer, identity, store)


def _open_run(ledger: Ledger, ident: StreamIdentity, signer: Ed25519Signer, at: float) -> None:
    """The `key` and `boot` records a first run starts with (`segments.runs.open_run`), dated
    `at` in the past, so the recording lies before now and no hole in it is `future`."""
    clock = kernel_clock_status()
    key = ident.draft(kind="key", start=at, end=None, clock=clock)
    ledger.append(replace(key, extra={"public_key": signer.public_key_text()}))
    ledger.append(ident.draft(kind="boot", start=at, end=at, clock=clock))


def _hold_and_evict(ledger: Ledger, ident: StreamIdentity, rig: Rig) -> None:
    """A legal hold over the first segment after the outage, and the box's eviction of the
    first segment after its confirmed upload: both signed records, as the daemon writes."""
    segments = rig.records("segment")
    after = next(r for r in segments if (r.start_ts or 0) >= RESUMED)
    first = segments[0]
    clock = kernel_clock_status()
    hold = ident.draft(kind="hold", start=after.start_ts or 0, end=after.end_ts, clock=clock,
                       reason="hold", extra={"hold_id": 1, "case": "A-1"})  # fmt: skip
    ledger.append(hold)
    now = time.time()
    purge = ident.draft(kind="purge", start=now, end=now, clock=clock, reason="evicted_confirmed",
                        extra={"seq": first.seq, "file": first.file, "confirmed": True,
                               "sha256_cipher": first.sha256_cipher,
                               "size_cipher": first.size_cipher})  # fmt: skip
    ledger.append(purge)
    ledger.checkpoint()


def archive_toml(
    folder: Path,
    server: SeaweedServer,
    recorded: Recorded,
    database: str,
    *,
    trusted: bool = True,
    witness: bool = True,
) -> Path:
    """The archive's configuration over the recorded bucket, with its identity, export key
    and (optionally) witness key made in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "archive.agekey").write_text(recorded.identity + "\n")
    (folder / "archive.agekey").chmod(0o600)
    for name in ("export.ed25519", "witness.ed25519"):
        if not (folder / name).exists():
            generate_signing_key(folder / name)
    extra = '[export]\nsigning_key = "export.ed25519"\n'
    if witness:
        extra += f'[witness]\nname = "{WITNESS_NAME}"\nsigning_key = "witness.ed25519"\n'
    keys = {GATEWAY: recorded.signer.public_key_text()} if trusted else {"gw-other": _other()}
    bucket = recorded.store.settings.bucket
    return central_toml(folder, server.endpoint_url, bucket, database, keys, 0.0, extra)


def _other() -> str:
    return "ed25519:T6KRAmGU4tE88FqpEj0zWa5xSyll4ktaYLCmWcul1GU="


def witness_checkpoint(
    recorded: Recorded, witness: Ed25519Signer, checkpoint: Checkpoint, timestamp: int
) -> str:
    """What the archive's witness writes beside a consistent checkpoint; returns the key."""
    key = witness_key(SITE, GATEWAY, CAMERA, checkpoint.size)
    body = cosign(checkpoint, WITNESS_NAME, witness, timestamp).to_bytes()
    recorded.store.put_bytes(key, body)
    return key
