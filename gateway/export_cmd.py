"""`evgw export`: hand over a camera's time range as a self-checking case package.

Originals are copied byte for byte (from the local store, or central storage once evicted),
checked against their signed records, decrypted, and remuxed into one derived MP4. The
package is built in a hidden folder and renamed into place only when complete, so a failed
export leaves nothing behind; then a signed `export` record logs the retrieval.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from segments.age import decrypt_stream
from segments.agekeys import X25519Identity, parse_identities, recipient_of
from segments.clock import kernel_clock_status
from segments.errors import CryptoFormatError, SegmentError
from segments.hashing import hash_file
from segments.ledger import CHECKPOINTS_NAME, LEDGER_NAME, Ledger
from segments.package import (
    DECRYPTED,
    DERIVED,
    LEDGER_DIR,
    MANIFEST_NAME,
    ORIGINAL,
    PACKAGE_VERSION,
    PUBKEY_NAME,
    RECORDS_NAME,
    REPORT_JSON,
    REPORT_TEXT,
    decrypted_name,
    make_proofs,
    manifest_text,
    original_name,
)
from segments.recorder import StreamIdentity
from segments.records import Record, canonical_json
from segments.signing import fingerprint
from segments.slice_check import SliceCheck, check_slice
from segments.timeline import compact_utc, iso_utc
from segments.verify import PASSING
from uplink.errors import UplinkError
from uplink.object_keys import check_part

from .config import Config, load_config
from .errors import EvgwError
from .find_cmd import (
    CENTRAL,
    FindError,
    Stream,
    add_range_arguments,
    central_key,
    central_store,
    covering_checkpoint,
    load_stream,
    parse_range,
    select,
    when,
)
from .keys import load_keys
from .progress import Progress

OUT_TIME_BASE = Fraction(1, 90000)
DERIVED_NOTE = (
    "DERIVED COPY for viewing, not an original: remuxed without re-encoding from the "
    "decrypted originals of case {case}; cut at keyframes; gaps are kept as gaps"
)


class ExportError(EvgwError):
    """The export cannot be made; nothing was written."""


@dataclass(frozen=True)
class Fetched:
    record: Record
    origin: str  # local path or central object key it came from


@dataclass(frozen=True)
class Derived:
    file: str
    sha256: str
    first_keyframe: str
    end: str
    packets: int


def tool_version() -> str:
    try:
        return f"evgw {importlib.metadata.version('evgw')}"
    except importlib.metadata.PackageNotFoundError:
        return "evgw (source tree)"


def export(
    config: Config,
    camera: str,
    start: datetime,
    end: datetime,
    *,
    identity: Path,
    case: str,
    out: Path,
    source: str,
    operator: str,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Write `out/<case>/`, log it in the ledger (and centrally); returns the path and report."""
    try:
        check_part(case, "case id")
    except ValueError as e:
        raise ExportError(str(e)) from e
    identities = _identities(identity)
    stream = load_stream(config, camera)
    chosen = select(stream, start, end)
    if not chosen.media:
        raise ExportError(
            f"no recording of camera {camera!r} between {start.isoformat()} and "
            f"{end.isoformat()}; `evgw find` shows what was recorded; nothing written"
        )
    final = out / case
    if final.exists():
        raise ExportError(f"{final} exists: choose another --out or --case; nothing written")
    keys = load_keys(config)
    first = Record.from_json(chosen.lines[0]).seq
    last = first + len(chosen.lines) - 1
    if covering_checkpoint(stream, last) is None:
        Ledger.open(stream.root, camera, config.gateway.id, keys.signer).checkpoint()
        stream = load_stream(config, camera)
    checkpoint = covering_checkpoint(stream, last)
    assert checkpoint is not None
    staging = out / f".{case}.partial-{uuid.uuid4().hex[:8]}"
    try:
        (staging / ORIGINAL).mkdir(parents=True)
        total = 2 * sum(r.size_cipher or 0 for r in chosen.media)
        done = [0]

        def advance(n: int) -> None:
            done[0] += n
            if progress is not None:
                progress(done[0], total)

        fetched = [_fetch(config, stream, r, staging, source, advance) for r in chosen.media]
        for f in fetched:
            _decrypt(config, f.record, staging, identities)
            advance(f.record.size_cipher or 0)
        derived = derive_mp4(
            [(staging / DECRYPTED / decrypted_name(r), _wall(r.start)) for r in chosen.media],
            start.timestamp(),
            end.timestamp(),
            staging / DERIVED / derived_name(case, camera, start, end),
            DERIVED_NOTE.format(case=case),
        )
        (staging / RECORDS_NAME).write_bytes(b"".join(line + b"\n" for line in chosen.lines))
        (staging / LEDGER_DIR).mkdir()
        for name in (LEDGER_NAME, CHECKPOINTS_NAME):
            shutil.copyfile(stream.root / name, staging / LEDGER_DIR / name)
        (staging / PUBKEY_NAME).parent.mkdir()
        (staging / PUBKEY_NAME).write_text(keys.signer.public_key_text() + "\n")
        proofs = make_proofs(stream.lines, range(first, last + 1), checkpoint.size)
        check = check_slice(
            chosen.lines,
            verifier=keys.signer.verifier(),
            checkpoint=checkpoint,
            proofs={p.seq: p for p in proofs},
            file_hash=lambda rel: hash_file(staging / rel) if (staging / rel).is_file() else None,
        )
        report = {
            "package_version": PACKAGE_VERSION,
            "case": case,
            "camera": camera,
            "camera_name": chosen.media[0].camera_name,
            "site": config.gateway.site,
            "location": chosen.media[0].location,
            "gateway": config.gateway.id,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "operator": operator,
            "created": iso_utc(time.time()),
            "tool": tool_version(),
            "source": source,
            "verdict": str(check.verdict),
            "key": {
                "fingerprint": fingerprint(keys.signer),
                "public_key": keys.signer.public_key_text(),
            },
            "checkpoint": json.loads(checkpoint.to_json()),
            "segments": [_segment_entry(f, check) for f in fetched],
            "gaps": [asdict(h) for h in chosen.holes],
            "issues": [asdict(i) for i in check.issues],
            "derived": asdict(derived),
            "inclusion_proofs": [asdict(p) for p in proofs],
        }
        (staging / REPORT_JSON).write_text(
            json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (staging / REPORT_TEXT).write_text(render_report(report), encoding="utf-8")
        (staging / MANIFEST_NAME).write_text(manifest_text(staging), encoding="utf-8")
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _log_export(config, stream, keys.signer, report, hash_file(final / MANIFEST_NAME)[1])
    return final, report


def derived_name(case: str, camera: str, start: datetime, end: datetime) -> str:
    return f"{case}_{camera}_{compact_utc(start.timestamp())}_{compact_utc(end.timestamp())}.mp4"


# --- fetching and decrypting ---


def _fetch(
    config: Config,
    stream: Stream,
    record: Record,
    staging: Path,
    source: str,
    advance: Callable[[int], None],
) -> Fetched:
    """Copy the sealed file (local first unless --source central) and check its signed hash."""
    assert record.file is not None
    target = staging / ORIGINAL / original_name(record)
    local = stream.root / record.file
    looked: list[str] = []
    if source != CENTRAL:
        looked.append(str(local))
        if local.is_file():
            shutil.copyfile(local, target)
            if hash_file(target) == (record.size_cipher, record.sha256_cipher):
                advance(record.size_cipher or 0)
                return Fetched(record, str(local))
            looked[-1] += " (differs from its signed SHA-256)"
    store = central_store(config)
    if store is not None:
        key = central_key(config, record)
        looked.append(f"central {config.upload.bucket if config.upload else ''}/{key}")
        try:
            if store.head(key) is not None:
                digest = store.get_to_file(key, target)
                if digest == record.sha256_cipher:
                    advance(record.size_cipher or 0)
                    return Fetched(record, key)
                looked[-1] += " (differs from its signed SHA-256)"
            else:
                looked[-1] += " (absent)"
        except UplinkError as e:
            looked[-1] += f" ({e})"
    elif source == CENTRAL:
        raise ExportError(f"--source central, but {config.path} has no [upload] section")
    raise ExportError(
        f"segment #{record.seq} ({record.file}) is missing: looked in {'; '.join(looked)}; "
        "nothing written"
    )


def _decrypt(
    config: Config, record: Record, staging: Path, identities: Sequence[X25519Identity]
) -> None:
    target = staging / DECRYPTED / decrypted_name(record)
    target.parent.mkdir(exist_ok=True)
    with open(staging / ORIGINAL / original_name(record), "rb") as src, open(target, "wb") as dst:
        try:
            decrypt_stream(src, dst, identities, allow_truncated=record.kind == "truncated")
        except CryptoFormatError as e:
            ours = ", ".join(recipient_of(i) for i in identities)
            sealed_for = ", ".join(config.keys.recipients) or "unknown recipients"
            raise ExportError(
                f"this identity cannot decrypt segment #{record.seq}: it was sealed for "
                f"recipients {sealed_for} (per {config.path}); the identity is for {ours} ({e}); "
                "use the archive or escrow identity; nothing written"
            ) from e


def _identities(path: Path) -> list[X25519Identity]:
    try:
        return parse_identities(path.read_text())
    except (OSError, UnicodeDecodeError) as e:
        raise ExportError(f"--identity {path}: cannot read it ({e})") from e
    except SegmentError as e:
        raise ExportError(f"--identity {path}: {e}") from e


def _wall(iso: str | None) -> float:
    moment = when(iso)
    assert moment is not None
    return moment.timestamp()


# --- the derived MP4 ---


def derive_mp4(
    inputs: Sequence[tuple[Path, float]], start: float, end: float, out: Path, note: str
) -> Derived:
    """Remux the video of `inputs` (plain MP4, wall time of its first packet) into `out`.

    Output time is wall time since the first kept keyframe, so segments join seamlessly and
    a declared gap stays a gap. Whole GOPs are kept: from the last keyframe at or before
    `start` up to the first keyframe after `end`.
    """
    keyframes = sorted(w for path, base in inputs for w, key in _packet_walls(path, base) if key)
    if not keyframes:
        raise ExportError("the decrypted segments hold no video keyframe; cannot derive a copy")
    cut_start = max((w for w in keyframes if w <= start), default=keyframes[0])
    cut_end = min((w for w in keyframes if w > end), default=float("inf"))
    out.parent.mkdir(parents=True, exist_ok=True)
    count, last_wall, last_dts = 0, cut_start, -1
    with av.open(str(out), "w", format="mp4") as oc:
        oc.metadata["comment"] = note
        oc.metadata["title"] = "DERIVED COPY"
        ostream: Any = None
        for path, base in inputs:
            with av.open(str(path)) as ic:
                vs = ic.streams.video[0]
                if ostream is None:
                    ostream = oc.add_stream_from_template(vs)
                    ostream.time_base = OUT_TIME_BASE
                gop = -1.0
                origin: int | None = None
                for packet in ic.demux(vs):
                    if packet.pts is None or packet.dts is None or not packet.size:
                        continue
                    tb = packet.time_base
                    origin = packet.dts if origin is None else origin
                    wall = base + float((packet.pts - origin) * tb)
                    if packet.is_keyframe:
                        gop = wall
                    if not cut_start <= gop < cut_end:
                        continue
                    dts = _ticks(base - cut_start + float((packet.dts - origin) * tb))
                    pts = _ticks(base - cut_start + float((packet.pts - origin) * tb))
                    dts = max(dts, last_dts + 1)
                    packet.dts, packet.pts = dts, max(pts, dts)
                    packet.time_base = OUT_TIME_BASE
                    packet.stream = ostream
                    oc.mux(packet)
                    last_dts, count = dts, count + 1
                    last_wall = max(last_wall, wall)
    return Derived(
        file=f"{DERIVED}/{out.name}",
        sha256=hash_file(out)[1],
        first_keyframe=iso_utc(cut_start),
        end=iso_utc(last_wall),
        packets=count,
    )


def _packet_walls(path: Path, base: float) -> list[tuple[float, bool]]:
    with av.open(str(path)) as ic:
        vs = ic.streams.video[0]
        walls: list[tuple[float, bool]] = []
        origin: int | None = None
        for p in ic.demux(vs):
            if p.pts is None or p.dts is None or not p.size:
                continue
            origin = p.dts if origin is None else origin
            walls.append((base + float((p.pts - origin) * p.time_base), p.is_keyframe))
    return walls


def _ticks(seconds: float) -> int:
    return round(seconds / OUT_TIME_BASE)


# --- report and log ---


def _segment_entry(f: Fetched, check: SliceCheck) -> dict[str, Any]:
    r = f.record
    finding = next((x for x in check.findings if x.seq == r.seq), None)
    return {
        "seq": r.seq,
        "kind": r.kind,
        "start": r.start,
        "end": r.end,
        "original": f"{ORIGINAL}/{original_name(r)}",
        "decrypted": f"{DECRYPTED}/{decrypted_name(r)}",
        "size_cipher": r.size_cipher,
        "sha256_cipher": r.sha256_cipher,
        "size_plain": r.size_plain,
        "sha256_plain": r.sha256_plain,
        "fetched_from": f.origin,
        "verdict": finding.verdict if finding else "-",
        "detail": finding.detail if finding else "",
    }


def render_report(report: dict[str, Any]) -> str:
    cp = report["checkpoint"]
    lines = [
        f"evgw export package — case {report['case']}",
        f"camera {report['camera']} ({report['camera_name']}), {report['site']}, "
        f"{report['location']}, gateway {report['gateway']}",
        f"range {report['from']} .. {report['to']}",
        f"exported {report['created']} by {report['operator']} with {report['tool']}",
        f"signing key {report['key']['fingerprint']} ({report['key']['public_key']})",
        f"checkpoint: tree size {cp['size']}, root {cp['root']}, signed {cp['time']}",
        "",
        f"{'seq':>6}  {'start':<32}  {'verdict':<12}  sha256 (sealed file)",
    ]
    for s in report["segments"]:
        lines.append(f"{s['seq']:>6}  {s['start']:<32}  {s['verdict']:<12}  {s['sha256_cipher']}")
    lines += [f"gap {g['start']} .. {g['end']}: {g['reason']}" for g in report["gaps"]]
    lines += [f"! {i['impact']}: {i['detail']}" for i in report["issues"]]
    d = report["derived"]
    lines += [
        "",
        f"derived copy (NOT an original; remuxed, cut at keyframes): {d['file']}",
        f"  from keyframe {d['first_keyframe']} to {d['end']}, sha256 {d['sha256']}",
        f"inclusion proofs of seqs {report['inclusion_proofs'][0]['seq']}.."
        f"{report['inclusion_proofs'][-1]['seq']} against the checkpoint: see {REPORT_JSON}",
        "",
        f"verdict: {report['verdict']}",
        "re-check offline: evgw verify-export <this folder> --pubkey <device key>",
    ]
    return "\n".join(lines) + "\n"


def _log_export(
    config: Config, stream: Stream, signer: Any, report: dict[str, Any], manifest_sha256: str
) -> Record:
    """Append the signed `export` record; put an export-log object centrally when configured."""
    camera = next(c for c in config.cameras if c.id == stream.camera)
    identity = StreamIdentity(
        gateway=config.gateway.id,
        site=config.gateway.site,
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
    record = Ledger.open(stream.root, stream.camera, config.gateway.id, signer).append(draft)
    store = central_store(config)
    if store is not None and config.upload is not None:
        key = "/".join(
            (
                check_part(config.gateway.site, "site"),
                check_part(config.gateway.id, "gateway"),
                "exports",
                report["case"],
                f"{compact_utc(now)}.json",
            )
        )
        body = canonical_json({"record": json.loads(record.to_json()), **extra})
        store.put_bytes(key, body, store.settings.retain_until(datetime.now(UTC)))
    return record


# --- the command ---


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "export", help="export a camera's time range as a verifiable case package"
    )
    add_range_arguments(p)
    p.add_argument("--identity", type=Path, required=True, help="age identity file (archive key)")
    p.add_argument("--case", required=True, help="case id: the package's folder name")
    p.add_argument("--out", type=Path, required=True, help="folder to write <case>/ into")
    p.add_argument("--operator", default="unknown", help="who exports (logged and signed)")
    return p


def run(args: argparse.Namespace) -> int:
    progress = Progress(sys.stderr, "exporting")
    try:
        start, end = parse_range(args)
        path, report = export(
            load_config(args.config),
            args.camera,
            start,
            end,
            identity=args.identity,
            case=args.case,
            out=args.out,
            source=args.source,
            operator=args.operator,
            progress=progress,
        )
    except (ExportError, FindError) as e:
        progress.finish()
        print(f"evgw export: {e}", file=sys.stderr)
        return 1
    progress.finish()
    print(f"package: {path}")
    print(f"segments: {len(report['segments'])}, gaps: {len(report['gaps'])}")
    print(f"verdict: {report['verdict']}")
    return 0 if report["verdict"] in PASSING else 1
