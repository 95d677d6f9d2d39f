"""`archive export`: a camera's time range as a case package, made at headquarters.

The box's package format (`segments.package`), built from the bucket and the catalogue: the
records fetched at their catalogued versions, each segment object at the version whose bytes
have the signed SHA-256, decrypted with the archive identity (which lives only here), remuxed
into one derived MP4 (video and audio), proven against the newest witnessed checkpoint (or,
said so in the report, the newest consistent one) and signed by the archive's export key as
`archive:<id>`, never as the gateway. Built in a hidden folder and renamed into place only
when complete, so a failed export leaves nothing behind.

`ledger/` holds what the archive has of the camera's ledger for this package: the signed
checkpoint the proofs hold against and, when witnessed, the witness's `.witnessed` file; the
box's whole `ledger.jsonl` is not the archive's to hand over (the inclusion proofs replace it).
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evgw.errors import UsageError
from evgw.i18n import _, ngettext
from segments.agekeys import X25519Identity
from segments.case_range import CENTRAL
from segments.hashing import hash_file
from segments.ledger import CHECKPOINTS_NAME
from segments.package import (
    DECRYPTED,
    DERIVED,
    DERIVED_NOTE,
    LEDGER_DIR,
    MANIFEST_NAME,
    ORIGINAL,
    PUBKEY_NAME,
    RECORDS_NAME,
    REPORT_JSON,
    REPORT_TEXT,
    check_operator,
    decrypted_name,
    derived_name,
    manifest_text,
)
from segments.package_report import Fetched, ReportHead, build_report, render_report
from segments.package_signature import SIGNER_ARCHIVE, SignerId
from segments.package_statement import sign_package
from segments.signing import Ed25519Signer, fingerprint
from segments.slice_check import SliceCheck, check_slice
from segments.timeline import iso_utc
from segments.witness import WITNESSED_SUFFIX
from uplink.object_keys import ObjectKeyError, check_part

from .objects import SegmentObject, decrypt, download, segment_objects
from .pinning import Pinned, pin
from .source import ArchiveSource, RetrievalError
from .stream import ArchiveStream, load_range

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


@dataclass(frozen=True)
class ArchiveExportRequest:
    gateway: str
    camera: str
    start: datetime
    end: datetime
    case: str
    out: Path
    operator: str


@dataclass(frozen=True)
class ArchiveKeys:
    """The archive's secrets for an export: its age identity and its export signing key."""

    archive_id: str
    identities: Sequence[X25519Identity]
    signer: Ed25519Signer


@dataclass(frozen=True)
class _Package:
    request: ArchiveExportRequest
    stream: ArchiveStream
    pinned: Pinned
    objects: dict[int, SegmentObject]


def archive_export(
    source: ArchiveSource,
    request: ArchiveExportRequest,
    keys: ArchiveKeys,
    progress: Progress | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Write `out/<case>/`; returns its path and report."""
    try:
        check_part(request.case, "case id")
    except ObjectKeyError as e:
        raise UsageError(str(e)) from e
    check_operator(request.operator)
    final = request.out / request.case
    if final.exists():
        raise UsageError(
            _("{path} exists: choose another --out or --case; nothing written").format(path=final)
        )
    package = _plan(source, request)
    if keys.signer.public_key_text() == package.stream.key.public_key_text():
        raise RetrievalError(
            _(
                "[export] signing_key is gateway {gateway!r}'s device key: a package the "
                "archive signs must not look like one the box signed; nothing written"
            ).format(gateway=request.gateway),
            hint=_(
                "make the archive its own export key with `evgw archive keygen --export --out DIR`"
            ),
        )
    staging = request.out / f".{request.case}.partial-{uuid.uuid4().hex[:8]}"
    try:
        report = _write(staging, source, package, keys, progress)
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final, report


def _plan(source: ArchiveSource, request: ArchiveExportRequest) -> _Package:
    """The slice, its pinning checkpoint and its segment objects; every absent one named."""
    now = datetime.now(UTC)
    stream = load_range(source, request.gateway, request.camera, request.start, request.end, now)
    chosen = stream.selection
    if not chosen.media:
        raise RetrievalError(
            _(
                "no recording of gateway {gateway!r}, camera {camera!r} between {start} and "
                "{end}; nothing written"
            ).format(
                gateway=request.gateway,
                camera=request.camera,
                start=request.start.isoformat(),
                end=request.end.isoformat(),
            ),
            hint=_("`evgw archive find` shows what the archive holds"),
        )
    pinned = pin(source, stream, chosen.seqs)
    if pinned is None:
        raise RetrievalError(
            _(
                "no consistent checkpoint covers seq {seq} yet, so the slice cannot be proven; "
                "nothing written"
            ).format(seq=chosen.seqs[-1]),
            hint=_(
                "the gateway signs one every [ledger] checkpoint_every records and at a clean "
                "stop; run `evgw archive sync` after it is uploaded, or export an earlier range"
            ),
        )
    objects = segment_objects(source, stream, chosen.media)
    absent = [o for o in objects.values() if not o.candidates]
    if absent:
        named = "; ".join(f"#{o.record.seq} {o.key or _('(no key)')}" for o in absent)
        raise RetrievalError(
            ngettext(
                "{count} segment of the range has no object version of the signed size: "
                "{named}; nothing written",
                "{count} segments of the range have no object version of the signed size: "
                "{named}; nothing written",
                len(absent),
            ).format(count=len(absent), named=named),
            hint=_(
                "`evgw archive find` shows each segment's state (purged, missing); export a "
                "range without them, or restore the objects from a replica"
            ),
        )
    return _Package(request, stream, pinned, objects)


def _write(
    staging: Path,
    source: ArchiveSource,
    package: _Package,
    keys: ArchiveKeys,
    progress: Progress | None,
) -> dict[str, Any]:
    from segments.package_derive import derive_mp4  # loads PyAV: only when exporting

    request, chosen, pinned = package.request, package.stream.selection, package.pinned
    (staging / ORIGINAL).mkdir(parents=True)
    fetched = _originals(staging, source, package, keys.identities, progress)
    note = DERIVED_NOTE.format(case=request.case)
    name = derived_name(request.case, request.camera, request.start, request.end)
    derived = derive_mp4(
        [(staging / DECRYPTED / decrypted_name(r), r.start_ts or 0.0) for r in chosen.media],
        request.start.timestamp(),
        request.end.timestamp(),
        staging / DERIVED / name,
        note,
    )
    if progress is not None:
        total = _total(chosen.media)
        progress(total, total)
    (staging / RECORDS_NAME).write_bytes(b"".join(line + b"\n" for line in chosen.lines))
    (staging / LEDGER_DIR).mkdir()
    (staging / LEDGER_DIR / CHECKPOINTS_NAME).write_bytes(pinned.checkpoint_bytes + b"\n")
    if pinned.witnessed is not None:
        size = pinned.checkpoint.size
        (staging / LEDGER_DIR / f"{size:08d}{WITNESSED_SUFFIX}").write_bytes(pinned.witnessed)
    (staging / PUBKEY_NAME).parent.mkdir()
    (staging / PUBKEY_NAME).write_text(package.stream.key.public_key_text() + "\n")
    check = _check(staging, package)
    more = {"witness": pinned.witness, "archive": _archive(keys)}
    report = build_report(
        _head(package), package.stream.key, pinned.checkpoint, check, fetched, chosen.holes,
        derived, pinned.proofs, more,
    )  # fmt: skip
    (staging / REPORT_JSON).write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (staging / REPORT_TEXT).write_text(render_report(report), encoding="utf-8")
    (staging / MANIFEST_NAME).write_text(manifest_text(staging), encoding="utf-8")
    sign_package(staging, report, keys.signer, SignerId(SIGNER_ARCHIVE, keys.archive_id), note)
    return report


def _originals(
    staging: Path,
    source: ArchiveSource,
    package: _Package,
    identities: Sequence[X25519Identity],
    progress: Progress | None,
) -> list[Fetched]:
    """Download every segment, then decrypt each; progress counts fetch, decrypt and derive."""
    media = package.stream.selection.media
    total, done = _total(media), 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    fetched = [
        Fetched(r, download(source, package.objects[r.seq], staging, advance)) for r in media
    ]
    for f in fetched:
        decrypt(source, f.record, staging, identities)
        advance(f.record.size_cipher or 0)
    return fetched


def _total(media: Sequence[Any]) -> int:
    """Bytes of work: each sealed file fetched and decrypted, each plaintext remuxed."""
    return sum(2 * (r.size_cipher or 0) + (r.size_plain or 0) for r in media)


def _check(staging: Path, package: _Package) -> SliceCheck:
    """The package's own slice check, run on what was written, before it is handed over."""
    return check_slice(
        package.stream.selection.lines,
        verifier=package.stream.key,
        checkpoint=package.pinned.checkpoint,
        proofs={p.seq: p for p in package.pinned.proofs},
        file_hash=lambda rel: hash_file(staging / rel) if (staging / rel).is_file() else None,
    )


def _head(package: _Package) -> ReportHead:
    request, first = package.request, package.stream.selection.media[0]
    return ReportHead(
        case=request.case,
        camera=request.camera,
        camera_name=first.camera_name,
        site=first.site,
        location=first.location,
        gateway=request.gateway,
        start=request.start.isoformat(),
        end=request.end.isoformat(),
        operator=request.operator,
        created=iso_utc(time.time()),
        source=CENTRAL,
    )


def _archive(keys: ArchiveKeys) -> dict[str, str]:
    return {
        "id": keys.archive_id,
        "fingerprint": fingerprint(keys.signer),
        "public_key": keys.signer.public_key_text(),
    }
