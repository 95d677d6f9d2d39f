"""Run a sync: for each gateway prefix, list new object versions, judge them, settle the rest.

Incremental by construction: a listed version already in the catalogue is skipped before
anything is fetched or verified, so a second run over an unchanged bucket only lists; and
it lists each stream only from where its unsettled objects begin (`scope`), except in an
audit, the whole-prefix listing run every `[archive] audit_interval_h` or on demand, which
alone finds versions that vanished. What
waits for a partner (a checkpoint for its records, a record for its segment) is judged again
from the catalogue alone. Each gateway's work commits in one transaction: a crash mid-sync
leaves that gateway as it was, and the next run redoes it.

Checkpoints newly found consistent are handed to `on_consistent` after their gateway's
work is committed: the one place where the witness step co-signs them. The objects beside
checkpoints (the archive's `.witnessed`, the gateway's `.tsr`) are judged by `companions`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field

from ..catalogue.companions import StreamTime, newest_times
from ..catalogue.db import Catalogue, SeenVersion, Tx
from ..catalogue.resolutions import Resolution, resolved
from ..catalogue.resume import last_audit, record_audit, resume_points
from ..config import CentralConfig
from ..findings import (
    DELETED,
    OVERSIZED,
    OVERWRITE,
    UNKNOWN_OBJECT,
    UNTRUSTED_GATEWAY,
    VANISHED,
    Finding,
)
from .bucket import Bucket, Version
from .checkpoints import ConsistentCheckpoint, catalogue_checkpoint, judge_checkpoint, settle_stream
from .companions import CompanionTrust, judge_companion, settle_tokens
from .media import settle_media
from .object_names import (
    CHECKPOINT,
    COMPANION,
    MEDIA,
    OTHER,
    RECORD,
    ObjectName,
    gateway_of,
    parse_key,
)
from .records import Accepted, catalogue_record, judge_record
from .scope import Range, resumed, whole

CHUNK = 256
"""New versions judged per batch: their reads run in parallel, their bytes (at most
CHUNK x max_object_bytes) are all that is held at once."""
ProgressFn = Callable[[str, int, int], None]
"""(gateway, done, total) as new versions of that gateway are judged."""


@dataclass
class SyncCounts:
    gateways: int = 0
    audited: int = 0  # gateways whose prefix was listed whole
    listed: int = 0
    new_versions: int = 0
    fetched: int = 0
    records: int = 0
    checkpoints: int = 0
    consistent: int = 0
    pending_checkpoints: int = 0
    waiting_segments: int = 0
    purged_segments: int = 0  # declared evicted before upload by a signed purge record
    new_findings: int = 0


@dataclass
class SyncResult:
    counts: SyncCounts
    gateways: list[str]
    findings: list[tuple[Finding, float]]
    new_findings: list[Finding] = field(default_factory=list)
    consistent: list[ConsistentCheckpoint] = field(default_factory=list)
    times: list[StreamTime] = field(default_factory=list)  # newest checkpoint's token per stream
    resolved: dict[str, Resolution] = field(default_factory=dict)  # by finding fingerprint

    @property
    def open_findings(self) -> list[Finding]:
        """The stored findings no one has resolved: what makes a sync exit 1."""
        return [f for f, _ in self.findings if f.fingerprint not in self.resolved]


class ArchiveSync:
    def __init__(
        self,
        config: CentralConfig,
        catalogue: Catalogue,
        bucket: Bucket,
        *,
        progress: ProgressFn | None = None,
        on_consistent: Callable[[Sequence[ConsistentCheckpoint]], None] | None = None,
        companions: CompanionTrust | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.catalogue = catalogue
        self.bucket = bucket
        self._progress = progress
        self._on_consistent = on_consistent
        self._companions = companions or CompanionTrust()
        self._clock = clock
        self._pool: Executor

    def run(self, gateways: Collection[str] | None = None, *, audit: bool = False) -> SyncResult:
        """Sync every gateway prefix in the bucket, or only those of `gateways`; `audit` lists
        each prefix whole, however recent its last audit."""
        counts = SyncCounts()
        result = SyncResult(counts, [], [])
        with ThreadPoolExecutor(self.config.workers, thread_name_prefix="archive-read") as pool:
            self._pool = pool
            self._sync(gateways, audit, result)
        counts.new_findings = len(result.new_findings)
        counts.consistent = len(result.consistent)
        result.findings = self.catalogue.findings(result.gateways)
        result.resolved = resolved(self.catalogue, result.gateways)
        with self.catalogue.transaction() as tx:
            result.times = newest_times(tx, result.gateways)
        return result

    def _sync(self, gateways: Collection[str] | None, audit: bool, result: SyncResult) -> None:
        counts = result.counts
        for prefix in self.bucket.gateway_prefixes(gateways):
            where = gateway_of(prefix)
            assert where is not None
            counts.gateways += 1
            if where[1] not in result.gateways:
                result.gateways.append(where[1])
            with self.catalogue.transaction() as tx:
                new, consistent = self._gateway(tx, prefix, where[1], audit, counts)
            result.new_findings += new
            result.consistent += consistent
            if consistent and self._on_consistent is not None:
                self._on_consistent(consistent)

    def _gateway(
        self, tx: Tx, prefix: str, gateway: str, audit: bool, counts: SyncCounts
    ) -> tuple[list[Finding], list[ConsistentCheckpoint]]:
        found: list[Finding] = []
        if self.config.trust.for_subject(gateway) is None:
            why = f"{self.config.trust.unlisted(gateway)}; its objects under {prefix} are not read"
            finding = Finding(UNTRUSTED_GATEWAY, gateway, why, key=prefix)
            return ([finding] if tx.add_finding(finding) else []), []
        now, settle_s = self._clock(), self.config.archive.settle_s
        audit = audit or self._audit_due(tx, prefix, now)
        recent_since = now - max(settle_s, self.config.archive.audit_interval_h * 3600)
        ranges = whole(prefix) if audit else self._ranges(tx, prefix, gateway, recent_since)
        new, listed = self._new_versions(tx, ranges, counts)
        for start in range(0, len(new), CHUNK):
            chunk = new[start : start + CHUNK]
            readable = [v for v in chunk if self._readable(v)]
            limit = self.config.archive.max_object_bytes
            data = dict(
                zip(readable, self.bucket.read_many(readable, limit, self._pool), strict=True)
            )
            counts.fetched += len(readable)
            for done, version in enumerate(chunk, start + 1):
                found += self._judge(tx, prefix, version, data, counts)
                if self._progress is not None:
                    self._progress(gateway, done, len(new))
        found += [
            Finding(OVERWRITE, gateway, f"{n} versions of a key the gateway writes once",
                    _stream_of(k), key=k)
            for k, n in sorted(tx.version_counts(v.key for v in new).items())
        ]  # fmt: skip
        if audit:
            counts.audited += 1
            if tx.count_present(prefix) > listed:
                found += self._vanished(tx, prefix)
            record_audit(tx, prefix, now, listed)
        found += settle_media(tx, self.bucket, self._pool, gateway, settle_s, now)
        limit = self.config.archive.max_object_bytes
        found += settle_tokens(tx, self.bucket, gateway, self._companions, limit)
        consistent: list[ConsistentCheckpoint] = []
        for stream in tx.pending_streams(gateway):
            more, ok = settle_stream(tx, gateway, stream, now - settle_s)
            found += more
            consistent += ok
        counts.pending_checkpoints += tx.count_checkpoints(gateway, "pending")
        counts.waiting_segments += tx.count_media_state(gateway, "pending")
        counts.purged_segments += tx.count_media_state(gateway, "purged")
        return [f for f in found if tx.add_finding(f)], consistent

    def _audit_due(self, tx: Tx, prefix: str, now: float) -> bool:
        last = last_audit(tx, prefix)
        return last is None or now - last >= self.config.archive.audit_interval_h * 3600

    def _ranges(self, tx: Tx, prefix: str, gateway: str, recent_since: float) -> list[Range]:
        points = resume_points(tx, gateway, recent_since)
        return resumed(prefix, self.bucket.folders(prefix), points)

    def _new_versions(
        self, tx: Tx, ranges: Sequence[Range], counts: SyncCounts
    ) -> tuple[list[Version], int]:
        """The ranges' versions not yet catalogued, each key's oldest version first, and how
        many versions they list in all."""
        new: list[tuple[int, Version]] = []
        listed = 0
        pages = (p for r in ranges for p in self.bucket.versions(r.prefix, r.after, r.before))
        for page in pages:
            listed += len(page)
            counts.listed += len(page)
            known = tx.known((v.key, v.catalogued_as) for v in page)
            start = counts.listed - len(page)
            new += [
                (start + i, v) for i, v in enumerate(page) if (v.key, v.catalogued_as) not in known
            ]
        counts.new_versions += len(new)
        # S3 lists a key's versions newest first; delete markers come after the versions.
        new.sort(key=lambda iv: (iv[1].key, iv[1].delete_marker, -iv[0]))
        return [v for _, v in new], listed

    def _vanished(self, tx: Tx, prefix: str) -> list[Finding]:
        """Catalogued versions the bucket no longer lists: found by a second listing, which
        runs only when the prefix lists fewer versions than the catalogue holds."""
        listed = {(v.key, v.catalogued_as) for page in self.bucket.versions(prefix) for v in page}
        found = []
        for key, version_id in tx.present(prefix):
            if (key, version_id) in listed:
                continue
            tx.mark_vanished(key, version_id)
            name = parse_key(key)
            assert name is not None
            found.append(Finding(VANISHED, name.gateway, f"version {version_id} is gone",
                                 name.stream or "", name.seq if name.seq is not None else -1,
                                 key))  # fmt: skip
        return found

    def _readable(self, version: Version) -> bool:
        """A record, checkpoint or companion small enough to read (segments are never fetched)."""
        name = parse_key(version.key)
        return (
            name is not None
            and name.what in (RECORD, CHECKPOINT, COMPANION)
            and not version.delete_marker
            and version.size <= self.config.archive.max_object_bytes
        )

    def _judge(
        self,
        tx: Tx,
        prefix: str,
        version: Version,
        data: Mapping[Version, bytes | None],
        counts: SyncCounts,
    ) -> list[Finding]:
        name = parse_key(version.key)
        assert name is not None  # listed under <site>/<gateway>/
        tx.add_version(_seen(prefix, version, name))
        if version.delete_marker:
            hidden = "a delete marker hides this evidence object (its versions remain)"
            return [Finding(DELETED, name.gateway, hidden, name.stream or "", key=version.key)]
        if name.what == OTHER:
            return [Finding(UNKNOWN_OBJECT, name.gateway, f"{version.size} bytes at a key evgw "
                            "never writes", key=version.key)]  # fmt: skip
        if name.what not in (RECORD, CHECKPOINT, COMPANION):
            return []
        body = data.get(version)
        if body is None:
            limit = self.config.archive.max_object_bytes
            return [Finding(OVERSIZED, name.gateway, f"{version.size} bytes, over [archive] "
                            f"max_object_bytes = {limit}; not read", name.stream or "",
                            name.seq if name.seq is not None else -1, version.key)]  # fmt: skip
        if name.what == COMPANION:
            return judge_companion(tx, name, version, body, self._companions, self.config.trust)
        if name.what == RECORD:
            judged = judge_record(body, name, self.config.trust)
            if not isinstance(judged, Accepted):
                return [judged]
            counts.records += 1
            return catalogue_record(tx, judged, name, version)
        checkpoint = judge_checkpoint(body, name)
        if isinstance(checkpoint, Finding):
            return [checkpoint]
        counts.checkpoints += 1
        return catalogue_checkpoint(tx, checkpoint, name, version, self.config.trust)


def _stream_of(key: str) -> str:
    name = parse_key(key)
    return "" if name is None or name.stream is None else name.stream


def _seen(prefix: str, version: Version, name: ObjectName) -> SeenVersion:
    return SeenVersion(
        key=version.key,
        version_id=version.catalogued_as,
        prefix=prefix,
        gateway=name.gateway,
        what=name.what,
        size=version.size,
        last_modified=version.last_modified,
        delete_marker=version.delete_marker,
        judged=name.what != MEDIA or version.delete_marker,
    )
