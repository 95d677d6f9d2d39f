"""Load the gateway's TOML configuration and validate it once into frozen, typed records.

Bad configuration must fail at start, not hours later in a recording thread, so every
problem raises `ConfigError` naming the file, the key path and the reason; all of them
together (`ConfigProblems`), so an installer fixes the file in one pass. Each key is
declared once (`fields.setting`) and read by one generic mapper; what spans keys lives in the
small builders below: exactly one camera source, a password inline or in a file, lat with
lon, serial cameras needing discovery, credentials falling back camera → ``[discovery]``.

A camera is reached by exactly one of ``rtsp`` (a fixed URL), ``onvif`` (its ONVIF device
service, asked for the stream URL) or ``serial`` (found by WS-Discovery on the camera network
named in ``[discovery]``); ONVIF credentials are resolved here, camera before section.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from evgw.config.checks import Invalid
from evgw.config.fields import Scope, describe, read_table, section, unknown_key
from evgw.config.problems import Collector
from evgw.config.secret_files import optional_secret, read_secret
from evgw.config.toml_file import parse_toml, read_config_text
from evgw.errors import ConfigError
from evgw.i18n import _
from uplink.config_tables import mqtt_config, upload_config

from .commands import commands_config
from .model import (
    CameraConfig,
    Config,
    DiscoveryConfig,
    GatewayConfig,
    KeysConfig,
    LedgerConfig,
    LocationConfig,
    RecordingConfig,
    StorageConfig,
)
from .recipients import recipient_list
from .tables import SECTIONS, CameraTable, DiscoveryTable, KeysTable
from .tsa import tsa_settings

AGE_IDENTITY_MARK = "AGE-SECRET-KEY-1"
_NAMES = tuple(s.name for s in SECTIONS)
_REQUIRED = frozenset(s.name for s in SECTIONS if s.required)
_SOURCES = ("rtsp", "onvif", "serial")
_ONVIF_ONLY = (
    "profile",
    "onvif_username",
    "onvif_password",
    "onvif_password_file",
    "stream_hosts",
    "onvif_ca_file",
    "onvif_cert_sha256",
)
T = TypeVar("T")


def load_config(path: Path) -> Config:
    """Read and validate the configuration file at `path`."""
    text = read_config_text(path)
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    """Validate TOML `text`; `path` names the file in messages and anchors relative paths.

    Password files named by the configuration are read here, so a missing secret fails at
    start like any other configuration error.
    """
    refuse_age_identity(text, path)
    return config_from_mapping(parse_toml(text, path), path)


def refuse_age_identity(text: str, path: Path) -> None:
    """No decryption key may sit in the configuration file, even commented out."""
    if AGE_IDENTITY_MARK in text.upper():
        why = _(
            "holds an age identity (AGE-SECRET-KEY-…): no decryption key may live on the "
            "gateway; keep it at the central archive and put only its age1… recipient here"
        )
        raise ConfigError(f"{path}: {why}")


def config_from_mapping(data: Mapping[str, Any], path: Path) -> Config:
    """Validate already-parsed TOML data (as `tomllib` returns it) into a `Config`.

    Every problem is reported (`ConfigProblems`): each section is checked even when another
    failed; cameras are checked with the defaults of a failed [location] or [recording], and
    skipped only when [discovery], which decides how they may be reached, failed.
    """
    top = Scope(path, "", "")
    problems = Collector()
    for key in data:
        if key not in _NAMES:
            problems.add(top.error(key, unknown_key(key, _NAMES)))

    def part(name: str) -> tuple[Scope, Mapping[str, Any]]:
        return section(path, data, name, required=name in _REQUIRED)

    def optional(name: str, build: Callable[[], T]) -> T | None:
        return problems.attempt(build) if name in data else None

    gateway = problems.attempt(lambda: read_table(*part("gateway"), GatewayConfig))
    location = problems.attempt(lambda: _location(*part("location")))
    recording = problems.attempt(lambda: read_table(*part("recording"), RecordingConfig))
    discovery = problems.attempt(lambda: _discovery(*part("discovery")))
    cameras: tuple[CameraConfig, ...] | None = None
    if discovery is not None:
        cameras = _cameras(
            path,
            data,
            location or LocationConfig(name=""),
            recording or RecordingConfig(),
            discovery,
            problems,
        )
    keys = problems.attempt(lambda: _keys(*part("keys")))
    ledger = problems.attempt(lambda: read_table(*part("ledger"), LedgerConfig))
    storage = problems.attempt(lambda: read_table(*part("storage"), StorageConfig))
    upload = optional("upload", lambda: upload_config(*part("upload")))
    gateway_id = gateway.id if gateway is not None else "gateway"
    mqtt = optional("mqtt", lambda: mqtt_config(*part("mqtt"), gateway_id))
    commands = problems.attempt(lambda: commands_config(*part("commands")))
    tsa = optional("tsa", lambda: tsa_settings(*part("tsa")))
    problems.done()
    assert gateway and location and recording and discovery and keys and ledger and storage
    assert cameras is not None and commands is not None
    return Config(
        path,
        gateway,
        location,
        recording,
        keys,
        ledger,
        storage,
        discovery,
        cameras,
        upload,
        mqtt,
        commands,
        tsa,
    )


def _location(scope: Scope, raw: Mapping[str, Any]) -> LocationConfig:
    location = read_table(scope, raw, LocationConfig)
    for key, other in (("lat", "lon"), ("lon", "lat")):
        if getattr(location, key) is not None and getattr(location, other) is None:
            reason = _("missing; {key} and {other} go together (set both or neither)").format(
                key=key, other=other
            )
            raise scope.error(other, reason)
    return location


def _keys(scope: Scope, raw: Mapping[str, Any]) -> KeysConfig:
    table = read_table(scope, raw, KeysTable)
    recipients = list(table.recipients)
    if table.recipients_file is not None:
        file = table.recipients_file
        text = read_secret(scope, "recipients_file", file)
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        try:
            recipients += recipient_list(lines)
        except Invalid as e:
            raise scope.error("recipients_file", f"{str(file)!r}: {e}") from e
    if not recipients:
        raise scope.error(
            "recipients",
            _(
                "at least one age recipient (age1…) is needed: the central archive's public key "
                "(`evgw keygen --archive` prints one); or set recipients_file"
            ),
        )
    return KeysConfig(signing_key=table.signing_key, recipients=tuple(recipients))


def _discovery(scope: Scope, raw: Mapping[str, Any]) -> DiscoveryConfig:
    table = read_table(scope, raw, DiscoveryTable)
    if table.interface is not None and table.address is not None:
        raise scope.error("address", _("set either interface or address, not both"))
    if table.auto_enroll and table.interface is None and table.address is None:
        raise scope.error(
            "auto_enroll", _("needs the camera network: set interface (e.g. eth1) or address")
        )
    password = optional_secret(scope, "password", table.password, table.password_file)
    if password is not None and table.username is None:
        raise scope.error("username", _("missing; a password needs a username"))
    if table.lost_after_s <= table.rescan_interval_s:
        raise scope.error(
            "lost_after_s",
            _(
                "must be longer than rescan_interval_s ({interval:g}), or every camera would "
                "be declared lost between two probes"
            ).format(interval=table.rescan_interval_s),
        )
    return DiscoveryConfig(
        interface=table.interface,
        address=table.address,
        auto_enroll=table.auto_enroll,
        probe_timeout_s=table.probe_timeout_s,
        username=table.username,
        password=password,
        max_devices=table.max_devices,
        allow_scopes=table.allow_scopes,
        allow_manufacturers=table.allow_manufacturers,
        allow_addresses=table.allow_addresses,
        rescan_interval_s=table.rescan_interval_s,
        lost_after_s=table.lost_after_s,
    )


def _cameras(
    path: Path,
    data: Mapping[str, Any],
    location: LocationConfig,
    recording: RecordingConfig,
    discovery: DiscoveryConfig,
    problems: Collector,
) -> tuple[CameraConfig, ...]:
    top = Scope(path, "", "")
    entries = data.get("cameras", [])
    if not isinstance(entries, list):
        reason = _("must be an array of tables ([[cameras]]), got {got}").format(
            got=describe(entries)
        )
        problems.add(top.error("cameras", reason))
        return ()
    if not entries and not discovery.auto_enroll:
        problems.add(
            top.error(
                "cameras",
                _(
                    "no camera to record: add a [[cameras]] table, or set [discovery] "
                    "auto_enroll = true (with interface or address) to record the cameras found "
                    "on the network"
                ),
            )
        )
    cameras: list[CameraConfig] = []
    first_index: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(entries):
        scope = Scope(path, f"cameras[{index}]", ".")
        if not isinstance(entry, dict):
            reason = _("must be a table ([[cameras]]), got {got}").format(got=describe(entry))
            problems.add(scope.error(None, reason))
            continue
        camera = problems.attempt(partial(_camera, scope, entry, location, recording, discovery))
        if camera is None:
            continue
        for key in ("id", "onvif", "serial"):
            value = getattr(camera, key)
            if value is None:
                continue
            if (key, value) in first_index:
                also = first_index[key, value]
                reason = _("duplicate camera {key} {value!r} (also cameras[{also}])").format(
                    key=key, value=value, also=also
                )
                problems.add(scope.error(key, reason))
            first_index.setdefault((key, value), index)
        cameras.append(camera)
    return tuple(cameras)


def _camera(
    scope: Scope,
    raw: Mapping[str, Any],
    location: LocationConfig,
    recording: RecordingConfig,
    discovery: DiscoveryConfig,
) -> CameraConfig:
    """One entry, resolved: unset overrides take the sections' values; ONVIF credentials fall
    back camera → ``[discovery]``, and an ONVIF camera's RTSP credentials to its ONVIF ones."""
    table = read_table(scope, raw, CameraTable)
    sources = [key for key in _SOURCES if getattr(table, key) is not None]
    if len(sources) != 1:
        reason = _(
            "set exactly one of rtsp (a stream URL), onvif (the camera's ONVIF device service "
            "URL) or serial (a camera found by discovery)"
        )
        if sources:
            reason = _(
                "set exactly one of rtsp (a stream URL), onvif (the camera's ONVIF device "
                "service URL) or serial (a camera found by discovery) (got {sources})"
            ).format(sources=", ".join(sources))
        raise scope.error(None, reason)
    password = optional_secret(scope, "password", table.password, table.password_file)
    onvif_password = optional_secret(
        scope, "onvif_password", table.onvif_password, table.onvif_password_file
    )
    if table.rtsp is not None:
        for key in _ONVIF_ONLY:
            if getattr(table, key) not in (None, ()):
                reason = _("only applies to cameras set by onvif or serial, not rtsp")
                raise scope.error(key, reason)
    if table.onvif_ca_file is not None and not table.onvif_ca_file.is_file():
        reason = _("no such file: {path}").format(path=table.onvif_ca_file)
        raise scope.error("onvif_ca_file", reason)
    if onvif_password is not None and table.onvif_username is None:
        raise scope.error("onvif_username", _("missing; onvif_password needs onvif_username"))
    if table.serial is not None and not discovery.enabled:
        raise scope.error(
            "serial",
            _(
                "finding a camera by serial needs the camera network: set [discovery] interface "
                "(e.g. eth1) or address"
            ),
        )
    onvif_credentials = (table.onvif_username, onvif_password)
    if table.onvif_username is None:
        onvif_credentials = (table.username, password)
        if table.username is None:
            onvif_credentials = (discovery.username, discovery.password)
    rtsp_credentials = (table.username, password)
    if table.rtsp is None and table.username is None:
        rtsp_credentials = onvif_credentials
    uses_onvif = table.rtsp is None
    return CameraConfig(
        id=table.id,
        name=_or(table.name, table.id),
        rtsp=table.rtsp,
        username=rtsp_credentials[0],
        password=rtsp_credentials[1],
        location=_or(table.location, location.name),
        overlay=_or(table.overlay, recording.overlay),
        segment_seconds=_or(table.segment_seconds, recording.segment_seconds),
        enabled=table.enabled,
        onvif=table.onvif,
        serial=table.serial,
        profile=table.profile,
        onvif_username=onvif_credentials[0] if uses_onvif else None,
        onvif_password=onvif_credentials[1] if uses_onvif else None,
        stream_hosts=table.stream_hosts,
        allow_basic_auth=table.allow_basic_auth,
        onvif_ca_file=table.onvif_ca_file,
        onvif_cert_sha256=table.onvif_cert_sha256,
        osd=_osd(scope, table, recording, uses_onvif),
    )


def _osd(scope: Scope, table: CameraTable, recording: RecordingConfig, uses_onvif: bool) -> bool:
    """[recording] osd for the cameras it can apply to; a camera's own osd = true must fit."""
    passthrough = _or(table.overlay, recording.overlay) == "passthrough"
    if table.osd and not uses_onvif:
        reason = _("needs a camera set by onvif or serial: OSD is set over ONVIF")
        raise scope.error("osd", reason)
    if table.osd and not passthrough:
        raise scope.error("osd", _('applies to overlay = "passthrough" (burn_in draws its own)'))
    return _or(table.osd, recording.osd) and uses_onvif and passthrough


def _or(value: T | None, fallback: T) -> T:
    return fallback if value is None else value
