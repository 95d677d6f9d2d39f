"""Load the archive's TOML configuration and validate it once into a frozen `CentralConfig`.

Every mistake is a `ConfigError` naming the file, the key path and the reason, as for the
gateway: an archive that starts has a reachable-looking store, parseable trusted keys and a
database URL it can use. Secrets (store keys, database password) may live in files, read here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from evgw.config.checks import shown_url
from evgw.config.fields import Scope, read_table, section, unknown_key
from evgw.config.secret_files import read_secret
from evgw.config.toml_file import parse_toml, read_config_text
from evgw.i18n import _
from segments.trust import TrustedKeys
from uplink.config_tables import mqtt_link, upload_config
from uplink.settings import MqttSettings, ObjectStoreSettings

from .tables import (
    SECTIONS,
    ArchiveTable,
    DatabaseTable,
    DeskTable,
    ExportTable,
    TrustTable,
    TsaTable,
    WitnessTable,
)
from .trust import trusted_keys

_NAMES = tuple(s.name for s in SECTIONS)
_REQUIRED = frozenset(s.name for s in SECTIONS if s.required)
DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


@dataclass(frozen=True)
class CentralConfig:
    """The archive's whole configuration; optional sections are None when left out."""

    path: Path
    store: ObjectStoreSettings
    workers: int  # parallel requests to the store
    archive: ArchiveTable
    trust: TrustedKeys
    database: URL
    witness: WitnessTable | None
    export: ExportTable | None
    tsa: TsaTable | None
    mqtt: MqttSettings | None  # the desk's link to the fleet's broker (no client id)
    desk: DeskTable | None


def load_central_config(path: Path) -> CentralConfig:
    """Read and validate the configuration file at `path`."""
    text = read_config_text(path)
    return parse_central_config(text, path)


def parse_central_config(text: str, path: Path) -> CentralConfig:
    """Validate TOML `text`; `path` names the file in messages and anchors relative paths."""
    data = parse_toml(text, path)
    top = Scope(path, "", "")
    for key in data:
        if key not in _NAMES:
            raise top.error(key, unknown_key(key, _NAMES))

    def part(name: str) -> tuple[Scope, Mapping[str, Any]]:
        return section(path, data, name, required=name in _REQUIRED)

    def optional(name: str, cls: type[Any]) -> Any:
        return read_table(*part(name), cls) if name in data else None

    store = upload_config(*part("store"))
    archive = read_table(*part("archive"), ArchiveTable)
    trust_scope, trust_raw = part("trust")
    trust = trusted_keys(trust_scope, read_table(trust_scope, trust_raw, TrustTable))
    return CentralConfig(
        path=path,
        store=store.store,
        workers=store.workers,
        archive=archive,
        trust=trust,
        database=_database(*part("database")),
        witness=optional("witness", WitnessTable),
        export=optional("export", ExportTable),
        tsa=optional("tsa", TsaTable),
        mqtt=mqtt_link(*part("mqtt"), None) if "mqtt" in data else None,
        desk=_desk(*part("desk")) if "desk" in data else None,
    )


def _database(scope: Scope, raw: Mapping[str, Any]) -> URL:
    """The URL with its driver made explicit, a relative SQLite path anchored at the file."""
    table = read_table(scope, raw, DatabaseTable)
    try:
        url = make_url(table.url)
    except ArgumentError as e:
        reason = _("not a database URL: {url!r}; e.g. sqlite:////var/lib/evgw-central/catalog.db")
        raise scope.error("url", reason.format(url=shown_url(table.url))) from e
    backend = url.get_backend_name()
    if backend not in DRIVERS:
        reason = _("database {backend!r} is not supported; use sqlite or postgresql")
        raise scope.error("url", reason.format(backend=backend))
    if url.drivername == backend:
        url = url.set(drivername=DRIVERS[backend])
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise scope.error(
                "url", _("name the SQLite file, e.g. sqlite:////var/lib/evgw-central/catalog.db")
            )
        url = url.set(database=str(scope.file.parent.absolute() / url.database))
    if table.password_file is not None:
        url = url.set(password=read_secret(scope, "password_file", table.password_file))
    return url


def _desk(scope: Scope, raw: Mapping[str, Any]) -> DeskTable:
    desk = read_table(scope, raw, DeskTable)
    if (desk.tls_cert is None) != (desk.tls_key is None):
        raise scope.error("tls_key", _("set tls_cert and tls_key together, or neither"))
    return desk
