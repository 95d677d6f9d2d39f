"""The desk's tables (schema version 4), beside the archive's in the same catalogue database.

Ingest (`central.desk.ingest`) writes the fleet's MQTT reports here; the web application
reads them and writes users, sessions, acknowledgements and the audit log.

- `desk_gateways`, `desk_cameras`: the newest report of each, as received (JSON text), and
  when it was heard; one row each, updated in place.
- `desk_gateway_samples`, `desk_camera_samples`: numbers for the 24 h plots, at most one row
  per gateway or camera and `sample_s` (ingest keeps the newest report and writes it then),
  deleted after `[desk] history_days`.
- `desk_alarms`: each alarm occurrence (gateway, camera, alarm, since) from raised to cleared,
  with its acknowledgement (who, when, comment); kept `history_days` after it cleared. At
  most one occurrence of a gateway, camera and alarm is open (cleared_at NULL) at a time.
- `desk_events`: the `events` topic, as received; kept `history_days`.
- `desk_changes`: one row, a counter ingest bumps with every batch it commits, so the web app
  (in this process or another) can tell pages to refresh by polling one number.
- `desk_users`, `desk_sessions`: accounts (argon2id hashes, roles) and logins (the SHA-256 of
  the session token, never the token).
- `desk_audit`: every login, acknowledgement, command and export: who, when, what. Append
  only: nothing in evgw updates or deletes its rows.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from .schema import HEX, KEY, metadata

NAME = 255

desk_gateways = Table(
    "desk_gateways",
    metadata,
    Column("gateway", String(NAME), primary_key=True),
    Column("state", String(16), nullable=False),  # online | offline | '' (none heard)
    Column("state_at", Float, nullable=True),
    Column("health", Text, nullable=True),  # the retained health JSON as received
    Column("health_at", Float, nullable=True),
    Column("alarms", Text, nullable=True),  # the retained alarms JSON as received
    Column("last_seen", Float, nullable=False),
)

desk_cameras = Table(
    "desk_cameras",
    metadata,
    Column("gateway", String(NAME), primary_key=True),
    Column("camera", String(NAME), primary_key=True),
    Column("health", Text, nullable=False),
    Column("last_seen", Float, nullable=False),
)

desk_gateway_samples = Table(
    "desk_gateway_samples",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("gateway", String(NAME), nullable=False),
    Column("ts", Float, nullable=False),
    Column("backlog_count", BigInteger, nullable=True),
    Column("backlog_bytes", BigInteger, nullable=True),
    Column("oldest_unconfirmed_age_s", Float, nullable=True),
    Column("minutes_left", Float, nullable=True),
    Column("disk_free_bytes", BigInteger, nullable=True),
    Column("disk_used_bytes", BigInteger, nullable=True),
    Column("cameras_recording", Integer, nullable=True),
    Column("cameras_total", Integer, nullable=True),
)
Index("desk_gateway_samples_at", desk_gateway_samples.c.gateway, desk_gateway_samples.c.ts)

desk_camera_samples = Table(
    "desk_camera_samples",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("gateway", String(NAME), nullable=False),
    Column("camera", String(NAME), nullable=False),
    Column("ts", Float, nullable=False),
    Column("online", Boolean, nullable=True),
    Column("recording", Boolean, nullable=True),
    Column("fps", Float, nullable=True),
    Column("bitrate_bps", Float, nullable=True),
    Column("last_frame_age_s", Float, nullable=True),
)
Index(
    "desk_camera_samples_at",
    desk_camera_samples.c.gateway,
    desk_camera_samples.c.camera,
    desk_camera_samples.c.ts,
)

desk_alarms = Table(
    "desk_alarms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("gateway", String(NAME), nullable=False),
    Column("camera", String(NAME), nullable=False),  # '' for the gateway itself
    Column("alarm", String(64), nullable=False),
    Column("since", Float, nullable=False),  # as the gateway reports it
    Column("detail", Text, nullable=False),
    Column("raised_at", Float, nullable=False),  # when the desk first saw it
    Column("cleared_at", Float, nullable=True),
    Column("acked_at", Float, nullable=True),
    Column("acked_by", String(NAME), nullable=True),
    Column("ack_comment", Text, nullable=True),
    UniqueConstraint("gateway", "camera", "alarm", "since", name="desk_alarms_occurrence"),
)
Index("desk_alarms_open", desk_alarms.c.cleared_at, desk_alarms.c.gateway)
_open = desk_alarms.c.cleared_at.is_(None)
Index(  # at most one open occurrence of an alarm, even with two desks ingesting at once
    "desk_alarms_one_open",
    desk_alarms.c.gateway,
    desk_alarms.c.camera,
    desk_alarms.c.alarm,
    unique=True,
    sqlite_where=_open,
    postgresql_where=_open,
)

desk_events = Table(
    "desk_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("gateway", String(NAME), nullable=False),
    Column("camera", String(NAME), nullable=False),  # '' when the event names none
    Column("kind", String(64), nullable=False),
    Column("ts", Float, nullable=False),  # the gateway's time
    Column("received_at", Float, nullable=False),
    Column("body", Text, nullable=False),
)
Index("desk_events_at", desk_events.c.gateway, desk_events.c.camera, desk_events.c.ts)

desk_changes = Table(
    "desk_changes",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("version", BigInteger, nullable=False),
)

desk_users = Table(
    "desk_users",
    metadata,
    Column("name", String(NAME), primary_key=True),
    Column("role", String(16), nullable=False),  # viewer | investigator | admin
    Column("password_hash", Text, nullable=False),  # argon2id
    Column("created_at", Float, nullable=False),
    Column("disabled", Boolean, nullable=False),
)

desk_sessions = Table(
    "desk_sessions",
    metadata,
    Column("token_sha256", String(HEX), primary_key=True),
    Column("user", String(NAME), nullable=False),
    Column("csrf", String(HEX), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

desk_audit = Table(
    "desk_audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", Float, nullable=False),
    Column("user", String(NAME), nullable=False),  # '' before a login succeeded
    Column("action", String(64), nullable=False),  # login, login_failed, ack, command, export…
    Column("target", String(KEY), nullable=False),
    Column("detail", Text, nullable=False),
    Column("address", String(64), nullable=False),  # the client's address
)
Index("desk_audit_at", desk_audit.c.at)

DESK_TABLES = [
    desk_gateways,
    desk_cameras,
    desk_gateway_samples,
    desk_camera_samples,
    desk_alarms,
    desk_events,
    desk_changes,
    desk_users,
    desk_sessions,
    desk_audit,
]
