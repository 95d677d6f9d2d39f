"""The catalogue's tables, version 1 (SQLAlchemy Core; portable types, no dialect SQL).

- `object_versions`: every object version (and delete marker) sync has listed, so a second
  run skips what it has seen; `judged` marks a segment object already matched to its record
  or reported without one; `vanished` one no longer listed (deleted for good).
- `records`: each accepted record (signature checked against the trusted key), its leaf
  and line hashes for the tree and the chain, and the state of its segment object.
- `checkpoints`: each signed checkpoint seen, with its signature verdict and whether it
  was found consistent with the records and the checkpoint before it.
- `findings`: what sync reported, each once (`first_seen`), never duplicated by re-runs:
  unique by the SHA-256 of kind, gateway, stream, seq and key, a bounded index whatever
  hostile names the bucket holds. Absent values are stored as '' or -1, never NULL.

Version 2 adds the companions written beside checkpoints:
- `witnessed`: each `.witnessed` object the witness step made (its bytes are kept from the
  moment they are signed, before the put, so a crash in between re-puts the same bytes and
  never makes a second cosignature) or adopted from the bucket; `version_id` is '' until the
  store confirmed it.
- `timestamps`: each `.tsr` token version listed, its bytes, and the verdict of
  `segments.timestamp.check_token` against the checkpoint beside it ('PENDING' until that
  checkpoint is catalogued).

Version 4 adds the desk's tables (`central.catalogue.desk_schema`) and `records.reason`.

Version 3 adds `audits`: when sync last listed a gateway's whole prefix (every other sync
lists only from where each stream's unsettled objects begin, `central.catalogue.resume`),
and `resolutions`: a finding a person looked into and closed, who, when and why (the
finding itself stays).

Gateway and stream names come from object keys, so their columns are as wide as a key.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

KEY = 1024  # S3's longest key, in bytes of UTF-8
HEX = 64

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", Float, nullable=False),
    Column("note", Text, nullable=False),
)

object_versions = Table(
    "object_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(KEY), nullable=False),
    Column("version_id", String(255), nullable=False),
    Column("prefix", String(KEY), nullable=False),  # <site>/<gateway>/ it was listed under
    Column("gateway", String(KEY), nullable=False),
    Column("what", String(16), nullable=False),  # record|checkpoint|media|companion|other
    Column("size", BigInteger, nullable=False),
    Column("last_modified", Float, nullable=False),
    Column("delete_marker", Boolean, nullable=False),
    Column("judged", Boolean, nullable=False),
    Column("vanished", Boolean, nullable=False),
    Column("seen_at", Float, nullable=False),
    UniqueConstraint("key", "version_id", name="object_versions_key_version"),
)
Index("object_versions_open", object_versions.c.gateway, object_versions.c.judged)
Index("object_versions_prefix", object_versions.c.prefix, object_versions.c.vanished)

records = Table(
    "records",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("gateway", String(64), nullable=False),
    Column("stream", String(KEY), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("start", Text, nullable=True),
    Column("end", Text, nullable=True),
    Column("leaf_hash", String(HEX), nullable=False),
    Column("record_hash", String(HEX), nullable=False),
    Column("prev", String(HEX), nullable=False),
    Column("object_key", String(KEY), nullable=False),
    Column("version_id", String(255), nullable=False),
    Column("uploaded_at", Float, nullable=False),
    Column("media_key", String(KEY), nullable=True),
    Column("sha256_cipher", String(HEX), nullable=True),
    Column("size_cipher", BigInteger, nullable=True),
    Column("media_state", String(16), nullable=False),  # none|pending|ok|missing|mismatch|purged
    # a `purge` record: the earlier segment it declares removed before upload, as it names it
    Column("purge_seq", BigInteger, nullable=True),
    Column("purge_sha256", String(HEX), nullable=True),
    Column("purge_size", BigInteger, nullable=True),
    # v4: a gap or boot record's signed `reason` (camera_offline, startup…), for the desk's
    # timeline; NULL for other kinds and for records catalogued before v4
    Column("reason", Text, nullable=True),
    UniqueConstraint("gateway", "stream", "seq", name="records_seq"),
)
Index("records_media", records.c.media_key)
Index("records_media_state", records.c.gateway, records.c.media_state)
Index("records_purges", records.c.gateway, records.c.stream, records.c.purge_seq)
records_uploaded = Index("records_uploaded", records.c.gateway, records.c.uploaded_at)  # v3

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("gateway", String(64), nullable=False),
    Column("stream", String(KEY), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("root", String(HEX), nullable=False),
    Column("time", Text, nullable=False),
    Column("time_ts", Float, nullable=False),
    Column("object_key", String(KEY), nullable=False),
    Column("version_id", String(255), nullable=False),
    Column("uploaded_at", Float, nullable=False),
    Column("signature_ok", Boolean, nullable=False),
    Column("state", String(16), nullable=False),  # pending|consistent|inconsistent|unsigned
    Column("consistent_with", BigInteger, nullable=True),  # size of the previous one
    UniqueConstraint("object_key", "version_id", name="checkpoints_object"),
)
Index("checkpoints_stream", checkpoints.c.gateway, checkpoints.c.stream, checkpoints.c.size)

findings = Table(
    "findings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("fingerprint", String(HEX), nullable=False, unique=True),  # Finding.fingerprint
    Column("kind", String(32), nullable=False),
    Column("gateway", String(KEY), nullable=False),
    Column("stream", String(KEY), nullable=False),  # '' when none
    Column("seq", BigInteger, nullable=False),  # -1 when none
    Column("object_key", String(KEY), nullable=False),  # '' when none
    Column("detail", Text, nullable=False),
    Column("first_seen", Float, nullable=False),
)
Index("findings_gateway", findings.c.gateway)

witnessed = Table(
    "witnessed",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("gateway", String(KEY), nullable=False),
    Column("stream", String(KEY), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("root", String(HEX), nullable=False),
    Column("checkpoint_key", String(KEY), nullable=False),
    Column("object_key", String(KEY), nullable=False, unique=True),  # the .witnessed key
    Column("body", LargeBinary, nullable=False),  # the witnessed file, as put
    Column("cosigned_at", BigInteger, nullable=False),  # the cosignature's timestamp
    Column("witnessed_at", Float, nullable=True),  # when the store confirmed it
    Column("version_id", String(255), nullable=False),  # '' until confirmed
    Column("adopted", Boolean, nullable=False),  # found in the bucket, not put by this catalogue
)
Index("witnessed_stream", witnessed.c.gateway, witnessed.c.stream, witnessed.c.size)

timestamps = Table(
    "timestamps",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("gateway", String(KEY), nullable=False),
    Column("stream", String(KEY), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("object_key", String(KEY), nullable=False),
    Column("version_id", String(255), nullable=False),
    Column("token", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),  # PENDING|TRUSTED|UNCHECKED|REFUSED
    Column("tsa_time", Text, nullable=True),
    Column("tsa", Text, nullable=True),
    Column("detail", Text, nullable=False),
    UniqueConstraint("object_key", "version_id", name="timestamps_object"),
)
Index("timestamps_stream", timestamps.c.gateway, timestamps.c.stream, timestamps.c.size)

audits = Table(
    "audits",
    metadata,
    Column("prefix", String(KEY), primary_key=True),  # <site>/<gateway>/
    Column("audited_at", Float, nullable=False),
    Column("versions", BigInteger, nullable=False),  # how many versions that listing held
)

resolutions = Table(
    "resolutions",
    metadata,
    Column("fingerprint", String(HEX), primary_key=True),  # the finding's
    Column("resolved_at", Float, nullable=False),
    Column("operator", String(255), nullable=False),
    Column("note", Text, nullable=False),
)
