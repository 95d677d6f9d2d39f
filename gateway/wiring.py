"""Config → runtime objects: the one place outside `cli/` that reads a whole `Config`.

The daemon, the case services and each camera process receive what is built here (a camera's
plan, a stream's identity, storage limits, the upload and MQTT settings, the central store),
never the configuration itself, so every part sees only what it needs and a camera process,
which parses hostile bytes, holds only its own camera's plan (`camera_plan`): no key, no
other camera's or the uplink's secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

from segments.agekeys import X25519Recipient
from segments.checkpoint import Checkpoint
from segments.ledger import Ledger
from segments.overlay import OverlaySpec
from segments.plan import EncodeSettings, RecordingPlan
from segments.records import Record, StreamIdentity
from segments.ringbuffer import Limits
from segments.signing import Signer
from segments.store import DataDir
from uplink.objectstore import ObjectStore

from .camera_plan import CameraPlan
from .cases.sources import CameraLabel, CaseSources
from .config import CameraConfig, Config, MqttConfig
from .enrolled import Enrolled, camera_config, enrolled_cameras
from .keys import GatewayKeys, load_keys, signing_key_path
from .status import StatusScope


def gateway_keys(config: Config) -> GatewayKeys:
    """The device key and the recipients, refusing to run next to an age identity."""
    return load_keys(config.keys, config.path, guarded_folders(config))


def guarded_folders(config: Config) -> tuple[Path, ...]:
    """Where no age identity may sit: beside the configuration, in the data dir, beside the key."""
    data_dir = config.gateway.data_dir
    key = signing_key_path(config.keys.signing_key)
    return (config.path.parent, data_dir, DataDir(data_dir).keys, key.parent)


def camera_plans(
    config: Config, recipients: Sequence[X25519Recipient], boot_id: str
) -> list[CameraPlan]:
    """One plan per enabled camera, in configuration order."""
    return [camera_plan(config, c, recipients, boot_id) for c in config.cameras if c.enabled]


def enrolled_plans(
    config: Config, entries: Sequence[Enrolled], recipients: Sequence[X25519Recipient], boot_id: str
) -> list[CameraPlan]:
    """Plans of the cameras auto-enrolment found, but those the configuration names (by id
    or serial): a configured entry takes its camera over."""
    ids = {c.id for c in config.cameras}
    serials = {c.serial for c in config.cameras if c.serial}
    kept = [e for e in entries if e.id not in ids and e.serial not in serials]
    return [enrolled_plan(config, e, recipients, boot_id) for e in kept]


def enrolled_plan(
    config: Config, entry: Enrolled, recipients: Sequence[X25519Recipient], boot_id: str
) -> CameraPlan:
    """An enrolled camera records with the sections' defaults, its serial pinned."""
    plan = camera_plan(config, camera_config(config, entry), recipients, boot_id)
    return replace(plan, identity=replace(plan.identity, camera_serial=entry.serial))


def camera_plan(
    config: Config, camera: CameraConfig, recipients: Sequence[X25519Recipient], boot_id: str
) -> CameraPlan:
    return CameraPlan(
        camera=camera,
        recording=recording_plan(config, camera, recipients),
        identity=stream_identity(config, camera, boot_id),
        timeouts=config.recording,
        # The network to probe; its default credentials already resolved into `camera`'s own.
        discovery=replace(config.discovery, username=None, password=None),
        data_dir=config.gateway.data_dir,
        frozen_after_s=frozen_after_s(config.mqtt),
    )


def recording_plan(
    config: Config, camera: CameraConfig, recipients: Sequence[X25519Recipient]
) -> RecordingPlan:
    rec, loc = config.recording, config.location
    gps = (loc.lat, loc.lon) if loc.lat is not None and loc.lon is not None else None
    return RecordingPlan(
        segment_seconds=camera.segment_seconds,
        mode=camera.overlay,
        encode=EncodeSettings(
            codec=rec.encoder, preset=rec.preset, crf=rec.crf, device=rec.encoder_device or None
        ),
        overlay=OverlaySpec(location=camera.location, camera=camera.name, gps=gps),
        tz=ZoneInfo(config.gateway.timezone),
        recipients=tuple(recipients),
        max_camera_drift_s=rec.max_camera_drift_s,
    )


def stream_identity(config: Config, camera: CameraConfig, boot_id: str) -> StreamIdentity:
    """Who/where every record of `camera`'s stream names."""
    return StreamIdentity(
        gateway=config.gateway.id,
        site=config.gateway.site,
        location=camera.location,
        camera=camera.id,
        camera_name=camera.name,
        boot_id=boot_id,
    )


def open_ledger(
    config: Config,
    camera: str,
    signer: Signer,
    on_append: Callable[[Record], None],
    on_checkpoint: Callable[[Checkpoint], None],
) -> Ledger:
    """A stream's ledger writer; the daemon holds the only one (camera processes ask it)."""
    return Ledger.open(
        DataDir(config.gateway.data_dir).stream(camera),
        camera,
        config.gateway.id,
        signer,
        every_records=config.ledger.checkpoint_every,
        every_s=config.ledger.checkpoint_interval_s,
        on_append=on_append,
        on_checkpoint=on_checkpoint,
    )


def index_path(config: Config) -> Path:
    return DataDir(config.gateway.data_dir).index


def storage_limits(config: Config) -> Limits:
    storage = config.storage
    return Limits(storage.quota_bytes, storage.min_free_bytes, storage.on_full)


def status_scope(config: Config) -> StatusScope:
    return StatusScope(
        gateway=config.gateway.id,
        data_dir=config.gateway.data_dir,
        cameras=tuple(c.id for c in (*config.cameras, *enrolled_cameras(config))),
        limits=storage_limits(config),
        uploading=config.upload is not None,
    )


def frozen_after_s(mqtt: MqttConfig | None) -> float:
    return MqttConfig.FROZEN_AFTER_S if mqtt is None else mqtt.frozen_after_s


def central_store(config: Config) -> ObjectStore | None:
    """The central object store, when `[upload]` names one."""
    return None if config.upload is None else ObjectStore(config.upload.store)


def case_sources(config: Config) -> CaseSources:
    """The gateway's evidence for `evgw find`/`export`: data dir, index, central store."""
    return CaseSources(
        config_path=config.path,
        data_dir=config.gateway.data_dir,
        index_path=index_path(config),
        site=config.gateway.site,
        gateway=config.gateway.id,
        cameras={
            c.id: CameraLabel(c.id, c.name, c.location)
            for c in (*config.cameras, *enrolled_cameras(config))
        },
        sealed_for=config.keys.recipients,
        central=central_store(config),
        central_bucket=config.upload.store.bucket if config.upload else "",
        timezone=config.gateway.timezone,
    )
