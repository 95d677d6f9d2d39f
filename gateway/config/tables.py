"""The file's layout: its sections in order, and the tables that builders resolve.

`SECTIONS` lists every top-level table once: the loader takes the allowed names and which
are required from it, the example generator the order and each section's comment. The
tables declared here are the file's view of ``[keys]``, ``[discovery]`` and ``[[cameras]]``;
their builders in `load` turn them into `KeysConfig`, `DiscoveryConfig` and `CameraConfig`
(secret files read, credentials falling back camera → ``[discovery]``).
"""

from __future__ import annotations

from pathlib import Path

from evgw.config import checks
from evgw.config.fields import Section, secret, secret_file, setting, table, user_name
from evgw.config.placeholders import placeholder
from uplink.config_tables import MqttTable, UploadTable

from .commands import CommandsTable
from .model import (
    GatewayConfig,
    LedgerConfig,
    LocationConfig,
    Overlay,
    RecordingConfig,
    StorageConfig,
)
from .recipients import recipient_list
from .tsa import TsaTable


@table
class KeysTable:
    """``[keys]`` as written; recipients_file adds to recipients."""

    signing_key: Path = setting(
        help="The device's Ed25519 signing key (root's, mode 0600), outside every folder the "
        "service may write. Create it once with `evgw keygen --out /etc/evgw/keys`; its public "
        "key is printed and goes to the archive. Under systemd the unit passes this file as "
        "the credential device.ed25519 (LoadCredential=), which the daemon reads instead.",
        example="/etc/evgw/keys/device.ed25519",
    )
    recipients: tuple[str, ...] = setting(
        default=(),
        help="age recipients every segment is encrypted to (at least one, here or in "
        "recipients_file): the central archive's public key, optionally an offline escrow key "
        "(here: archive first, escrow second). Only public keys: the gateway refuses to start "
        "if it finds an age identity (AGE-SECRET-KEY-…) in this file, beside it, or in "
        "data_dir.",
        check=recipient_list,
        example=(
            placeholder("ARCHIVE-AGE-RECIPIENT"),
            placeholder("ESCROW-AGE-RECIPIENT"),
        ),
    )
    recipients_file: Path | None = setting(
        default=None,
        help="A file with more recipients, one per line ('#' comments allowed).",
        example="/etc/evgw/recipients.txt",
        commented=True,
    )


@table
class DiscoveryTable:
    """``[discovery]`` as written; its credentials are the cameras' last fallback."""

    interface: str | None = setting(
        default=None,
        help="Network interface of the camera network; its IPv4 address is looked up at start.",
        check=checks.interface,
        example="eth1",
    )
    address: str | None = setting(
        default=None,
        help="Or this gateway's IPv4 address on the camera network: set interface or address, "
        "not both.",
        check=checks.ipv4,
        example="192.0.2.1",
        commented=True,
    )
    auto_enroll: bool = setting(
        default=False,
        help="Record ONVIF cameras found on the camera network that no [[cameras]] table "
        "names, with default settings, as camera id = their serial number (remembered in "
        "data_dir/enrolled.json, so the ids survive a restart); found, lost and re-found "
        "cameras are signed camera records and events. false: found cameras are only reported "
        "in the log. With it, the file may have no [[cameras]] table.",
    )
    probe_timeout_s: float = setting(
        default=3.0,
        help="Seconds to listen for WS-Discovery answers per probe.",
        check=checks.float_range(0.5, 30),
    )
    max_devices: int = setting(
        default=32,
        help="With auto_enroll: at most this many cameras are enrolled; further devices are "
        "refused (logged once and reported as a camera_refused event), so a stray device "
        "cannot fill the box.",
        check=checks.int_range(1, 256),
    )
    allow_scopes: tuple[str, ...] = setting(
        default=(),
        help="With auto_enroll: enrol only devices announcing one of these WS-Discovery scopes "
        "(each a scope or its beginning, compared ignoring case); empty allows any.",
        example=("onvif://www.onvif.org/location/store-room",),
        commented=True,
    )
    allow_manufacturers: tuple[str, ...] = setting(
        default=(),
        help="With auto_enroll: enrol only devices whose GetDeviceInformation manufacturer is "
        "one of these (ignoring case); empty allows any.",
        example=("Hikvision", "Dahua"),
        commented=True,
    )
    allow_addresses: tuple[str, ...] = setting(
        default=(),
        help="With auto_enroll: enrol only devices whose ONVIF service is in one of these "
        "networks (CIDR); empty allows any. Checked before any credential is sent.",
        check=checks.networks,
        example=("192.0.2.0/24",),
        commented=True,
    )
    rescan_interval_s: float = setting(
        default=60.0,
        help="With auto_enroll: seconds between probes for new, lost and returning cameras "
        "(a Hello from an unknown device is followed at once).",
        check=checks.float_range(1, 3600),
    )
    lost_after_s: float = setting(
        default=300.0,
        help="With auto_enroll: an enrolled camera that answers no probe for this long (or "
        "says Bye) is declared lost; it is declared re-found when it answers again. Longer "
        "than rescan_interval_s.",
        check=checks.float_range(1, 86400),
    )
    username: str | None = user_name(
        help="Default ONVIF user name for cameras without their own credentials (and for "
        "auto-enrolled cameras).",
        example="admin",
    )
    password: str | None = secret(help="Default ONVIF password; better in password_file.")
    password_file: Path | None = secret_file(
        "password", holding="the default ONVIF password", example="/etc/evgw/onvif.pass"
    )


@table
class CameraTable:
    """One ``[[cameras]]`` entry as written; unset keys fall back to the sections."""

    id: str = setting(
        help="Camera identifier, unique within this file (same characters as [gateway] id).",
        check=checks.slug,
        example="gate-1",
    )
    name: str | None = setting(
        default=None,
        help="Display name for the overlay and status (default: the id).",
        check=checks.text,
        example="一号卡口",
    )
    rtsp: str | None = setting(
        default=None,
        help="How to reach the camera: exactly one of rtsp, onvif or serial.\n"
        "rtsp: a fixed stream URL. Do not put credentials into the URL; use username and "
        "password/password_file.",
        check=checks.rtsp_url,
        example=f"rtsp://{placeholder('CAMERA-ADDRESS')}/Streaming/Channels/101",
    )
    onvif: str | None = setting(
        default=None,
        help="onvif: the camera's ONVIF device service; the stream URL is asked from the "
        "camera before every connect, so it may change. The camera is then known by its "
        "serial number (and WS-Discovery endpoint), not its IP address: when it moves, the "
        "recording follows it.",
        check=checks.http_url,
        example="http://192.0.2.10/onvif/device_service",
        commented=True,
    )
    serial: str | None = setting(
        default=None,
        help="serial: its serial number, found by WS-Discovery on the [discovery] network.",
        check=checks.serial,
        example="DS-2CD2043G2-I20230101AACH123456789",
        commented=True,
    )
    profile: str | None = setting(
        default=None,
        help="ONVIF media profile to record, by token or name (default: the profile with the "
        "highest resolution, then the highest frame rate). Only for onvif and serial cameras: "
        "an rtsp camera's URL already names its stream.",
        check=checks.text,
        example="MainStream",
        commented=True,
    )
    onvif_username: str | None = user_name(
        help="ONVIF user name (default: username/password below, else [discovery] "
        "username/password). Only for onvif and serial cameras.",
        example="onvif-user",
    )
    onvif_password: str | None = secret(help="ONVIF password; better in onvif_password_file.")
    onvif_password_file: Path | None = secret_file(
        "onvif_password", holding="the ONVIF password", example="/etc/evgw/gate-1.onvif.pass"
    )
    username: str | None = user_name(
        help="RTSP user name (for onvif and serial cameras it defaults to the ONVIF credentials).",
        example="admin",
        commented=False,
    )
    password: str | None = secret(
        help="RTSP password. Prefer password_file so this file holds no secrets. Passwords "
        "never appear in logs.",
        example=placeholder("CAMERA-PASSWORD"),
        commented=False,
    )
    password_file: Path | None = secret_file(
        "password", holding="the RTSP password", example="/etc/evgw/gate-1.pass"
    )
    stream_hosts: tuple[str, ...] = setting(
        default=(),
        help="Other hosts the ONVIF camera's stream URI may name (an NVR, a streaming proxy). "
        "By default the stream must come from the host of the camera's own ONVIF service, so "
        "a device that answers as this camera cannot send the recording (and the RTSP "
        "credentials) elsewhere; a stream elsewhere is refused with gap reason "
        "stream_host_refused. Only for onvif and serial cameras.",
        check=checks.host_list,
        example=("192.0.2.30",),
        commented=True,
    )
    onvif_ca_file: Path | None = setting(
        default=None,
        help="For an https ONVIF service: the CA certificate (PEM) that issued the camera's "
        "certificate. Without it or onvif_cert_sha256 the system's CAs must trust it; "
        "certificates are never accepted unchecked.",
        example="/etc/evgw/camera-ca.pem",
        commented=True,
    )
    onvif_cert_sha256: str | None = setting(
        default=None,
        help="For an https ONVIF service: the SHA-256 fingerprint of the camera's certificate, "
        "pinned (a refused connection's message shows the fingerprint presented; compare it "
        "with the one the camera's own web page shows).",
        check=checks.sha256_fingerprint,
        example="9f2c0a4b6e8d1f3a5c7e9b0d2f4a6c8e1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f0a",
        commented=True,
    )
    allow_basic_auth: bool = setting(
        default=False,
        help="Allow RTSP Basic authentication over plain rtsp://, which sends the password in "
        "clear. Off: a camera (or anyone answering in its place) that asks for Basic is "
        "refused before the password is sent, with gap reason insecure_auth; enable Digest "
        "on the camera or use rtsps:// instead.",
    )
    location: str | None = setting(
        default=None,
        help="Location name for this camera's overlay and records (default: [location] name).",
        check=checks.text,
        example="某某检查站 一号卡口",
    )
    overlay: Overlay | None = setting(
        default=None,
        help="Per-camera override of [recording] overlay.",
        example="burn_in",
    )
    segment_seconds: int | None = setting(
        default=None,
        help="Per-camera override of [recording] segment_seconds.",
        check=checks.segment_seconds,
        example=60,
    )
    enabled: bool = setting(
        default=True, help="Record this camera; false keeps the entry but does not record it."
    )
    osd: bool | None = setting(
        default=None,
        help="Per-camera override of [recording] osd (passthrough cameras set by onvif or "
        "serial only).",
        example=True,
        commented=True,
    )


SECTIONS = (
    Section("gateway", GatewayConfig, "This gateway.", required=True),
    Section("location", LocationConfig, "Where the gateway records.", required=True),
    Section("recording", RecordingConfig, "How every camera is recorded, unless it overrides."),
    Section(
        "keys",
        KeysTable,
        "Keys: the device signs, archive recipients decrypt. Only public keys live here.",
        required=True,
    ),
    Section("ledger", LedgerConfig, "Signed checkpoints over each camera's ledger."),
    Section("storage", StorageConfig, "The ring buffer on the local disk."),
    Section(
        "upload",
        UploadTable,
        "Central object storage (S3 API). Leave the whole section out to record without uploading.",
    ),
    Section(
        "mqtt",
        MqttTable,
        "Central monitoring over MQTT: state, health, camera health, events, alarms and signed "
        "commands under <topic_root>/<gateway id>/. Leave the whole section out to report "
        "nothing.",
    ),
    Section(
        "tsa",
        TsaTable,
        "RFC 3161 trusted time for checkpoints: each new checkpoint is timestamped by this "
        "time-stamping authority and the token uploaded beside it (checkpoints/<size>.tsr). "
        "Leave the whole section out to sign checkpoints with the gateway's clock only.",
    ),
    Section(
        "commands",
        CommandsTable,
        "Signed commands from central monitoring over MQTT (cmd/...): only operators listed "
        "here are obeyed, each command signed by the operator's key, fresh and used once "
        "(send them with `evgw command`). Leave the section out and every command is refused.",
    ),
    Section(
        "discovery",
        DiscoveryTable,
        "The camera network for ONVIF WS-Discovery (multicast 239.255.255.250:3702). Name the "
        "interface or give the address, not both. Leave both out (default) and discovery is "
        "off: cameras must then use rtsp or onvif, not serial, and a camera's moves to a new IP "
        "address are not followed.",
    ),
    Section(
        "cameras",
        CameraTable,
        "One [[cameras]] table per camera; at least one is required unless [discovery] "
        "auto_enroll = true.",
        array=True,
    ),
)
