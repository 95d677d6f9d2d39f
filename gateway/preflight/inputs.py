"""What the local checks look at, taken from the configuration even when it does not validate.

An installer fixing the example should learn in the same run that the device key is missing
or the data dir not writable, not only once every recipient is right. So when the file fails
validation, each key a check needs is read on its own; a check whose key is bad or missing
is skipped, that key being one of the problems already listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evgw.config.fields import Scope, read_key
from evgw.config.toml_file import parse_toml, read_config_text
from evgw.errors import ConfigError
from uplink.config_tables import MqttTable, UploadTable

from ..config import Config, GatewayConfig, LocationConfig, RecordingConfig
from ..config.tables import CameraTable, DiscoveryTable, KeysTable


@dataclass(frozen=True)
class BurnIn:
    """A camera whose picture gets text drawn into it, and the text the font must draw."""

    camera: str
    text: str


@dataclass(frozen=True)
class Inputs:
    config_path: Path
    signing_key: Path | None
    data_dir: Path | None
    tls_files: tuple[tuple[str, Path], ...]
    font_needed: bool
    burn_in: tuple[BurnIn, ...]


def from_config(config: Config) -> Inputs:
    burning = [c for c in config.cameras if c.enabled and c.overlay == "burn_in"]
    auto = config.discovery.auto_enroll and config.recording.overlay == "burn_in"
    tls: list[tuple[str, Path | None]] = []
    if config.mqtt is not None:
        link = config.mqtt.link
        tls += [("[mqtt] ca_file", link.ca_file), ("[mqtt] cert_file", link.cert_file)]
        tls.append(("[mqtt] key_file", link.key_file))
    if config.upload is not None and config.upload.store.ca_file:
        tls.append(("[upload] ca_file", Path(config.upload.store.ca_file)))
    return Inputs(
        config_path=config.path,
        signing_key=config.keys.signing_key,
        data_dir=config.gateway.data_dir,
        tls_files=tuple((key, path) for key, path in tls if path is not None),
        font_needed=bool(burning) or auto,
        burn_in=tuple(BurnIn(c.id, c.location + c.name) for c in burning),
    )


def from_file(path: Path) -> Inputs | None:
    """The inputs of a file that did not validate, or None when it is not even TOML."""
    try:
        data = parse_toml(read_config_text(path), path)
    except ConfigError:
        return None
    reader = _Reader(path, data)
    tls = [
        (f"[{section}] {key}", reader.key(section, table, key))
        for section, table, key in (
            ("mqtt", MqttTable, "ca_file"),
            ("mqtt", MqttTable, "cert_file"),
            ("mqtt", MqttTable, "key_file"),
            ("upload", UploadTable, "ca_file"),
        )
        if section in data
    ]
    overlay = reader.key("recording", RecordingConfig, "overlay")
    burning = reader.burn_in(overlay)
    auto = reader.key("discovery", DiscoveryTable, "auto_enroll") and overlay == "burn_in"
    return Inputs(
        config_path=path,
        signing_key=reader.key("keys", KeysTable, "signing_key"),
        data_dir=reader.key("gateway", GatewayConfig, "data_dir"),
        tls_files=tuple((key, value) for key, value in tls if value is not None),
        font_needed=bool(burning) or bool(auto),
        burn_in=burning,
    )


@dataclass(frozen=True)
class _Reader:
    path: Path
    data: Mapping[str, Any]

    def key(self, section: str, table: type[Any], name: str) -> Any:
        """The key's checked value, None when it is bad or its section is not a table."""
        raw = self.data.get(section, {})
        return self._read(Scope(self.path, f"[{section}]", " "), raw, table, name)

    def burn_in(self, overlay: str | None) -> tuple[BurnIn, ...]:
        place = self.key("location", LocationConfig, "name") or ""
        entries = self.data.get("cameras", [])
        found: list[BurnIn] = []
        for index, raw in enumerate(entries if isinstance(entries, list) else []):
            scope = Scope(self.path, f"cameras[{index}]", ".")
            camera_id = self._read(scope, raw, CameraTable, "id")
            own = self._read(scope, raw, CameraTable, "overlay") or overlay
            enabled = self._read(scope, raw, CameraTable, "enabled")
            if camera_id is None or own != "burn_in" or enabled is False:
                continue
            name = self._read(scope, raw, CameraTable, "name") or camera_id
            location = self._read(scope, raw, CameraTable, "location") or place
            found.append(BurnIn(camera_id, location + name))
        return tuple(found)

    @staticmethod
    def _read(scope: Scope, raw: object, table: type[Any], name: str) -> Any:
        if not isinstance(raw, Mapping):
            return None
        try:
            return read_key(scope, raw, table, name)
        except ConfigError:
            return None
