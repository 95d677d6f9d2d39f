"""`evgw verify-export DIR`: re-check an export package offline, for a court's expert.

Only public material is used: the manifest and its signed statement, the records and their
signatures, the signed checkpoint and the inclusion proofs, the sealed and decrypted files.
Origin is proven only by a key the caller trusts (--pubkey or --trust); a package the central
archive exported is signed by the archive's export key, which --archive-pubkey (or a trust file
line `archive:<id> <key>`) trusts. With --identity the
originals are decrypted afresh and the derived copy re-derived (this alone loads the video
stack); with --ledger the box's or the archive's ledger copy, taken after the export, must
hold the signed `export` record of this package. Exit 0 for AUTHENTIC and
AUTHENTIC_WITH_DECLARED_GAPS, 3 for INTEGRITY_ONLY, 1 for a failing verdict, 2 for usage
errors and packages written by a newer evgw.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from evgw.errors import UsageError
from segments.agekeys import load_identities
from segments.errors import SegmentError
from segments.package_check import PackageCheck, verify_package
from segments.signing import load_verifier
from segments.trust import ORIGIN_HINT, TrustedKeys
from segments.verify import KEY_FROM_CALLER, Verdict, exit_code

from . import args as common


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=Path, help="the package folder (<out>/<case>)")
    common.add_trust(p)
    p.add_argument(
        "--archive-pubkey",
        help="the central archive's export key 'ed25519:<base64>' or a file holding it: "
        "trusted for packages the archive signed (evgw archive export), never for records",
    )
    p.add_argument(
        "--identity",
        type=Path,
        help="age identity file: decrypt the originals and re-derive the derived copy",
    )
    p.add_argument(
        "--ledger",
        type=Path,
        help="the camera's ledger (stream folder or ledger.jsonl) copied from the box or the "
        "archive after the export: check its signed export record of this package",
    )
    common.add_json(p, "print the result as JSON")


def run(args: argparse.Namespace) -> int:
    if not args.path.is_dir():
        raise UsageError(f"{args.path}: no such package folder")
    if args.ledger is not None and not args.ledger.exists():
        raise UsageError(f"--ledger {args.ledger}: no such file or folder")
    identities = load_identities(args.identity) if args.identity else []
    check = verify_package(args.path, _trusted(args), identities=identities, ledger=args.ledger)
    print(check.to_json() if args.json else render(check))
    return exit_code(check.verdict)


def _trusted(args: argparse.Namespace) -> TrustedKeys | None:
    """--pubkey/--trust for the records, plus --archive-pubkey for an archive's signature."""
    trust = common.trusted(args)
    if args.archive_pubkey is None:
        return trust
    try:
        archive = load_verifier(args.archive_pubkey)
    except SegmentError as e:
        raise UsageError(f"--archive-pubkey: {e}") from e
    if trust is None:
        return TrustedKeys(origin="--archive-pubkey", any_archive=archive)
    return replace(trust, any_archive=archive)


def render(check: PackageCheck) -> str:
    labels = check.labels
    lines = [
        f"package: case {labels.get('case', '?')}, camera {labels.get('camera', '?')}, "
        f"gateway {labels.get('gateway', '?')}",
        f"  range {labels.get('from', '?')} .. {labels.get('to', '?')}, exported "
        f"{labels.get('created', '?')} by {labels.get('operator', '?')}  (signed labels)",
    ]
    lines += [f"  manifest: {p}" for p in check.manifest_problems]
    lines.append(f"  {'seq':>6}  {'kind':<9}  {'start':<32}  {'verdict':<22}  detail")
    for f in check.findings:
        lines.append(
            f"  {f.seq:>6}  {f.kind or '-':<9}  {f.start or '-':<32}  {f.verdict:<22}  {f.detail}"
        )
    lines += [f"  ! {i.impact}: {i.detail}" for i in check.issues]
    note = (
        "trusted"
        if check.key_source == KEY_FROM_CALLER
        else "the package's own keys/device.pub: proves integrity, not origin"
    )
    lines.append(f"key: {check.fingerprint or '-'} ({note}; {check.origin})")
    lines.append(f"signed by: {check.signer or 'nobody (no usable SIGNATURE.json)'}")
    lines.append(f"checkpoint: tree size {check.checkpoint_size}")
    lines.append(f"verdict: {check.verdict}")
    if check.verdict is Verdict.INTEGRITY_ONLY:
        lines.append(
            f"origin NOT established: the package is consistent ({check.integrity}) with the "
            f"key it carries itself, which anyone can make; {ORIGIN_HINT}"
        )
    return "\n".join(lines)
