"""`evgw verify-export DIR`: re-check an export package offline, for a court's expert.

Only public material is used: the manifest, the records and their signatures, the signed
checkpoint and the inclusion proofs, the sealed and decrypted files. Exit 0 only for
AUTHENTIC and AUTHENTIC_WITH_DECLARED_GAPS, 1 otherwise, 2 for usage errors.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from evgw.errors import UsageError
from segments.package_check import PackageCheck, verify_package
from segments.verify import PASSING

from . import args as common


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=Path, help="the package folder (<out>/<case>)")
    common.add_pubkey(p)
    common.add_json(p, "print the result as JSON")


def run(args: argparse.Namespace) -> int:
    if not args.path.is_dir():
        raise UsageError(f"{args.path}: no such package folder")
    check = verify_package(args.path, common.pubkey(args.pubkey))
    print(check.to_json() if args.json else render(check))
    return 0 if check.verdict in PASSING else 1


def render(check: PackageCheck) -> str:
    lines = [f"package: case {check.case or '?'}, camera {check.camera or '?'}"]
    lines += [f"  manifest: {p}" for p in check.manifest_problems]
    lines.append(f"  {'seq':>6}  {'kind':<9}  {'start':<32}  {'verdict':<22}  detail")
    for f in check.findings:
        lines.append(
            f"  {f.seq:>6}  {f.kind or '-':<9}  {f.start or '-':<32}  {f.verdict:<22}  {f.detail}"
        )
    lines += [f"  ! {i.impact}: {i.detail}" for i in check.issues]
    note = (
        "trusted key from --pubkey"
        if check.key_source == "pubkey"
        else "the package's own keys/device.pub: proves integrity, not origin; use --pubkey"
    )
    lines.append(f"key: {check.fingerprint or '-'} ({note})")
    lines.append(f"checkpoint: tree size {check.checkpoint_size}")
    lines.append(f"verdict: {check.verdict}")
    return "\n".join(lines)
