"""A synthetic evidence bucket for the archive sync benchmark, sealed for real.

G gateways x C cameras, one 60 s segment per camera-minute: each segment is a small random
payload age-encrypted for real to the gateway's recipient, its record is numbered, chained
and signed by the real `segments.ledger.Ledger` (which also signs a checkpoint every
`checkpoint_every` records, the gateway's `[ledger] checkpoint_every`), and segment, record
and checkpoint objects go to the keys `uplink.object_keys` names, with the SHA-256 checksum
the real uploader sends (`ObjectStore.put_bytes`), on a pool of threads. Only the payload is
small: the archive reads records and checkpoints and only HEADs segments, so a segment's
size costs the sync nothing.

`build_fleet` makes the gateways; `add_minutes` records and uploads more minutes for every
camera (the base set, then the incremental minute). Time spent here is not what the
benchmark measures; it is reported separately.
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from segments.age_writer import AgeWriter
from segments.agekeys import X25519Recipient, generate_identity, parse_recipient
from segments.checkpoint import Checkpoint
from segments.index_rows import CHECKPOINT, MEDIA, RECORD
from segments.ledger import Ledger
from segments.records import Record
from segments.signing import Ed25519Signer, generate_signing_key
from segments.store import DataDir
from segments.timeline import iso_utc
from uplink.object_keys import checkpoint_key, media_key, record_key
from uplink.objectstore import ObjectStore

SITE = "基准检查站"
T0 = 1_800_000_000.0  # a minute boundary (UTC)
SEGMENT_S = 60.0
PAYLOAD_BYTES = 1024
CHECKPOINT_EVERY = 10  # the gateway's default [ledger] checkpoint_every: 10 x 60 s = its 600 s


@dataclass
class Camera:
    name: str
    ledger: Ledger
    checkpoints: list[Checkpoint] = field(default_factory=list)


@dataclass
class FleetGateway:
    name: str
    signer: Ed25519Signer
    cameras: list[Camera]

    @property
    def public_key(self) -> str:
        return self.signer.public_key_text()


@dataclass
class Fleet:
    """The gateways, their recipient, and how many minutes each camera has recorded."""

    gateways: list[FleetGateway]
    recipients: tuple[X25519Recipient, ...]
    minutes: int = 0

    def trusted_keys(self) -> dict[str, str]:
        return {gw.name: gw.public_key for gw in self.gateways}


@dataclass(frozen=True)
class Added:
    """What one `add_minutes` call produced and how long it took."""

    records: int
    checkpoints: int
    objects: int
    generate_s: float
    upload_s: float


def build_fleet(
    root: Path, gateways: int, cameras: int, checkpoint_every: int = CHECKPOINT_EVERY
) -> Fleet:
    """`gateways` gateways of `cameras` cameras each, with device keys and ledgers under `root`."""
    recipients = (parse_recipient(generate_identity()[1]),)
    made = []
    for g in range(gateways):
        name = f"gw-{g:04d}"
        home = root / name
        signer = generate_signing_key(home / "device.ed25519")
        data = DataDir(home / "data")
        cams = []
        for c in range(cameras):
            camera, signed = f"cam{c + 1}", []
            ledger = Ledger.open(
                data.stream(camera), camera, name, signer,
                every_records=checkpoint_every, every_s=math.inf, on_checkpoint=signed.append,
            )  # fmt: skip
            cams.append(Camera(camera, ledger, signed))
        made.append(FleetGateway(name, signer, cams))
    return Fleet(made, recipients)


def add_minutes(
    fleet: Fleet,
    minutes: int,
    store: ObjectStore,
    workers: int,
    progress: Callable[[int, int], None] | None = None,
) -> Added:
    """Record `minutes` more minutes on every camera and upload them with `workers` threads.

    Generation runs here, uploads on the pool meanwhile; `upload_s` is the time the pool
    still needed after the last object was generated.
    """
    records = checkpoints = objects = 0
    generate_s = 0.0
    first = fleet.minutes
    with ThreadPoolExecutor(workers, thread_name_prefix="bench-put") as pool:
        pending = []
        for done, gw in enumerate(fleet.gateways, 1):
            began = time.perf_counter()
            made = list(_gateway_objects(fleet, gw, first, minutes))
            generate_s += time.perf_counter() - began
            records += sum(1 for what, _, _ in made if what == RECORD)
            checkpoints += sum(1 for what, _, _ in made if what == CHECKPOINT)
            objects += len(made)
            pending += [pool.submit(store.put_bytes, key, body) for _, key, body in made]
            if progress is not None:
                progress(done, len(fleet.gateways))
        waited = time.perf_counter()
        for put in pending:
            put.result()
        upload_s = time.perf_counter() - waited
    fleet.minutes += minutes
    return Added(records, checkpoints, objects, generate_s, upload_s)


def _gateway_objects(
    fleet: Fleet, gw: FleetGateway, first: int, minutes: int
) -> Iterator[tuple[str, str, bytes]]:
    """(what, key, body) of every object `minutes` new minutes of `gw`'s cameras make."""
    for cam in gw.cameras:
        seen = len(cam.checkpoints)
        for minute in range(first, first + minutes):
            start = T0 + SEGMENT_S * minute
            sealed, record = _segment(fleet, gw, cam, start)
            yield MEDIA, media_key(SITE, gw.name, cam.name, record.seq, start), sealed
            yield RECORD, record_key(SITE, gw.name, cam.name, record.seq, start), record.to_json()
        for cp in cam.checkpoints[seen:]:
            yield CHECKPOINT, checkpoint_key(SITE, gw.name, cam.name, cp.size), cp.to_json()


def _segment(fleet: Fleet, gw: FleetGateway, cam: Camera, start: float) -> tuple[bytes, Record]:
    """One sealed segment (age-encrypted random payload) and its signed, chained record."""
    out = io.BytesIO()
    with AgeWriter(out, fleet.recipients) as sink:
        sink.write(os.urandom(PAYLOAD_BYTES))
    stats = sink.stats

    def make(seq: int) -> Record:
        return replace(
            _draft(gw.name, cam.name, start),
            file=DataDir.segment(seq, start),
            size_plain=stats.plaintext_size,
            sha256_plain=stats.plaintext_sha256,
            size_cipher=stats.ciphertext_size,
            sha256_cipher=stats.ciphertext_sha256,
        )

    return out.getvalue(), cam.ledger.append_numbered(make)


def _draft(gateway: str, camera: str, start: float) -> Record:
    return Record(
        stream=camera, seq=0, kind="segment", start=iso_utc(start), end=iso_utc(start + SEGMENT_S),
        duration_s=SEGMENT_S, gateway=gateway, site=SITE, location=f"{SITE} {camera}",
        camera=camera, camera_name=camera, boot_id="bench",
    )  # fmt: skip
