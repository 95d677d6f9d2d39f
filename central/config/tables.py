"""The archive file's layout: its sections in order, each table's keys declared once.

`SECTIONS` drives both the loader (allowed and required sections) and the example file
(order and comments). ``[store]`` reuses the gateway's ``[upload]`` declaration: the same
keys reach the same bucket; the desk's ``[mqtt]`` the link keys of the gateway's ``[mqtt]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from evgw.config import checks
from evgw.config.fields import Section, setting, table
from uplink.config_tables import MqttLinkTable, UploadTable

MiB = 1 << 20
EXAMPLE_KEY = "ed25519:T6KRAmGU4tE88FqpEj0zWa5xSyll4ktaYLCmWcul1GU="


@table
class ArchiveTable:
    """``[archive]``: who this archive is and how sync judges what it lists."""

    id: str = setting(
        help="This archive's name: packages it signs are trusted as archive:<id>.",
        check=checks.slug,
        example="hq",
    )
    identity_file: Path = setting(
        help="The archive's age identity (AGE-SECRET-KEY-…), mode 0600: the only key that "
        "decrypts segments. It lives here and nowhere else; `evgw keygen --archive` makes it. "
        "Only retrieval reads it; sync never does.",
        example="/etc/evgw-central/archive.agekey",
    )
    settle_s: float = setting(
        default=3600.0,
        help="Seconds an object may wait for its partner before sync calls it missing: the "
        "gateway uploads a segment and its record separately (in parallel), so a record "
        "younger than this without its segment object, or a segment object without its "
        "record, is pending, not yet a finding.",
        check=checks.float_range(0, 30 * 86400),
    )
    audit_interval_h: float = setting(
        default=24.0,
        help="Hours between audits of a gateway: a sync that lists the gateway's whole prefix, "
        "the only listing that finds a new version of an object settled long ago, a deletion, "
        "or a record or token uploaded more than settle_s after its neighbours. Other syncs "
        "list each camera only from its oldest unsettled object, so their cost follows what "
        "arrived, not what the bucket keeps. 0 audits on every sync; `evgw archive sync "
        "--audit` audits now.",
        check=checks.float_range(0, 366 * 24),
    )
    max_object_bytes: int = setting(
        default=64 * 1024,
        help="Largest record or checkpoint object sync reads; a larger one is a finding "
        "(records are about 1 KiB), never read into memory.",
        check=checks.int_range(1024, 16 * MiB),
    )


@table
class TrustTable:
    """``[trust]``: the device key of every gateway whose records the archive accepts."""

    keys: Mapping[str, str] | None = setting(
        default=None,
        help="Gateway id -> its device public key as `evgw keygen` printed it at enrolment. "
        "A gateway listed nowhere (here or in keys_dir) is reported as untrusted and none "
        "of its objects is accepted.",
        example={"gw-post-01": EXAMPLE_KEY},
    )
    keys_dir: Path | None = setting(
        default=None,
        help="A folder of <gateway id>.pub files, one device public key each (added to keys; "
        "a gateway in both keeps both keys, as after a key rotation).",
        example="/etc/evgw-central/gateways",
        commented=True,
    )


@table
class DatabaseTable:
    """``[database]``: the catalogue."""

    url: str = setting(
        help="SQLAlchemy URL of the catalogue: sqlite:////absolute/path.db for one archive, "
        "postgresql+psycopg://user@host/db for a fleet (keep the password in password_file).",
        check=checks.text,
        example="sqlite:////var/lib/evgw-central/catalog.db",
    )
    password_file: Path | None = setting(
        default=None,
        help="File holding the database password, read at start; it replaces any password in "
        "url, so the configuration holds none.",
        example="/etc/evgw-central/db.pass",
        commented=True,
    )


@table
class WitnessTable:
    """``[witness]``: the archive co-signs every consistent checkpoint as a witness."""

    name: str = setting(
        help="The witness name in co-signatures (C2SP tlog-cosignature): a stable, "
        "schema-less URL-like name.",
        check=checks.text,
        example="archive.example.gov/witness",
    )
    signing_key: Path = setting(
        help="The witness's Ed25519 key file (mode 0600), made with `evgw archive keygen "
        "--witness --out DIR`.",
        example="/etc/evgw-central/witness.ed25519",
    )


@table
class ExportTable:
    """``[export]``: packages exported at headquarters are signed with this key."""

    signing_key: Path = setting(
        help="The archive's Ed25519 export key file (mode 0600), made with `evgw archive "
        "keygen --export --out DIR`; court experts trust its public key as archive:<[archive] "
        "id>.",
        example="/etc/evgw-central/export.ed25519",
    )


@table
class TsaTable:
    """``[tsa]``: the time-stamping authority whose RFC 3161 tokens the archive checks."""

    url: str = setting(
        help="The TSA's URL.", check=checks.http_url, example="https://tsa.example.gov/tsr"
    )
    ca_file: Path = setting(
        help="The TSA's CA certificate(s), PEM: tokens beside checkpoints must chain to it, "
        "else sync reports them (timestamp_refused).",
        example="/etc/evgw-central/tsa-ca.pem",
    )


@table
class DeskTable:
    """``[desk]``: the monitoring desk web application (`evgw desk`)."""

    listen: str = setting(
        default="127.0.0.1:8080",
        help="Address and port the desk serves on. Put it behind the site's reverse proxy or "
        "give it tls_cert and tls_key.",
        check=checks.listen_address,
    )
    tls_cert: Path | None = setting(
        default=None,
        help="Certificate chain (PEM) to serve HTTPS; set tls_cert and tls_key together. "
        "Session cookies are then marked Secure.",
        example="/etc/evgw-central/desk.pem",
        commented=True,
    )
    tls_key: Path | None = setting(
        default=None,
        help="Private key (PEM, mode 0600) of tls_cert.",
        example="/etc/evgw-central/desk.key",
        commented=True,
    )
    operator_key: Path | None = setting(
        default=None,
        help="The desk's operator Ed25519 key (mode 0600, `evgw keygen --operator`): signs the "
        "hold, release and priority-upload commands sent from the desk. Gateways obey it only "
        "if their [commands] operators list its public key. Without it the desk sends none.",
        example="/etc/evgw-central/desk-operator.ed25519",
    )
    metrics_allow: tuple[str, ...] = setting(
        default=("127.0.0.1/32",),
        help="Networks that may scrape /metrics (Prometheus) without a session.",
        check=checks.networks,
    )
    metrics_token_file: Path | None = setting(
        default=None,
        help="A file holding a bearer token that also admits a /metrics scrape from anywhere.",
        example="/etc/evgw-central/metrics.token",
        commented=True,
    )
    history_days: int = setting(
        default=30,
        help="Days of health samples, alarms and events the desk keeps in the catalogue "
        "database; older ones are deleted (the audit log is kept).",
        check=checks.int_range(1, 3660),
    )
    stale_after_s: float = setting(
        default=60.0,
        help="A gateway or camera not heard from for this long is shown stale (at least 3x "
        "the gateways' [mqtt] health_interval_s).",
        check=checks.float_range(5, 86400),
    )
    ingest: bool = setting(
        default=True,
        help="Whether this desk subscribes to the fleet's MQTT topics and stores them. Several "
        "desks on one PostgreSQL: let one (or a pair with ingest_group) ingest.",
    )
    ingest_group: str = setting(
        default="",
        help="With a name (letters, digits, _.-), ingest through an MQTT 5 shared subscription "
        "$share/<name>/... so several ingesting desks split the live messages; each also reads "
        "the retained values once at every connect. Empty: an ordinary subscription.",
        check=checks.topic_level_or_empty,
    )
    sample_s: float = setting(
        default=60.0,
        help="Seconds between two stored samples of one gateway or camera (the history plots); "
        "reports in between only update the current values. 0 stores every report.",
        check=checks.float_range(0, 3600),
    )
    session_hours: float = setting(
        default=12.0,
        help="Hours a login lasts.",
        check=checks.float_range(0.1, 24 * 30),
    )
    exports_dir: Path | None = setting(
        default=None,
        help="Folder the desk writes case packages into, one sub-folder per export (downloaded "
        "as a .tar). Unset: desk-exports beside a SQLite catalogue; with PostgreSQL set it.",
        example="/var/lib/evgw-central/desk-exports",
        commented=True,
    )


SECTIONS = (
    Section(
        "store",
        UploadTable,
        "Central object storage (S3 API): the bucket the gateways upload to, with the same keys "
        "as a gateway's [upload]. The archive only reads it (and writes co-signatures beside "
        "checkpoints); give it read-only credentials where the store allows. workers is the number "
        "of parallel requests; retention_days and max_bytes_per_second apply to what the "
        "archive writes.",
        required=True,
    ),
    Section("archive", ArchiveTable, "This archive.", required=True),
    Section(
        "trust",
        TrustTable,
        "Trusted device keys, by gateway id: origin comes only from here, never from a key the "
        "evidence names. Set keys, keys_dir or both.",
        required=True,
    ),
    Section("database", DatabaseTable, "The catalogue database.", required=True),
    Section(
        "witness",
        WitnessTable,
        "Witness co-signatures over consistent checkpoints. Leave the section out to co-sign "
        "nothing.",
    ),
    Section(
        "export",
        ExportTable,
        "Case export at headquarters. Leave the section out and `evgw archive export` refuses.",
    ),
    Section(
        "tsa",
        TsaTable,
        "RFC 3161 timestamps over checkpoints. Leave the section out to leave tokens unchecked.",
    ),
    Section(
        "mqtt",
        MqttLinkTable,
        "The fleet's MQTT broker, for the desk: the same link keys as a gateway's [mqtt]. "
        "Leave the section out for an archive without a desk.",
    ),
    Section("desk", DeskTable, "The monitoring desk (`evgw desk`)."),
)
