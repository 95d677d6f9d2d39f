"""The configuration as the gateway receives it: frozen, typed records, validated once.

Sections whose keys are exactly what the gateway uses are declared here, each key once with
`setting`. Sections that builders resolve (secret files, credential fallbacks, uplink
settings) are declared as tables in `tables` and `links` and arrive here as the records
below, already checked across keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from evgw.config import checks
from evgw.config.fields import setting, table
from segments.plan import Encoder
from uplink.config_tables import MqttConfig, UploadConfig
from uplink.settings import TsaSettings

from .commands import CommandsConfig

Overlay = Literal["burn_in", "passthrough"]
Preset = Literal[
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
]
OnFull = Literal["evict_unuploaded", "stop_recording"]


@table
class GatewayConfig:
    """``[gateway]``: who this box is and where it keeps its data."""

    id: str = setting(
        help="Gateway identifier, used in ledger records, object storage keys and MQTT topics: "
        "keep it stable.",
        check=checks.slug,
        example="gw-post-01",
    )
    site: str = setting(
        help="Site name, written into every ledger record.",
        check=checks.site_name,
        example="某某检查站",
    )
    data_dir: Path = setting(
        help="Local data folder: keys, segments, ledgers, index.",
        check=checks.absolute_path,
        example="/var/lib/evgw",
    )
    timezone: str = setting(
        default="UTC",
        help="IANA time zone for the burned-in clock and local dates. Ledger times are always "
        "stored in UTC with an offset.",
        check=checks.timezone,
        example="Asia/Shanghai",
    )


@table
class LocationConfig:
    """``[location]``: the place named in the overlay and in every record."""

    name: str = setting(
        help="Location name shown in the overlay and recorded in the ledger.",
        check=checks.text,
        example="某某检查站 一号卡口",
    )
    lat: float | None = setting(
        default=None,
        help="GPS latitude in decimal degrees; set lat and lon together or neither.",
        check=checks.float_range(-90, 90),
        example=31.2,
    )
    lon: float | None = setting(
        default=None,
        help="GPS longitude in decimal degrees; set lat and lon together or neither.",
        check=checks.float_range(-180, 180),
        example=121.5,
    )


@table
class RecordingConfig:
    """``[recording]``: how segments are cut and encoded, unless a camera overrides."""

    segment_seconds: int = setting(
        default=60,
        help="Segment length in seconds. It divides 86400, so segment boundaries fall on "
        "wall-clock multiples aligned to midnight (e.g. 10, 30, 60, 300, 600).",
        check=checks.segment_seconds,
    )
    overlay: Overlay = setting(
        default="burn_in",
        help='"burn_in": decode, draw time/site/location/camera into the picture, re-encode. '
        '"passthrough": keep the camera\'s own bitstream untouched (the camera draws its own '
        "OSD; preserves camera-side signatures). encoder/preset/crf apply to burn_in only.",
    )
    encoder: Encoder = setting(
        default="libx264",
        help="H.264 encoder for burn_in. A hardware encoder (h264_vaapi, h264_qsv: a DRM render "
        "node; h264_v4l2m2m: a V4L2 memory-to-memory device; h264_nvenc: an NVIDIA GPU) is "
        "tried at each connection; when it is not in this FFmpeg build or its device is "
        "missing or will not open, the camera records with libx264 at `preset`, signs a camera "
        "record (encoder_fallback, with the reason) and raises the encoder_fallback alarm.",
    )
    encoder_device: str = setting(
        default="",
        help="The hardware encoder's device; empty: its usual one (/dev/dri/renderD128 for "
        "h264_vaapi and h264_qsv, /dev/nvidia0 for h264_nvenc, any /dev/video* for "
        "h264_v4l2m2m).",
    )
    preset: Preset = setting(
        default="veryfast",
        help="x264 speed preset (also when a hardware encoder falls back to libx264). Faster "
        "presets cost less CPU and more bytes.",
    )
    crf: int = setting(
        default=23,
        help="Constant rate factor; lower is better quality and larger files.",
        check=checks.int_range(0, 51),
    )
    open_timeout_s: float = setting(
        default=10.0,
        help="Seconds to wait for an RTSP stream to open.",
        check=checks.positive_seconds,
    )
    read_timeout_s: float = setting(
        default=5.0,
        help="Seconds without packets before a stream counts as stalled; the open segment then "
        "ends and a gap record with reason rtsp_timeout is written.",
        check=checks.positive_seconds,
    )
    read_burst_s: float = setting(
        default=0.25,
        help="Seconds a stream's reader rests each time it has read all that arrived, so the "
        "frames that come meanwhile are read together: a passthrough camera then costs about "
        "what `ffmpeg -c copy` does, instead of twice that. TCP holds the frames meanwhile "
        "(about 60 KB at 2 Mbit/s); 0 reads every frame as it comes.",
        check=checks.float_range(0, 1),
    )
    max_camera_drift_s: float = setting(
        default=2.0,
        help="Camera time is checked against the gateway's: when a camera's timestamps and "
        "their arrival on the gateway's monotonic clock part by more than this, the recording "
        "re-anchors to the gateway's time and signs a clock record (reason camera_drift, with "
        "the size of the jump). A jump in the camera's timestamps also ends the segment.",
        check=checks.float_range(0.5, 3600),
    )
    osd: bool = setting(
        default=False,
        help="For passthrough cameras reached over ONVIF (onvif or serial): set the camera's "
        "own OSD to show date and time and the site/location text, read it back and sign a "
        "camera record (osd_applied) of what it shows; re-applied after the camera reboots. A "
        "camera that refuses is reported (osd_refused, health osd), and recorded all the same.",
    )


@table
class LedgerConfig:
    """``[ledger]``: how often a signed checkpoint closes over the records so far."""

    checkpoint_every: int = setting(
        default=10,
        help="Sign a checkpoint (RFC 6962 tree head over the stream's records) after this many "
        "records...",
        check=checks.int_range(1, 100_000),
    )
    checkpoint_interval_s: float = setting(
        default=600.0,
        help="...or after this many seconds, whichever comes first; and always at shutdown.",
        check=checks.positive_seconds,
    )


@table
class StorageConfig:
    """``[storage]``: the local ring buffer's limits and what happens when it is full."""

    quota_bytes: int = setting(
        default=0,
        help="Byte quota for sealed segments in the ring buffer on the local disk (0 = no quota).",
        check=checks.int_range(0, 2**62),
        example=500_000_000_000,
    )
    min_free_bytes: int = setting(
        default=1 << 30,
        help="Keep at least this much free on the data dir's file system.",
        check=checks.int_range(0, 2**62),
        example=10_000_000_000,
    )
    on_full: OnFull = setting(
        default="evict_unuploaded",
        help="When only segments not yet confirmed by central storage are left to evict: "
        '"evict_unuploaded": keep recording, evict the oldest unconfirmed segment, write a '
        'signed purge record and raise an alarm; "stop_recording": write a gap(disk_full) and '
        "pause recording until space returns. Confirmed segments are always evicted first "
        "(oldest first); segments under a legal hold never.",
    )


@dataclass(frozen=True)
class KeysConfig:
    """Only public keys for encryption: the archive's identity never lives on the gateway."""

    signing_key: Path
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class DiscoveryConfig:
    """The camera network for WS-Discovery; `address` None means discovery is off."""

    interface: str | None
    address: str | None
    auto_enroll: bool
    probe_timeout_s: float
    username: str | None
    password: str | None = field(repr=False)
    max_devices: int = 32
    allow_scopes: tuple[str, ...] = ()
    allow_manufacturers: tuple[str, ...] = ()
    allow_addresses: tuple[str, ...] = ()
    rescan_interval_s: float = 60.0
    lost_after_s: float = 300.0

    @property
    def enabled(self) -> bool:
        return self.interface is not None or self.address is not None


@dataclass(frozen=True)
class CameraConfig:
    """One camera with per-camera overrides already resolved against the defaults."""

    id: str
    name: str
    rtsp: str | None
    username: str | None
    password: str | None = field(repr=False)
    location: str
    overlay: Overlay
    segment_seconds: int
    enabled: bool
    onvif: str | None = None
    serial: str | None = None
    profile: str | None = None
    onvif_username: str | None = None
    onvif_password: str | None = field(default=None, repr=False)
    stream_hosts: tuple[str, ...] = ()
    allow_basic_auth: bool = False
    onvif_ca_file: Path | None = None
    onvif_cert_sha256: str | None = None
    osd: bool = False  # set the camera's OSD over ONVIF (passthrough ONVIF cameras only)
    onvif_endpoint: str | None = None  # WS-Discovery endpoint pinned at enrolment

    @property
    def uses_onvif(self) -> bool:
        """The stream URL comes from the camera (asked over ONVIF), not from this file."""
        return self.rtsp is None


@dataclass(frozen=True)
class Config:
    """The whole file; `upload` and `mqtt` are None when their sections are left out."""

    path: Path
    gateway: GatewayConfig
    location: LocationConfig
    recording: RecordingConfig
    keys: KeysConfig
    ledger: LedgerConfig
    storage: StorageConfig
    discovery: DiscoveryConfig
    cameras: tuple[CameraConfig, ...]
    upload: UploadConfig | None
    mqtt: MqttConfig | None
    commands: CommandsConfig
    tsa: TsaSettings | None = None  # [tsa]: timestamp every new checkpoint
