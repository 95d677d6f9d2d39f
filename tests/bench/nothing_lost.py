"""After a run: was every segment sealed, uploaded and verified, and what did ffmpeg write?

Read from what is on disk and in the bucket, not from what the daemon says about itself:
ledger records per camera, `.part` files left behind (a segment never sealed), every media
object in the bucket against the sealed record's size, gap records by reason, and the
verdict of `evgw verify` (run from the measured checkout).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segments.ledger import read_records
from segments.store import PART_SUFFIX, StreamStore
from tests.support.recording import wall
from uplink.object_keys import media_key

PASSING_VERDICTS = ("AUTHENTIC", "AUTHENTIC_WITH_DECLARED_GAPS")
STARTUP = "startup"  # the declared time from a daemon's start to the camera's first frame


@dataclass(frozen=True)
class CameraOutcome:
    camera: str
    segments: int  # sealed media files (segment + truncated records)
    uploaded: int  # of those, found in the bucket with the sealed size
    unsealed: int  # .part files left
    gaps: dict[str, int]  # gap records by reason
    media_s: float  # seconds of video in the sealed segments


@dataclass(frozen=True)
class Outcome:
    cameras: list[CameraOutcome]
    verdict: str
    daemon_exit: int
    problems: list[str] = field(default_factory=list)

    @property
    def segments(self) -> int:
        return sum(c.segments for c in self.cameras)

    @property
    def uploaded(self) -> int:
        return sum(c.uploaded for c in self.cameras)

    @property
    def gaps(self) -> int:
        """Gap records inside the recording (a start-up gap is expected once per start)."""
        return sum(n for c in self.cameras for reason, n in c.gaps.items() if reason != STARTUP)

    @property
    def ok(self) -> bool:
        return (
            not self.problems
            and self.daemon_exit == 0
            and self.verdict.upper() in PASSING_VERDICTS
            and all(c.segments > 0 and c.unsealed == 0 for c in self.cameras)
            and self.uploaded == self.segments
            and self.gaps == 0
        )


def bucket_sizes(client: Any, bucket: str) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        sizes.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
    return sizes


def camera_outcome(data_dir: Path, site: str, gateway: str, camera: str,
                   stored: dict[str, int]) -> CameraOutcome:  # fmt: skip
    store = StreamStore(data_dir, camera)
    records = read_records(store.root)
    media = [r for r in records if r.file]
    uploaded = sum(
        stored.get(media_key(site, gateway, camera, r.seq, wall(r.start))) == r.size_cipher
        for r in media
    )
    gaps = Counter(r.reason or "?" for r in records if r.kind == "gap")
    unsealed = sum(1 for _ in store.root.rglob(f"*{PART_SUFFIX}")) if store.root.exists() else 0
    return CameraOutcome(
        camera,
        len(media),
        uploaded,
        unsealed,
        dict(gaps),
        sum(r.duration_s or 0.0 for r in media),
    )


@dataclass(frozen=True)
class FfmpegOutcome:
    camera: str
    segments: int
    empty: int
    exit: int | None  # None: still running when it was stopped (the normal case)


def ffmpeg_outcome(camera: str, folder: Path, exit_code: int | None) -> FfmpegOutcome:
    files = sorted(folder.glob("seg*.mp4"))
    return FfmpegOutcome(camera, len(files), sum(f.stat().st_size == 0 for f in files), exit_code)


def summary(outcome: Outcome, ffmpeg: Sequence[FfmpegOutcome]) -> list[str]:
    lines = [
        f"evgw: {outcome.segments} segments sealed, {outcome.uploaded} confirmed in the bucket "
        f"with the sealed size, {sum(c.unsealed for c in outcome.cameras)} .part left, "
        f"{outcome.gaps} gap records besides start-up, verify {outcome.verdict}, daemon exit "
        f"{outcome.daemon_exit}: {'NOTHING LOST' if outcome.ok else 'FAIL'}"
    ]
    for c in outcome.cameras:
        if set(c.gaps) - {STARTUP} or c.unsealed or c.uploaded != c.segments or not c.segments:
            lines.append(
                f"  {c.camera}: {c.segments} sealed, {c.uploaded} uploaded, {c.unsealed} .part, "
                f"gaps {c.gaps}"
            )
    lines += [f"  problem: {p}" for p in outcome.problems]
    if ffmpeg:
        died = [f.camera for f in ffmpeg if f.exit is not None]
        lines.append(
            f"ffmpeg: {sum(f.segments for f in ffmpeg)} segment files, "
            f"{sum(f.empty for f in ffmpeg)} empty, exited early: {died or 'none'}"
        )
    return lines
