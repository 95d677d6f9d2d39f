"""Hand over a camera's time range as a self-checking case package.

Originals are copied byte for byte (from the local store, or central storage once evicted),
checked against their signed records, decrypted, and remuxed into one derived MP4. The
manifest lists every file; the signed statement (`SIGNATURE.json`, device key) covers the
manifest, the labels and how the derived copy was made. The package is built in a hidden
folder and renamed into place only when complete, so a failed export leaves nothing behind;
then a signed `export` record with the same manifest hash logs the retrieval.
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
from segments.agekeys import X25519Identity
from segments.checkpoint import Checkpoint
from segments.clock import kernel_clock_status
from segments.hashing import hash_file
from segments.ledger import CHECKPOINTS_NAME, LEDGER_NAME, Ledger
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
    InclusionProof,
    check_operator,
    decrypted_name,
    derived_name,
    make_proofs,
    manifest_text,
)
from segments.package_derive import derive_mp4
from segments.package_report import Fetched, ReportHead, build_report, render_report
from segments.package_signature import SIGNER_GATEWAY, PackageSignature, SignerId
from segments.package_statement import sign_package
from segments.records import Record, StreamIdentity, canonical_json
from segments.signing import Ed25519Signer
from segments.slice_check import SliceCheck, check_slice
from segments.timeline import compact_utc, iso_utc
from uplink.object_keys import ObjectKeyError, check_part

from .errors import ExportError
from .lookup import Selection, Stream, load_stream, select
from .originals import confirmed_versions, decrypt, fetch
from .sources import CaseSources

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


@dataclass(frozen=True)
class ExportRequest:
    camera: str
    start: datetime
    end: datetime
    case: str
    out: Path
    source: str  # "local" (then central) or "central"
    operator: str


@dataclass(frozen=True)
class _Package:
    """What goes into one package: the request, its ledger slice and the checkpoint."""

    request: ExportRequest
    stream: Stream
    chosen: Selection
    checkpoint: Checkpoint


def export(
    sources: CaseSources,
    request: ExportRequest,
    identities: Sequence[X25519Identity],
    signer: Ed25519Signer,
    progress: Progress | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Write `out/<case>/`, log it in the ledger (and centrally); returns the path and report."""
    try:
        check_part(request.case, "case id")
    except ObjectKeyError as e:
        raise UsageError(str(e)) from e
    check_operator(request.operator)
    package = _plan(sources, request, signer)
    final = request.out / request.case
    staging = request.out / f".{request.case}.partial-{uuid.uuid4().hex[:8]}"
    try:
        report, signature = _write(staging, sources, package, identities, signer, progress)
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _log_export(sources, package.stream, signer, report, signature.statement.manifest_sha256)
    return final, report


def _plan(sources: CaseSources, request: ExportRequest, signer: Ed25519Signer) -> _Package:
    """The slice to export, pinned by a checkpoint (one is signed now if none covers it)."""
    stream = load_stream(sources, request.camera)
    chosen = select(stream, request.start, request.end)
    if not chosen.media:
        raise ExportError(
            f"no recording of camera {request.camera!r} between {request.start.isoformat()} "
            f"and {request.end.isoformat()}; nothing written",
            hint="`evgw find` shows what was recorded",
        )
    if (request.out / request.case).exists():
        raise UsageError(
            f"{request.out / request.case} exists: choose another --out or --case; nothing written"
        )
    last = chosen.seqs[-1]
    if stream.covering_checkpoint(last) is None:
        Ledger.open(stream.root, stream.camera, sources.gateway, signer).checkpoint()
        stream = load_stream(sources, request.camera)
    checkpoint = stream.covering_checkpoint(last)
    assert checkpoint is not None
    return _Package(request, stream, chosen, checkpoint)


def _write(
    staging: Path,
    sources: CaseSources,
    package: _Package,
    identities: Sequence[X25519Identity],
    signer: Ed25519Signer,
    progress: Progress | None,
) -> tuple[dict[str, Any], PackageSignature]:
    request, stream, chosen = package.request, package.stream, package.chosen
    (staging / ORIGINAL).mkdir(parents=True)
    fetched = _originals(staging, sources, package, identities, progress)
    note = DERIVED_NOTE.format(case=request.case)
    derived = derive_mp4(
        [(staging / DECRYPTED / decrypted_name(r), r.start_ts or 0.0) for r in chosen.media],
        request.start.timestamp(),
        request.end.timestamp(),
        staging / DERIVED / derived_name(request.case, request.camera, request.start, request.end),
        note,
    )
    (staging / RECORDS_NAME).write_bytes(b"".join(line + b"\n" for line in chosen.lines))
    (staging / LEDGER_DIR).mkdir()
    for name in (LEDGER_NAME, CHECKPOINTS_NAME):
        shutil.copyfile(stream.root / name, staging / LEDGER_DIR / name)
    (staging / PUBKEY_NAME).parent.mkdir()
    (staging / PUBKEY_NAME).write_text(signer.public_key_text() + "\n")
    proofs = make_proofs(stream.lines, chosen.seqs, package.checkpoint.size)
    check = _check(staging, package, signer, proofs)
    report = build_report(
        _head(sources, package), signer, package.checkpoint, check, fetched, chosen.holes,
        derived, proofs,
    )  # fmt: skip
    (staging / REPORT_JSON).write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (staging / REPORT_TEXT).write_text(render_report(report), encoding="utf-8")
    (staging / MANIFEST_NAME).write_text(manifest_text(staging), encoding="utf-8")
    who = SignerId(SIGNER_GATEWAY, sources.gateway)
    return report, sign_package(staging, report, signer, who, note)


def _originals(
    staging: Path,
    sources: CaseSources,
    package: _Package,
    identities: Sequence[X25519Identity],
    progress: Progress | None,
) -> list[Fetched]:
    """Fetch every sealed file, then decrypt each; progress counts both passes."""
    media = package.chosen.media
    total = 2 * sum(r.size_cipher or 0 for r in media)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    root, source = package.stream.root, package.request.source
    versions = confirmed_versions(sources, package.stream.camera)
    fetched = [
        fetch(sources, root, r, staging, source, advance, versions.get(r.seq)) for r in media
    ]
    for f in fetched:
        decrypt(sources, f.record, staging, identities)
        advance(f.record.size_cipher or 0)
    return fetched


def _check(
    staging: Path,
    package: _Package,
    signer: Ed25519Signer,
    proofs: Sequence[InclusionProof],
) -> SliceCheck:
    """The package's own slice check, run on what was written, before it is handed over."""
    return check_slice(
        package.chosen.lines,
        verifier=signer.verifier(),
        checkpoint=package.checkpoint,
        proofs={p.seq: p for p in proofs},
        file_hash=lambda rel: hash_file(staging / rel) if (staging / rel).is_file() else None,
    )


def _head(sources: CaseSources, package: _Package) -> ReportHead:
    request, first = package.request, package.chosen.media[0]
    return ReportHead(
        case=request.case,
        camera=request.camera,
        camera_name=first.camera_name,
        site=sources.site,
        location=first.location,
        gateway=sources.gateway,
        start=request.start.isoformat(),
        end=request.end.isoformat(),
        operator=request.operator,
        created=iso_utc(time.time()),
        source=request.source,
        timezone=sources.timezone,
    )


def _log_export(
    sources: CaseSources,
    stream: Stream,
    signer: Ed25519Signer,
    report: dict[str, Any],
    manifest_sha256: str,
) -> Record:
    """Append the signed `export` record; put an export-log object centrally when configured."""
    camera = sources.cameras[stream.camera]
    identity = StreamIdentity(
        gateway=sources.gateway,
        site=sources.site,
        location=camera.location,
        camera=camera.id,
        camera_name=camera.name,
        boot_id=str(uuid.uuid4()),
    )
    now = time.time()
    extra = {
        "case": report["case"],
        "operator": report["operator"],
        "from": report["from"],
        "to": report["to"],
        "seqs": [s["seq"] for s in report["segments"]],
        "manifest_sha256": manifest_sha256,
        "verdict": report["verdict"],
        "tool": report["tool"],
    }
    draft = identity.draft(
        kind="export", start=now, end=None, clock=kernel_clock_status(), extra=extra
    )
    ledger = Ledger.open(stream.root, stream.camera, sources.gateway, signer)
    stopped_cleanly = ledger.closed_cleanly
    record = ledger.append(draft)
    if stopped_cleanly:  # keep the clean stop visible: the next boot says operator_stop
        ledger.checkpoint()
    if sources.central is not None:
        key = "/".join(
            (
                check_part(sources.site, "site"),
                check_part(sources.gateway, "gateway"),
                "exports",
                report["case"],
                f"{compact_utc(now)}.json",
            )
        )
        body = canonical_json({"record": json.loads(record.to_json()), **extra})
        store = sources.central
        store.put_bytes(key, body, store.settings.retain_until(datetime.now(UTC)))
    return record
